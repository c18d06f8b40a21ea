'use strict'

// The loader: finds the native addon built from bindings/node (scripts/build.mjs puts it
// next to this file as siem.node), registers the error classes with it, and exports the API.

const { existsSync } = require('node:fs')
const { join } = require('node:path')
const { RuleError, EventError } = require('./lib/errors.js')

function loadAddon () {
  const candidates = [process.env.SIEM_NODE_ADDON, join(__dirname, 'siem.node')].filter(Boolean)
  for (const file of candidates) {
    if (existsSync(file)) return require(file)
  }
  throw new Error(
    'siem: the native addon is not built (no siem.node next to index.js). ' +
    'Run `npm run build` in the package folder; it needs a Rust toolchain (https://rustup.rs).'
  )
}

const addon = loadAddon()
// Once per JavaScript environment: a worker thread loads this file again and registers again.
addon._setErrorClasses(RuleError, EventError)

module.exports = {
  Engine: addon.Engine,
  parse: addon.parse,
  RuleError,
  EventError,
  _nativeBatchRate: addon._nativeBatchRate
}
