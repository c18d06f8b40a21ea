// Type-checked by `tsc --noEmit -p test` (part of `npm test`): the package's declarations
// describe what a TypeScript user writes. Not run.

import { Engine, EventError, RuleError, parse } from 'siem'
import type { Alert, CorrelationAlert, EcsObject, EngineOptions, EngineStats, RestoreReport } from 'siem'
import { siemMiddleware } from 'siem/express'
import type { SiemMiddleware, SiemMiddlewareOptions } from 'siem/express'
import siemTransport, { recordToEcs, request } from 'siem/pino'

const options: EngineOptions = {
  rules: ['rules/', { yaml: 'title: x', path: 'inline.yml' }],
  pipelines: ['windows', 'ecs', 'pipelines/ours.yml', 'name: inline\ntransformations: []\n'],
  lenient: true,
  format: 'syslog',
  timezone: 'Europe/Berlin',
  logsource: { product: 'linux' },
  lateness: 2000,
  correlator: { maxGroups: 10_000, maxClockSkew: null },
  policy: { suppressRepeats: 60_000, detectionGroupFields: ['source.ip'] }
}
const engine = new Engine(options)
const errors: RuleError[] = engine.errors
const count: number = engine.ruleCount + engine.correlationCount

function describeAlert (alert: Alert): string {
  switch (alert.kind) {
    case 'detection':
      return `${alert.rule.title}: ${String(alert.event['@timestamp'])}`
    case 'correlation': {
      const c: CorrelationAlert = alert
      return `${c.rule.level} ${JSON.stringify(c.group)} ${c.value ?? 0} ${c.window?.start ?? ''} ${c.events.length}`
    }
  }
}

const alerts: Alert[] = [
  ...engine.process({ '@timestamp': new Date(), source: { ip: '203.0.113.7' } }),
  ...engine.processLine('Oct 11 22:14:15 web1 sshd[4242]: Failed password', 'syslog'),
  ...engine.processLine(Buffer.from('a=1')),
  ...engine.processBatch([{ message: 'x' }, { 'user.name': 'root' }]),
  ...engine.processLines(['a', Buffer.from('b')], 'kv'),
  ...engine.tick(),
  ...engine.tick(new Date()),
  ...engine.tick(Date.now()),
  ...engine.flush()
]
alerts.map(describeAlert)

async function later (): Promise<void> {
  const a: Alert[] = await engine.processBatchAsync([{ message: 'x' }])
  const b: Alert[] = await engine.processLinesAsync(['x'])
  const c: Alert[] = await engine.processAsync({ message: 'y' })
  const d: Alert[] = await engine.processLineAsync('z', 'json')
  void [a, b, c, d]
}
void later

const event: EcsObject = parse('line', 'auto')
const parsed: EcsObject = engine.parse(Buffer.from('line'))
const snapshot: string = engine.snapshot()
const report: RestoreReport = engine.restore(snapshot)
const stats: EngineStats = engine.stats()
const late: number = stats.correlator.lateDropped + stats.policy.suppressedRepeat

try {
  engine.process({})
} catch (error) {
  if (error instanceof EventError) console.log(error.field, error.reason, error.index)
  if (error instanceof RuleError) console.log(error.path, error.ruleId, error.reason, error.errors.length)
}

const middlewareOptions: SiemMiddlewareOptions = {
  rules: ['rules/login.yml'],
  trustProxy: ['loopback', '10.0.0.0/8'],
  onAlert: (alert, req) => console.log(alert.rule.id, req?.url),
  user: (req) => (req.user as { username?: string } | undefined)?.username,
  tickInterval: 500
}
const siem: SiemMiddleware = siemMiddleware(middlewareOptions)
siemMiddleware({ engine, trustProxy: 1 })
declare const req: Parameters<SiemMiddleware>[0]
const loginAlerts: Alert[] = siem.login(req, { user: 'alice', outcome: 'failure', reason: 'bad password' })
siem.loginFailed(req, 'bob')
siem.loginSucceeded(req)
const closing: Alert[] = siem.close()

async function logging (): Promise<void> {
  const stream = await siemTransport({ rules: ['rules/'], onAlert: (alert) => console.log(alert.kind) })
  const stats2: EngineStats = stream.engine.stats()
  const ecs = recordToEcs({ level: 30, msg: 'hi' })
  const transport = stream as unknown as Parameters<typeof request>[0]
  const s: EngineStats = await request(transport, 'stats')
  const snap: string = await request(transport, 'snapshot')
  const flushed: Alert[] = await request(transport, 'flush')
  void [stats2, ecs, s, snap, flushed]
}
void logging

void [errors, count, event, parsed, report, late, loginAlerts, closing]

// @ts-expect-error: rules must be strings or { yaml } objects
void new Engine({ rules: [42] })
void new Engine({ pipelines: [] })
void new Engine({ pipelines: null })
// @ts-expect-error: pipelines are names, paths or YAML texts, in a list
void new Engine({ pipelines: 'windows' })
// @ts-expect-error: an outcome is success or failure
siem.login(req, { outcome: 'maybe' })
