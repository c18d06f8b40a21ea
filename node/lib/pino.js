'use strict'

// A pino transport that feeds log records to a siem Engine.
//
// As a transport (`pino.transport({ target: 'siem/pino', options })`) it runs in pino's worker
// thread: the engine, its compiled rules and its correlation state live in that worker, apart
// from the application's thread. Alerts come back to the application as 'alert' events on the
// object pino.transport() returns (thread-stream's EVENT messages); `stats`, `snapshot` and
// `flush` are asked for with `request()` below. In-process (`pino(await siemTransport(opts))`)
// everything lives in the calling thread and an `onAlert` callback receives the alerts.

const { isMainThread, parentPort } = require('node:worker_threads')
const build = require('pino-abstract-transport')
const { Engine } = require('../index.js')

const DEFAULT_LOGSOURCE = Object.freeze({ product: 'nodejs', category: 'application' })
const DEFAULT_TICK_INTERVAL = 1000
const PINO_LEVELS = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }

/**
 * A pino record as an ECS event. pino's own keys get their ECS names (`time` → `@timestamp`,
 * `msg` → `message`, `level` → `log.level`, `pid` → `process.pid`, `hostname` →
 * `host.hostname`, `name` → `log.logger`, `err` → `error.*`, pino-http's `req` / `res` /
 * `responseTime` → `http.*`, `url.*`, `source.*`, `event.duration`); other keys stay as they
 * are. A record that is already ECS (it has `@timestamp` or `ecs.version`, e.g. from
 * @elastic/ecs-pino-format) passes through. Pure: no engine involved.
 */
function recordToEcs (record, { logsource = DEFAULT_LOGSOURCE, levels = PINO_LEVELS, messageKey = 'msg', errorKey = 'err' } = {}) {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    return { '@timestamp': new Date(), logsource, message: String(record) }
  }
  const isEcs = '@timestamp' in record || record['ecs.version'] !== undefined || record.ecs?.version !== undefined
  if (isEcs) return record.logsource === undefined ? { ...record, logsource } : record
  const { time, level, [messageKey]: message, pid, hostname, name, [errorKey]: err, req, res, responseTime, ...rest } = record
  const event = { ...rest }
  event['@timestamp'] = typeof time === 'number' || typeof time === 'string' ? time : new Date()
  event.logsource = logsource
  if (message !== undefined) event.message = message
  const log = {}
  if (level !== undefined) log.level = typeof level === 'number' ? (levels[level] ?? String(level)) : level
  if (name !== undefined) log.logger = name
  if (Object.keys(log).length) event.log = log
  if (pid !== undefined) event.process = { pid }
  if (hostname !== undefined) event.host = { hostname }
  if (err && typeof err === 'object') {
    event.error = { type: err.type ?? err.name, message: err.message, stack_trace: err.stack, code: err.code }
  } else if (err !== undefined) {
    event.error = { message: String(err) }
  }
  if (req && typeof req === 'object') {
    const original = typeof req.url === 'string' ? req.url : undefined
    const question = original?.indexOf('?') ?? -1
    event.http = { request: { method: req.method, id: req.id } }
    if (original !== undefined) {
      event.url = question < 0
        ? { original, path: original }
        : { original, path: original.slice(0, question), query: original.slice(question + 1) }
    }
    if (req.remoteAddress) event.source = { ip: String(req.remoteAddress).replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1'), port: req.remotePort }
    const agent = req.headers?.['user-agent']
    if (typeof agent === 'string') event.user_agent = { original: agent }
  }
  if (res && typeof res === 'object' && res.statusCode !== undefined) {
    event.http = { ...event.http, response: { status_code: res.statusCode } }
  }
  if (typeof responseTime === 'number') event.event = { ...(typeof rest.event === 'object' ? rest.event : {}), duration: Math.round(responseTime * 1e6) }
  return event
}

