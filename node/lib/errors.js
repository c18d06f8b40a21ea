'use strict'

/**
 * The package's error classes. The native addon throws instances of these (the loader
 * registers them with it), so `err instanceof RuleError` works across CommonJS and ESM.
 */

class RuleError extends Error {
  constructor (message, details = {}) {
    super(message)
    this.name = 'RuleError'
    this.path = details.path ?? null
    this.ruleId = details.ruleId ?? null
    this.reason = details.reason ?? message
    this.document = details.document ?? 0
    this.errors = details.errors ?? [this]
  }
}

class EventError extends Error {
  constructor (message, details = {}) {
    super(message)
    this.name = 'EventError'
    this.field = details.field ?? null
    this.reason = details.reason ?? message
    this.index = details.index ?? null
  }
}

module.exports = { RuleError, EventError }
