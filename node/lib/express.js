'use strict'

// Express / Connect middleware: every request becomes an ECS web event for the engine, and a
// helper reports logins. See express.d.ts for the options and README.md for the walkthrough.

const { BlockList, isIP } = require('node:net')
const { Engine } = require('../index.js')

const DEFAULT_WEB_LOGSOURCE = Object.freeze({ category: 'webserver', product: 'nodejs' })
const DEFAULT_LOGIN_LOGSOURCE = Object.freeze({ category: 'application', product: 'nodejs' })
const DEFAULT_TICK_INTERVAL = 1000

// Named ranges, as Express's `trust proxy` setting (proxy-addr) understands them.
const NAMED_RANGES = {
  loopback: ['127.0.0.1/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']
}

/** `::ffff:1.2.3.4` is the IPv4 client 1.2.3.4 seen through a dual-stack socket. */
function normalizeAddress (address) {
  if (typeof address !== 'string') return undefined
  const trimmed = address.trim().replace(/^\[(.*)\]$/, '$1')
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(trimmed)
  return mapped ? mapped[1] : trimmed
}

/** Compiles a `trustProxy` setting to `(address, hop) => boolean`. */
function compileTrust (setting) {
  if (typeof setting === 'function') return setting
  if (setting === true) return () => true
  if (setting === false || setting == null) return () => false
  if (typeof setting === 'number') {
    if (!Number.isInteger(setting) || setting < 0) {
      throw new TypeError(`trustProxy: a hop count must be a non-negative integer, got ${setting}`)
    }
    return (_address, hop) => hop < setting
  }
  const entries = (typeof setting === 'string' ? setting.split(',') : setting).map((s) => String(s).trim()).filter(Boolean)
  const list = new BlockList()
  for (const entry of entries) {
    for (const range of NAMED_RANGES[entry] ?? [entry]) {
      const [address, bits] = range.split('/')
      const type = isIP(address) === 6 ? 'ipv6' : isIP(address) === 4 ? 'ipv4' : null
      if (!type) throw new TypeError(`trustProxy: ${JSON.stringify(entry)} is not an address, a subnet or loopback / linklocal / uniquelocal`)
      if (bits === undefined) list.addAddress(address, type)
      else list.addSubnet(address, Number(bits), type)
    }
  }
  return (address) => {
    const type = isIP(address) === 6 ? 'ipv6' : isIP(address) === 4 ? 'ipv4' : null
    return type !== null && list.check(address, type)
  }
}

/**
 * The client's address: the socket's peer, or, through trusted proxies, the nearest untrusted
 * address in `X-Forwarded-For` (read right to left). Without a `trustProxy` setting an Express
 * request's `req.ip` is used, which honours the app's own `trust proxy` setting.
 */
function clientAddress (req, trust) {
  const peer = normalizeAddress(req.socket?.remoteAddress)
  if (trust === undefined) {
    if (typeof req.app?.get === 'function' && typeof req.ip === 'string') return normalizeAddress(req.ip)
    return peer
  }
  const header = req.headers?.['x-forwarded-for']
  const forwarded = (Array.isArray(header) ? header.join(',') : header ?? '')
    .split(',')
    .map(normalizeAddress)
    .filter(Boolean)
  const chain = [peer, ...forwarded.reverse()]
  let hop = 0
  while (hop < chain.length - 1 && chain[hop] !== undefined && trust(chain[hop], hop)) hop++
  return chain[hop]
}

function defaultUser (req) {
  const user = req.user ?? req.auth
  if (typeof user === 'string') return user
  if (user && typeof user === 'object') {
    for (const key of ['username', 'name', 'user', 'email', 'id']) {
      const value = user[key]
      if (typeof value === 'string' || typeof value === 'number') return String(value)
    }
  }
  return undefined
}

function splitUrl (original) {
  const question = original.indexOf('?')
  return question < 0
    ? { path: original, query: undefined }
    : { path: original.slice(0, question), query: original.slice(question + 1) }
}

/**
 * Creates the middleware. Options: an `engine` (or Engine options such as `rules`), `onAlert`,
 * `trustProxy`, `user`, `logsource`, `loginLogsource`, `tickInterval`, `onError`.
 */
