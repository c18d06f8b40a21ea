// The Express middleware in a real Express app on the loopback interface.

import assert from 'node:assert/strict'
import { once } from 'node:events'
import { after, before, describe, test } from 'node:test'

import express from 'express'
import { clientAddress, compileTrust, siemMiddleware } from 'siem/express'
import { testRules, waitFor } from './helpers.mjs'

describe('an Express app with a login route', () => {
  const alerts = []
  let server
  let base
  let siem

  before(async () => {
    siem = siemMiddleware({
      rules: [testRules('login_bruteforce.yml'), testRules('admin_probe.yml')],
      // Short lateness and tick so the test need not wait the default two seconds.
      lateness: 300,
      tickInterval: 50,
      onAlert: (alert) => alerts.push(alert)
    })
    const app = express()
    // The test client connects from the loopback address and says who it is in
    // X-Forwarded-For: the app trusts loopback proxies, as behind a local reverse proxy.
    app.set('trust proxy', 'loopback')
    app.use(express.json())
    app.use((req, _res, next) => {
      if (req.headers.authorization === 'Bearer alice-token') req.user = { username: 'alice' }
      next()
    })
    app.use(siem)
    app.post('/login', (req, res) => {
      const { user, password } = req.body
      if (password === 'correct horse') {
        siem.loginSucceeded(req, user)
        res.json({ ok: true })
      } else {
        siem.loginFailed(req, user, 'bad password')
        res.status(401).json({ ok: false })
      }
    })
    app.get('/admin/:page', (_req, res) => res.status(403).send('no'))
    server = app.listen(0, '127.0.0.1')
    await once(server, 'listening')
    base = `http://127.0.0.1:${server.address().port}`
  })

  after(() => {
    siem.close()
    server.close()
  })

  const login = (from, user, password) =>
    fetch(`${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
      body: JSON.stringify({ user, password })
    })

  test('six failed logins from one address raise the brute-force alert for that address', async () => {
    alerts.length = 0
    // 198.51.100.2 fails five times and then logs in: below the threshold.
    for (let i = 0; i < 5; i++) assert.equal((await login('198.51.100.2', 'bob', 'guess')).status, 401)
    assert.equal((await login('198.51.100.2', 'bob', 'correct horse')).status, 200)
    // 203.0.113.7 tries six passwords for three users.
    for (const user of ['admin', 'admin', 'root', 'root', 'alice', 'alice']) {
      assert.equal((await login('203.0.113.7', user, 'guess')).status, 401)
    }
    await waitFor(() => alerts.some((a) => a.kind === 'correlation'), 5000, 'the correlation alert')
    // Give a wrong second alert the chance to arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 500))
    const correlations = alerts.filter((a) => a.kind === 'correlation')
    assert.equal(correlations.length, 1, JSON.stringify(correlations))
    const [alert] = correlations
    assert.equal(alert.rule.title, 'Application Login Brute Force From One Address')
    assert.deepStrictEqual(alert.group, { 'source.ip': '203.0.113.7' })
    assert.equal(alert.value, 6)
    assert.deepStrictEqual(alert.rules, ['6f1f4c52-9a51-4f4e-8a2f-3d1c0b7e9a10'])
    const sample = alert.events.at(-1)
    assert.equal(sample.event.action, 'user-login')
    assert.equal(sample.event.outcome, 'failure')
    assert.equal(sample.event.reason, 'bad password')
    assert.equal(sample.user.name, 'alice')
    assert.equal(sample.url.path, '/login')
    assert.deepStrictEqual(sample.logsource, { category: 'application', product: 'nodejs' })
  })

  test('requests are recorded as ECS web events (path, status, client address, user)', async () => {
    alerts.length = 0
    const response = await fetch(`${base}/admin/users?page=2`, {
      headers: { 'x-forwarded-for': '192.0.2.99', authorization: 'Bearer alice-token', 'user-agent': 'probe/1.0' }
    })
    assert.equal(response.status, 403)
    await response.text()
    await waitFor(() => alerts.length > 0, 2000, 'the web detection')
    const [alert] = alerts
    assert.equal(alert.kind, 'detection')
    assert.equal(alert.rule.title, 'Admin Path Refused')
    const { event } = alert
    assert.equal(event.source.ip, '192.0.2.99')
    assert.equal(event.http.request.method, 'GET')
    assert.equal(event.http.response.status_code, 403)
    assert.equal(event.url.path, '/admin/users')
    assert.equal(event.url.query, 'page=2')
    assert.equal(event.url.original, '/admin/users?page=2')
    assert.equal(event.user.name, 'alice')
    assert.equal(event.user_agent.original, 'probe/1.0')
    assert.deepStrictEqual(event.event.category, ['web'])
    assert.equal(event.event.outcome, 'failure')
    assert.ok(Number.isInteger(event.event.duration) && event.event.duration > 0)
    assert.deepStrictEqual(event.logsource, { category: 'webserver', product: 'nodejs' })
  })

  test('a request that is not refused raises nothing', async () => {
    alerts.length = 0
    const response = await login('192.0.2.1', 'carol', 'correct horse')
    assert.equal(response.status, 200)
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.deepStrictEqual(alerts, [])
    assert.ok(siem.engine.stats().events >= 14)
  })
})

describe('client address', () => {
  const request = (peer, forwarded) => ({ socket: { remoteAddress: peer }, headers: { 'x-forwarded-for': forwarded } })

  test('without trusted proxies the peer address is the client, whatever the header says', () => {
    assert.equal(clientAddress(request('::ffff:198.51.100.4', '203.0.113.7'), compileTrust(false)), '198.51.100.4')
  })

  test('trusted proxies are skipped from the right; the first untrusted address is the client', () => {
    const trust = compileTrust(['loopback', '10.0.0.0/8'])
    // The client put a forged entry first; the proxies appended what they saw.
    assert.equal(clientAddress(request('127.0.0.1', '1.1.1.1, 203.0.113.7, 10.1.2.3'), trust), '203.0.113.7')
    // An untrusted peer is the client even when it sends the header.
    assert.equal(clientAddress(request('198.51.100.9', '203.0.113.7'), trust), '198.51.100.9')
  })

  test('a hop count trusts that many proxies', () => {
    assert.equal(clientAddress(request('10.0.0.1', '1.1.1.1, 203.0.113.7'), compileTrust(1)), '203.0.113.7')
    assert.equal(clientAddress(request('10.0.0.1', '1.1.1.1, 203.0.113.7'), compileTrust(2)), '1.1.1.1')
    assert.equal(clientAddress(request('10.0.0.1', '1.1.1.1'), compileTrust(true)), '1.1.1.1')
  })

  test('Express requests use req.ip (the app\'s trust proxy setting) when no trustProxy is given', () => {
    const req = { ...request('127.0.0.1', '203.0.113.7'), app: { get: () => true }, ip: '::ffff:203.0.113.7' }
    assert.equal(clientAddress(req, undefined), '203.0.113.7')
    assert.throws(() => compileTrust(['not-an-address']), /not an address/)
  })
})
