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

// The fast path for event objects (lib/encode.js): walked in JavaScript, decoded in Rust. An
// event the encoder does not handle goes through the addon's own Node-API walk, which converts
// it or throws the EventError naming the field.
const { encodeEvent, stageBatch } = require('./lib/encode.js')
// Set while a batch is being staged: a getter that re-enters the engine takes the walk.
const staging = new WeakSet()
const proto = addon.Engine.prototype
const walk = {
  process: proto.process,
  processBatch: proto.processBatch,
  processAsync: proto.processAsync,
  processBatchAsync: proto.processBatchAsync
}
Object.defineProperties(proto, {
  process: {
    value: function process (event) {
      const text = encodeEvent(event)
      return text === undefined ? walk.process.call(this, event) : this._processEncoded(text)
    },
    writable: true,
    configurable: true
  },
  processBatch: {
    value: function processBatch (events) {
      if (staging.has(this)) return walk.processBatch.call(this, events)
      staging.add(this)
      let staged
      try {
        staged = stageBatch(this, events)
      } finally {
        staging.delete(this)
      }
      return staged ? this._processStaged() : walk.processBatch.call(this, events)
    },
    writable: true,
    configurable: true
  },
  processAsync: {
    value: function processAsync (event) {
      const text = encodeEvent(event)
      return text === undefined ? walk.processAsync.call(this, event) : this._processBatchEncodedAsync(text, false)
    },
    writable: true,
    configurable: true
  },
  processBatchAsync: {
    value: function processBatchAsync (events) {
      if (staging.has(this)) return walk.processBatchAsync.call(this, events)
      staging.add(this)
      let staged
      try {
        staged = stageBatch(this, events)
      } catch (error) {
        return Promise.reject(error)
      } finally {
        staging.delete(this)
      }
      return staged ? this._processStagedAsync() : walk.processBatchAsync.call(this, events)
    },
    writable: true,
    configurable: true
  }
})

module.exports = {
  Engine: addon.Engine,
  parse: addon.parse,
  RuleError,
  EventError,
  _nativeBatchRate: addon._nativeBatchRate,
  // For the tests: the Node-API walk, bypassing the fast path.
  _walk: walk
}