function siemMiddleware (options = {}) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('siemMiddleware: options must be an object')
  }
  const {
    engine: givenEngine,
    onAlert,
    onError,
    trustProxy,
    user: userOf = defaultUser,
    logsource = DEFAULT_WEB_LOGSOURCE,
    loginLogsource = DEFAULT_LOGIN_LOGSOURCE,
    tickInterval = DEFAULT_TICK_INTERVAL,
    ...engineOptions
  } = options
  if (onAlert !== undefined && typeof onAlert !== 'function') {
    throw new TypeError('siemMiddleware: onAlert must be a function')
  }
  const engine = givenEngine ?? new Engine(engineOptions)
  const trust = trustProxy === undefined ? undefined : compileTrust(trustProxy)
  const report = typeof onError === 'function'
    ? onError
    : (error) => process.emitWarning(error instanceof Error ? error : new Error(String(error)), { code: 'SIEM_MIDDLEWARE' })

  function deliver (alerts, req) {
    if (typeof onAlert !== 'function') return
    for (const alert of alerts) {
      try {
        onAlert(alert, req)
      } catch (error) {
        report(error)
      }
    }
  }

  function feed (event, req) {
    let alerts
    try {
      alerts = engine.process(event)
    } catch (error) {
      report(error)
      return []
    }
    deliver(alerts, req)
    return alerts
  }

  function requestFields (req) {
    const original = req.originalUrl ?? req.url ?? ''
    const { path, query } = splitUrl(original)
    const ip = clientAddress(req, trust)
    const agent = req.headers?.['user-agent']
    const host = req.headers?.host
    return {
      ip,
      http: { request: { method: req.method } },
      url: { original, path, query, domain: typeof host === 'string' ? host.replace(/:\d+$/, '') : undefined },
      user_agent: typeof agent === 'string' ? { original: agent } : undefined
    }
  }

  function webEvent (req, res, start, startNs, finished) {
    const fields = requestFields(req)
    const status = res.statusCode
    const name = userOf(req)
    const bytes = Number(res.getHeader?.('content-length'))
    return {
      '@timestamp': start,
      logsource,
      event: {
        kind: 'event',
        category: ['web'],
        type: ['access'],
        outcome: !finished ? 'unknown' : status >= 400 ? 'failure' : 'success',
        duration: Number(process.hrtime.bigint() - startNs)
      },
      http: {
        request: {
          method: req.method,
          referrer: typeof req.headers?.referer === 'string' ? req.headers.referer : undefined
        },
        response: {
          status_code: status,
          body: Number.isFinite(bytes) ? { bytes } : undefined
        },
        version: req.httpVersion
      },
      url: fields.url,
      source: fields.ip ? { ip: fields.ip } : undefined,
      client: fields.ip ? { ip: fields.ip } : undefined,
      user_agent: fields.user_agent,
      user: name !== undefined ? { name } : undefined,
      tags: finished ? undefined : ['aborted']
    }
  }

  function middleware (req, res, next) {
    const start = new Date()
    const startNs = process.hrtime.bigint()
    let recorded = false
    const record = () => {
      if (recorded) return
      recorded = true
      feed(webEvent(req, res, start, startNs, res.writableFinished !== false), req)
    }
    res.once('finish', record)
    res.once('close', record)
    next()
  }

  /**
   * Reports a login attempt as an ECS authentication event and returns the alerts it raised
   * (they also go to `onAlert`). `outcome` is 'success' or 'failure'.
   */
  function login (req, { user, outcome, reason } = {}) {
    if (outcome !== 'success' && outcome !== 'failure') {
      throw new TypeError(`login: outcome must be 'success' or 'failure', got ${JSON.stringify(outcome)}`)
    }
    const fields = requestFields(req)
    const name = user ?? userOf(req)
    return feed({
      '@timestamp': new Date(),
      logsource: loginLogsource,
      event: {
        kind: 'event',
        category: ['authentication'],
        type: ['start'],
        action: 'user-login',
        outcome,
        reason
      },
      source: fields.ip ? { ip: fields.ip } : undefined,
      client: fields.ip ? { ip: fields.ip } : undefined,
      user: name !== undefined ? { name: String(name) } : undefined,
      http: fields.http,
      url: fields.url,
      user_agent: fields.user_agent
    }, req)
  }

  // Correlation alerts wait out the engine's lateness (2 s by default) before they fire; a
  // quiet server would hold them back without this. Unref'd: it never keeps the process alive.
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

  middleware.engine = engine
  middleware.login = login
  middleware.loginSucceeded = (req, user) => login(req, { user, outcome: 'success' })
  middleware.loginFailed = (req, user, reason) => login(req, { user, outcome: 'failure', reason })
  /** Stops the tick timer and flushes waiting detections; returns (and delivers) their alerts. */
  middleware.close = () => {
    if (timer) clearInterval(timer)
    timer = null
    const alerts = engine.flush()
    deliver(alerts)
    return alerts
  }
  return middleware
}

module.exports = { siemMiddleware, clientAddress, compileTrust }
