// The pino transport: in pino's worker thread, and in-process.

import assert from 'node:assert/strict'
import { once } from 'node:events'
import { hostname } from 'node:os'
import { describe, test } from 'node:test'

import pino from 'pino'
import siemTransport, { recordToEcs, request } from 'siem/pino'
import { testRules, waitFor } from './helpers.mjs'

const RULES = [testRules('node_errors.yml')]

function childProcessError () {
  const error = new Error('spawn /bin/sh ENOENT')
  error.stack = 'Error: spawn /bin/sh ENOENT\n    at ChildProcess._handle.onexit (node:internal/child_process:285:19)\n    at exec (node:child_process:234:11)'
  return error
}

describe('pino transport', () => {
  test('in pino\'s worker: alerts come back as events, stats and snapshots on request', async () => {
    const transport = pino.transport({
      target: 'siem/pino',
      options: { rules: RULES, lateness: 100, tickInterval: 25 }
    })
    const alerts = []
    transport.on('alert', (alert) => alerts.push(alert))
    const logger = pino({ name: 'orders' }, transport)
    await once(transport, 'ready')

    logger.info('order 17 shipped')
    for (let i = 0; i < 3; i++) logger.error({ err: childProcessError(), order: 17 + i }, 'could not render invoice')
    await waitFor(() => alerts.some((a) => a.kind === 'correlation'), 5000, 'the correlation alert from the worker')

    const detections = alerts.filter((a) => a.kind === 'detection')
    assert.equal(detections.length, 3)
    const { event } = detections[0]
    assert.equal(event.message, 'could not render invoice')
    assert.equal(event.log.level, 'error')
    assert.equal(event.log.logger, 'orders')
    assert.equal(event.process.pid, process.pid)
    assert.equal(event.host.hostname, hostname())
    assert.equal(event.error.type, 'Error')
    assert.equal(event.error.message, 'spawn /bin/sh ENOENT')
    assert.match(event.error.stack_trace, /node:child_process/)
    assert.equal(event.order, 17)
    assert.deepStrictEqual(event.logsource, { product: 'nodejs', category: 'application' })
    const correlation = alerts.find((a) => a.kind === 'correlation')
    assert.deepStrictEqual(correlation.group, { 'host.hostname': hostname() })
    assert.equal(correlation.value, 3)

    // The engine lives in the worker: this thread asks it.
    const stats = await request(transport, 'stats')
    assert.equal(stats.events, 4)
    assert.equal(stats.detections, 3)
    const snapshot = await request(transport, 'snapshot')
    assert.equal(JSON.parse(snapshot).shards.length, 8)
    assert.deepStrictEqual(await request(transport, 'flush'), [])
    await assert.rejects(request(transport, 'nope'), /unknown siem request "nope"/)

    // pino unrefs its worker so that logging never keeps an application alive; this test
    // waits for the worker to finish.
    transport.ref()
    transport.end()
    await once(transport, 'close')
  })

  test('in-process: the stream feeds the engine and onAlert gets the alerts', async () => {
    const alerts = []
    const stream = await siemTransport({ rules: RULES, lateness: 0, tickInterval: 0, onAlert: (a) => alerts.push(a) })
    const logger = pino({ level: 'debug' }, stream)
    logger.debug('starting')
    logger.warn({ detail: 'node:child_process exited with 1' }, 'worker died')
    await waitFor(() => alerts.length === 1, 2000, 'the in-process alert')
    assert.equal(alerts[0].event.log.level, 'warn')
    assert.equal(alerts[0].event.detail, 'node:child_process exited with 1')
    assert.equal(stream.engine.stats().events, 2)
    stream.end()
    await once(stream, 'close')
  })
})

describe('pino records as ECS', () => {
  test('pino-http records map to http, url, source and duration', () => {
    const event = recordToEcs({
      level: 30,
      time: 1714557600000,
      pid: 42,
      hostname: 'web1',
      req: { id: 7, method: 'GET', url: '/admin?x=1', headers: { 'user-agent': 'curl/8' }, remoteAddress: '::ffff:203.0.113.7', remotePort: 51122 },
      res: { statusCode: 403 },
      responseTime: 12.5,
      msg: 'request completed'
    })
    assert.deepStrictEqual(event, {
      '@timestamp': 1714557600000,
      logsource: { product: 'nodejs', category: 'application' },
      message: 'request completed',
      log: { level: 'info' },
      process: { pid: 42 },
      host: { hostname: 'web1' },
      http: { request: { method: 'GET', id: 7 }, response: { status_code: 403 } },
      url: { original: '/admin?x=1', path: '/admin', query: 'x=1' },
      source: { ip: '203.0.113.7', port: 51122 },
      user_agent: { original: 'curl/8' },
      event: { duration: 12500000 }
    })
  })

  test('ECS records pass through; custom levels and keys are honoured', () => {
    const ecs = { '@timestamp': '2024-05-01T10:00:00Z', 'log.level': 'error', message: 'x', ecs: { version: '8.10.0' } }
    assert.deepStrictEqual(recordToEcs(ecs), { ...ecs, logsource: { product: 'nodejs', category: 'application' } })
    const custom = recordToEcs({ level: 35, time: 1, text: 'hello' }, { levels: { 35: 'notice' }, messageKey: 'text' })
    assert.equal(custom.log.level, 'notice')
    assert.equal(custom.message, 'hello')
  })
})