/**
 * The transport: returns the stream pino writes to. Options are the Engine options (`rules`,
 * `lateness`, ...) plus `logsource`, `tickInterval`, `snapshot` (restored at start),
 * `onAlert` (in-process only: functions cannot cross to a worker) and `engine` (in-process).
 */
async function siemTransport (options = {}) {
  const {
    engine: givenEngine,
    onAlert,
    logsource = DEFAULT_LOGSOURCE,
    tickInterval = DEFAULT_TICK_INTERVAL,
    snapshot,
    ...engineOptions
  } = options
  const engine = givenEngine ?? new Engine(engineOptions)
  if (typeof snapshot === 'string') engine.restore(snapshot)
  // Inside pino's worker, alerts go to the application's thread as 'alert' events.
  const inWorker = !isMainThread && parentPort !== null && typeof onAlert !== 'function'
  const post = (name, ...args) => parentPort.postMessage({ code: 'EVENT', name, args })

  const deliver = (alerts) => {
    for (const alert of alerts) {
      if (inWorker) post('alert', alert)
      else if (typeof onAlert === 'function') onAlert(alert)
    }
  }
  const report = (error) => {
    if (inWorker) post('siem:error', { message: error.message, name: error.name })
    else process.emitWarning(error, { code: 'SIEM_PINO' })
  }

  let timer = null
  if (tickInterval > 0) {
    timer = setInterval(() => {
      try {
        deliver(engine.tick())
      } catch (error) {
        report(error)
      }
    }, tickInterval)
    timer.unref()
  }

  // Requests from the application's thread: request(transport, 'stats' | 'snapshot' | 'flush').
  const onMessage = (message) => {
    if (!message || message.code !== 'SIEM') return
    let result
    try {
      if (message.op === 'stats') result = engine.stats()
      else if (message.op === 'snapshot') result = engine.snapshot()
      else if (message.op === 'flush') result = engine.flush()
      else throw new Error(`unknown siem request ${JSON.stringify(message.op)}`)
      post('siem:reply', message.id, null, result)
    } catch (error) {
      post('siem:reply', message.id, error.message, null)
    }
  }
  if (inWorker) parentPort.on('message', onMessage)

  const stream = build(async function (source) {
    const mapping = {
      logsource,
      levels: source.levels?.labels ?? PINO_LEVELS,
      messageKey: source.messageKey ?? 'msg',
      errorKey: source.errorKey ?? 'err'
    }
    for await (const record of source) {
      let alerts
      try {
        alerts = engine.process(recordToEcs(record, mapping))
      } catch (error) {
        report(error)
        continue
      }
      deliver(alerts)
    }
  }, {
    // pino sends its levels and keys to a transport in a worker; in-process nothing comes.
    expectPinoConfig: inWorker,
    close (_error, done) {
      if (timer) clearInterval(timer)
      if (inWorker) parentPort.off('message', onMessage)
      try {
        deliver(engine.flush())
      } catch (error) {
        report(error)
      }
      done()
    }
  })
  stream.engine = engine
  return stream
}

let nextRequest = 0

/**
 * Asks the transport running in pino's worker for its engine's `stats`, `snapshot` (JSON text)
 * or `flush` (the alerts of every waiting detection). `transport` is what pino.transport()
 * returned.
 */
function request (transport, op, { timeout = 5000 } = {}) {
  const id = ++nextRequest
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      transport.off('siem:reply', onReply)
      reject(new Error(`siem transport did not answer ${op} within ${timeout} ms`))
    }, timeout)
    function onReply (replyId, error, result) {
      if (replyId !== id) return
      clearTimeout(timer)
      transport.off('siem:reply', onReply)
      if (error) reject(new Error(error))
      else resolve(result)
    }
    transport.on('siem:reply', onReply)
    transport.emit('message', { code: 'SIEM', op, id })
  })
}

module.exports = siemTransport
module.exports.default = siemTransport
module.exports.siemTransport = siemTransport
module.exports.recordToEcs = recordToEcs
module.exports.request = request
