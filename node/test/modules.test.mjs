// Both entry points: `require('siem')` and `import` give the same module instance.

import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'

import siemDefault, { Engine, EventError, RuleError, parse } from 'siem'
import expressDefault, { siemMiddleware } from 'siem/express'
import pinoDefault, { siemTransport } from 'siem/pino'

const require = createRequire(import.meta.url)

test('CommonJS and ESM entry points export the same objects', () => {
  const cjs = require('siem')
  assert.equal(cjs.Engine, Engine)
  assert.equal(cjs.RuleError, RuleError)
  assert.equal(cjs.EventError, EventError)
  assert.equal(cjs.parse, parse)
  assert.equal(siemDefault, cjs)
  assert.equal(require('siem/express').siemMiddleware, siemMiddleware)
  assert.equal(expressDefault, siemMiddleware)
  assert.equal(require('siem/pino'), siemTransport)
  assert.equal(pinoDefault, siemTransport)
})

test('errors thrown by the addon are instances of the exported classes in both systems', () => {
  const cjs = require('siem')
  assert.throws(() => new cjs.Engine({ rules: [{ yaml: 'detection: [' }] }), RuleError)
  assert.throws(() => new Engine().process(5), cjs.EventError)
})
