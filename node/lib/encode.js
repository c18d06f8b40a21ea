'use strict'

// The fast path for event objects: a walk in JavaScript that writes the object's structure as
// one compact string, which the addon reads with a single Node-API call and decodes in Rust
// (bindings/node/src/decode.rs). Walking the object from Rust costs several Node-API calls per
// field (keys, property reads, type checks), about three times more than this walk plus the
// decoding (see README.md, "Speed"). The walk keeps JavaScript's semantics, not JSON's: Dates
// stay dates, BigInts integers, nested objects flatten to dotted names in Rust with the same
// precedence rules as the Rust walk.
//
// Anything this walk does not handle (functions, symbols, binary data, a NUL character in a key
// or string, nesting deeper than the bound) makes it return undefined, and the caller falls back
// to the Rust walk, which converts the same values or throws the EventError that names them.
//
// Grammar (NUL ends a text):
//   event  = '{' entry* '}'
//   entry  = 'K' key NUL value
//   value  = 's' text NUL | 'n' number NUL | 'd' epoch-ms NUL | 'i' bigint NUL
//          | 't' | 'f' | 'z' | '{' entry* '}' | '[' value* ']'

const NUL = '\u0000'
const MAX_DEPTH = 64
const hasOwn = Object.prototype.hasOwnProperty
const isView = ArrayBuffer.isView

class Unsupported extends Error {}
const UNSUPPORTED = new Unsupported()

function value (v, depth) {
  switch (typeof v) {
    case 'string':
      if (v.includes(NUL)) throw UNSUPPORTED
      return 's' + v + NUL
    case 'number':
      return 'n' + v + NUL
    case 'boolean':
      return v ? 't' : 'f'
    case 'bigint':
      return 'i' + v + NUL
    case 'undefined':
      return 'z'
    case 'object':
      if (v === null) return 'z'
      if (depth >= MAX_DEPTH) throw UNSUPPORTED
      if (Array.isArray(v)) {
        let out = '['
        for (let i = 0; i < v.length; i++) out += value(v[i], depth + 1)
        return out + ']'
      }
      if (v instanceof Date) return 'd' + v.getTime() + NUL
      if (isView(v)) throw UNSUPPORTED
      return object(v, depth + 1)
    default:
      throw UNSUPPORTED
  }
}

function object (o, depth) {
  let out = '{'
  const keys = Object.keys(o)
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]
    const v = o[key]
    // Skipped, as JSON.stringify and the Rust walk skip them.
    if (v === undefined) continue
    if (key.includes(NUL)) throw UNSUPPORTED
    out += 'K' + key + NUL + value(v, depth)
  }
  return out + '}'
}

/** The encoding of one event, or undefined when the Rust walk must read it. */
function encodeEvent (event) {
  if (event === null || typeof event !== 'object' || Array.isArray(event) || event instanceof Date || isView(event)) {
    return undefined
  }
  try {
    return object(event, 0)
  } catch (error) {
    if (error === UNSUPPORTED) return undefined
    throw error
  }
}

// Events per string handed over. A large batch goes over in chunks that the addon decodes as
// they come (`_stageEncoded`) and processes together at the end (`_processStaged`): one string
// for a whole large batch is a deep rope that outlives the young generation, and costs more
// than the calls the chunks take (measured: 1000-event batches ran at half the speed of
// 100-event ones before).
const CHUNK = 64

/**
 * Hands the events of a batch to `engine` in encoded chunks. Returns false (with nothing
 * staged) when one of them needs the Rust walk; throws (with nothing staged) when the addon
 * refuses an event or a getter throws.
 */
function stageBatch (engine, events) {
  if (!Array.isArray(events)) return false
  let out = ''
  try {
    for (let i = 0; i < events.length; i++) {
      const text = encodeEvent(events[i])
      if (text === undefined) {
        engine._clearStaged()
        return false
      }
      out += text
      if ((i + 1) % CHUNK === 0) {
        engine._stageEncoded(out)
        out = ''
      }
    }
    if (out !== '') engine._stageEncoded(out)
  } catch (error) {
    engine._clearStaged()
    throw error
  }
  return true
}

module.exports = { encodeEvent, stageBatch }
