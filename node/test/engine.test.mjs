// The Engine API: rules, events and lines in, alerts out, errors, state.

import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, test } from 'node:test'

import { createRequire } from 'node:module'

import { Engine, EventError, RuleError, parse } from 'siem'
import { corpus, exampleRules } from './helpers.mjs'

const FAILED_SSH = `
title: Failed SSH login
id: 5b2d0a4e-0000-4000-8000-000000000001
detection:
  selection:
    source.ip: 203.0.113.7
  condition: selection
level: high
tags: [attack.t1110]
`

describe('alerts', () => {
  test('a detection alert is exactly the contract JSON siem-core writes', () => {
    // The expected line is siem-core's own contract test (siem-core/src/alert.rs).
    const engine = new Engine({ rules: [{ yaml: FAILED_SSH }] })
    const alerts = engine.process({ '@timestamp': new Date('2024-05-01T10:00:00Z'), source: { ip: '203.0.113.7' } })
    assert.deepStrictEqual(alerts, [JSON.parse(
      '{"@timestamp":"2024-05-01T10:00:00Z","kind":"detection","rule":{"id":"5b2d0a4e-0000-4000-8000-000000000001","title":"Failed SSH login","level":"high","tags":["attack.t1110"]},"event":{"@timestamp":"2024-05-01T10:00:00Z","source":{"ip":"203.0.113.7"}}}'
    )])
    assert.deepStrictEqual(engine.process({ source: { ip: '203.0.113.8' } }), [])
  })

  test('a correlation alert has the contract shape, and the rule path of its file', () => {
    const path = exampleRules('ssh_bruteforce.yml')
    const engine = new Engine({ rules: [path], lateness: 0 })
    assert.equal(engine.ruleCount, 1)
    assert.equal(engine.correlationCount, 1)
    const alerts = []
    for (let i = 0; i < 5; i++) {
      alerts.push(...engine.process({
        '@timestamp': new Date(Date.UTC(2026, 2, 2, 9, 0, 10 + i)),
        logsource: { product: 'linux', service: 'sshd' },
        event: { category: 'authentication', outcome: 'failure' },
        source: { ip: '203.0.113.50' },
        user: { name: 'root' }
      }))
    }
    assert.equal(alerts.length, 1)
    const [alert] = alerts
    assert.deepStrictEqual(Object.keys(alert), ['@timestamp', 'kind', 'rule', 'group', 'value', 'window', 'rules', 'events'])
    assert.equal(alert.kind, 'correlation')
    assert.equal(alert.rule.id, '887f757e-f4b1-4392-9ee2-4ffb42217147')
    assert.equal(alert.rule.path, path)
    assert.deepStrictEqual(alert.group, { 'source.ip': '203.0.113.50' })
    assert.equal(alert.value, 5)
    assert.deepStrictEqual(alert.window, { start: '2026-03-02T09:00:10Z', end: '2026-03-02T09:00:14Z' })
    assert.deepStrictEqual(alert.rules, ['04d59082-29c9-4301-985b-e8698ef25e5a'])
    assert.equal(alert.events.length, 5)
    assert.deepStrictEqual(alert.events[0].source, { ip: '203.0.113.50' })
  })

  test('an event without a timestamp is timed by arrival, and says so', () => {
    const engine = new Engine({ rules: [{ yaml: FAILED_SSH }] })
    const before = Date.now()
    const [alert] = engine.process({ source: { ip: '203.0.113.7' } })
    assert.equal(alert.timestamp_source, 'arrival')
    assert.ok(Date.parse(alert['@timestamp']) >= before - 1000)
  })
})

// A tiny deterministic generator: the walk of a JavaScript object must give the event that
// siem's JSON reader gives for JSON.stringify of the same object.
function prng (seed) {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

function randomValue (rand, depth) {
  const r = rand()
  if (depth > 3 || r < 0.25) return ['x', 'Value é', 'C:\\Windows\\cmd.exe', '', '203.0.113.9'][Math.floor(rand() * 5)]
  if (r < 0.4) return Math.floor(rand() * 2000) - 1000
  if (r < 0.5) return Math.round(rand() * 1e6) / 1e3
  if (r < 0.55) return rand() < 0.5
  if (r < 0.6) return null
  if (r < 0.7) return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1))
  return randomObject(rand, depth + 1)
}

function randomObject (rand, depth) {
  const keys = ['a', 'b', 'c', 'ip', 'name', 'port', 'a.b', 'x.y.z']
  const object = {}
  const n = 1 + Math.floor(rand() * 4)
  for (let i = 0; i < n; i++) object[keys[Math.floor(rand() * keys.length)]] = randomValue(rand, depth)
  return object
}

const { _walk: walk } = createRequire(import.meta.url)('siem')

function randomRich (rand, depth) {
  const r = rand()
  if (r < 0.08) return new Date(Math.floor(rand() * 2e12))
  if (r < 0.12) return BigInt(Math.floor(rand() * 1e9)) * 1000n
  if (r < 0.16) return undefined
  if (r < 0.2) return [randomRich(rand, depth + 1), { k: randomRich(rand, depth + 1) }]
  if (r < 0.24) return { product: 'p', category: rand() < 0.5 ? 'c' : 5 }
  return randomValue(rand, depth)
}

describe('event objects', () => {
  test('the fast path (JavaScript walk + Rust decoder) gives the events of the Node-API walk (500 random events)', () => {
    const engine = new Engine({ rules: [{ yaml: 'title: all\nid: all\ndetection:\n  m:\n    marker: yes\n  condition: m\n' }] })
    const rand = prng(11)
    const keys = ['a', 'b', 'a.b', 'logsource', 'x.y', 'ip', '@timestamp']
    for (let i = 0; i < 500; i++) {
      const object = { marker: 'yes' }
      for (let k = 0; k < 5; k++) object[keys[Math.floor(rand() * keys.length)]] = randomRich(rand, 0)
      let fast, slow
      try { fast = engine.process(object) } catch (error) { fast = error }
      try { slow = walk.process.call(engine, object) } catch (error) { slow = error }
      if (fast instanceof Error || slow instanceof Error) {
        assert.ok(fast instanceof EventError && slow instanceof EventError, `${fast} / ${slow}`)
        assert.equal(fast.message, slow.message)
        assert.equal(fast.field, slow.field)
        continue
      }
      assert.deepStrictEqual(fast.map((a) => a.event), slow.map((a) => a.event), String(i))
    }
    const batch = Array.from({ length: 50 }, () => ({ marker: 'yes', ...randomObject(rand, 0) }))
    const fastBatch = engine.processBatch(batch)
    assert.deepStrictEqual(fastBatch.map((a) => a.event), walk.processBatch.call(engine, batch).map((a) => a.event))
  })


  test('walking an object gives the event JSON.stringify + the JSON reader give (300 random events)', () => {
    const engine = new Engine({ rules: [{ yaml: 'title: all\nid: all\ndetection:\n  m:\n    marker: yes\n  condition: m\n' }] })
    const rand = prng(7)
    for (let i = 0; i < 300; i++) {
      const object = { marker: 'yes', ...randomObject(rand, 0), '@timestamp': '2024-05-01T10:00:00.5Z' }
      const walked = engine.process(object)
      const read = engine.processLine(JSON.stringify(object), 'json')
      assert.equal(walked.length, 1)
      assert.equal(read.length, 1)
      // The JSON reader keeps the line it read; the object has no line.
      delete read[0].event.event.original
      if (Object.keys(read[0].event.event).length === 0) delete read[0].event.event
      assert.deepStrictEqual(walked[0].event, read[0].event, JSON.stringify(object))
    }
  })

  test('flat keys beat nested paths, Dates, BigInts, undefined and logsource', () => {
    const engine = new Engine({ rules: [{ yaml: 'title: all\nid: all\ndetection:\n  m:\n    marker: yes\n  condition: m\n' }] })
    const [alert] = engine.process({
      marker: 'yes',
      a: { b: 2 },
      'a.b': 1,
      when: new Date('2024-05-01T10:00:00Z'),
      big: 9007199254740993n,
      skipped: undefined,
      list: [undefined, { k: { v: 1 } }],
      '@timestamp': 1714557600000,
      logsource: { product: 'linux', service: 'sshd' }
    })
    assert.deepStrictEqual(alert.event, {
      '@timestamp': '2024-05-01T10:00:00Z',
      marker: 'yes',
      a: { b: 1 },
      when: '2024-05-01T10:00:00Z',
      big: 9007199254740993,
      list: [null, { k: { v: 1 } }],
      logsource: { product: 'linux', service: 'sshd' }
    })
  })

  test('bad events throw an EventError naming the field', () => {
    const engine = new Engine({ rules: [{ yaml: FAILED_SSH }] })
    const cyclic = { a: 1 }
    cyclic.self = cyclic
    const cases = [
      [null, null, /an event must be an object, got null/],
      [[1, 2], null, /got an array/],
      ['text', null, /got a string/],
      [new Date(), null, /got a Date/],
      [{ f: () => 1 }, 'f', /a function is not an event value/],
      [{ s: Symbol('s') }, 's', /a symbol is not an event value/],
      [{ n: 2n ** 70n }, 'n', /BigInt out of the 64-bit integer range/],
      [{ '@timestamp': 'yesterday' }, '@timestamp', /unreadable timestamp "yesterday"/],
      [{ '@timestamp': new Date('nope') }, '@timestamp', /Invalid Date/],
      [{ when: new Date('nope') }, 'when', /Invalid Date/],
      [{ data: Buffer.from('x') }, 'data', /binary data/],
      [{ list: [{ f () {} }] }, 'list[].f', /a function/],
      [cyclic, /^self\.self/, /nested deeper than 64 levels/]
    ]
    for (const [event, field, message] of cases) {
      assert.throws(() => engine.process(event), (error) => {
        assert.ok(error instanceof EventError, `${error}`)
        assert.ok(error instanceof Error)
        assert.equal(error.name, 'EventError')
        assert.match(error.message, message)
        if (field instanceof RegExp) assert.match(error.field, field)
        else assert.equal(error.field, field)
        assert.equal(error.index, null)
        return true
      })
    }
  })

  test('a bad event in a batch names its index, and nothing of the batch is processed', () => {
    const engine = new Engine({ rules: [{ yaml: FAILED_SSH }] })
    assert.throws(
      () => engine.processBatch([{ source: { ip: '203.0.113.7' } }, { ok: 1 }, 42]),
      (error) => error instanceof EventError && error.index === 2 && /event 2 of the batch: an event must be an object, got a number/.test(error.message)
    )
    assert.equal(engine.stats().events, 0)
    assert.throws(() => engine.processBatch({}), (e) => e instanceof EventError && /events must be an array/.test(e.message))
    assert.throws(() => engine.processLine(12), (e) => e instanceof EventError && /a line must be a string or a Buffer, got a number/.test(e.message))
  })

  test('a throwing getter propagates its own exception', () => {
    const engine = new Engine()
    const event = { get boom () { throw new RangeError('from the getter') } }
    assert.throws(() => engine.process(event), RangeError)
  })

  test('the hidden decoder refuses text the encoder did not write', () => {
    const engine = new Engine()
    for (const text of ['garbage', '{Ka', '{Ka\u0000q}', '{'.repeat(5000)]) {
      assert.throws(() => engine._processBatchEncoded(text), /malformed encoded event/)
    }
  })
})

describe('rules', () => {
  test('rules load from files, folders and YAML strings', () => {
    // A folder is searched recursively: the same rules as every file under it, listed.
    const folder = join(exampleRules('x'), '..')
    const files = readdirSync(folder, { recursive: true })
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => join(folder, f))
    const topLevel = files.filter((f) => dirname(f) === folder)
    assert.ok(files.length > topLevel.length, 'examples/rules has subfolders')
    const fromFolder = new Engine({ rules: [folder] })
    const fromFiles = new Engine({ rules: files })
    assert.equal(fromFolder.ruleCount, fromFiles.ruleCount)
    assert.equal(fromFolder.correlationCount, fromFiles.correlationCount)
    assert.ok(fromFolder.ruleCount > new Engine({ rules: topLevel }).ruleCount)
    assert.ok(fromFolder.correlationCount >= 4)
    const mixed = new Engine({ rules: [exampleRules('http_403_burst.yml'), FAILED_SSH] })
    assert.equal(mixed.ruleCount, 2)
    assert.equal(mixed.correlationCount, 1)
  })

  test('a rule that does not compile throws a RuleError with path, ruleId and reason', () => {
    const bad = 'title: t\nid: r1\ndetection:\n  sel:\n    a|bogus: x\n  condition: sel\n'
    assert.throws(() => new Engine({ rules: [{ yaml: bad, path: 'x.yml' }] }), (error) => {
      assert.ok(error instanceof RuleError)
      assert.equal(error.name, 'RuleError')
      assert.equal(error.message, 'x.yml: rule r1: field `a`: unknown modifier `bogus`')
      assert.equal(error.path, 'x.yml')
      assert.equal(error.ruleId, 'r1')
      assert.equal(error.reason, 'field `a`: unknown modifier `bogus`')
      assert.equal(error.document, 1)
      assert.equal(error.errors.length, 1)
      return true
    })
  })

  test('several failures are listed in errors; lenient loading keeps the good rules', () => {
    const badCorrelation = 'title: c\nid: c1\ncorrelation:\n  type: event_count\n  rules: [nope]\n  timespan: 1m\n  condition: {gte: 2}\n'
    const rules = [FAILED_SSH, { yaml: 'detection: [', path: 'broken.yml' }, { yaml: badCorrelation, path: 'corr.yml' }, '/no/such/rules.yml']
    assert.throws(() => new Engine({ rules }), (error) => {
      assert.ok(error instanceof RuleError)
      assert.match(error.message, /^3 rules could not be loaded:/)
      assert.deepStrictEqual(error.errors.map((e) => e.path), ['/no/such/rules.yml', 'broken.yml', 'corr.yml'])
      assert.ok(error.errors.every((e) => e instanceof RuleError))
      assert.match(error.errors[1].reason, /invalid YAML/)
      assert.equal(error.errors[2].ruleId, 'c1')
      assert.match(error.errors[2].reason, /correlation/)
      return true
    })
    const engine = new Engine({ rules, lenient: true })
    assert.equal(engine.ruleCount, 1)
    assert.equal(engine.errors.length, 3)
    assert.ok(engine.errors.every((e) => e instanceof RuleError))
    assert.equal(engine.process({ source: { ip: '203.0.113.7' } }).length, 1)
  })

  test('bad options are refused', () => {
    assert.throws(() => new Engine({ format: 'xml' }), /unknown format "xml"/)
    assert.throws(() => new Engine({ timezone: 'Mars/Olympus' }), /unknown time zone/)
    assert.throws(() => new Engine({ lateness: -1 }), /lateness must be a non-negative number/)
    assert.throws(() => new Engine({ format: 'grok:%{NOPE}' }), /invalid grok expression/)
  })
})

describe('pipelines', () => {
  // SigmaHQ's rule names Sysmon's fields (`Image`, `OriginalFileName`, `CommandLine`); the
  // parser emits `winlog.event_data.*`: only the bundled `windows` pipeline joins them.
  const EVENTLOG_CLEAR_ID = 'cc36992a-4671-4f21-a91d-6c2b72a2edf5'
  const eventlogClear = () =>
    join(corpus('sigma'), 'rules/windows/process_creation/proc_creation_win_susp_eventlog_clear.yml')
  const sysmonWevtutilClear = () => {
    const lines = readFileSync(join(corpus('windows-evtx-json'), 'deepbluecli/evtx/sliver-sysmon.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"EventID":1,') && l.includes('wevtutil.exe') && l.includes(' cl security'))
    assert.equal(lines.length, 1)
    return lines[0]
  }
  const ids = (alerts) => alerts.map((a) => a.rule.id)

  test('the default pipelines map Sigma Windows names onto parsed Windows events', () => {
    const rules = [eventlogClear()]
    const line = sysmonWevtutilClear()
    assert.match(parse(line).winlog.event_data.Image, /\\wevtutil\.exe$/)
    assert.deepStrictEqual(ids(new Engine({ rules }).processLine(line)), [EVENTLOG_CLEAR_ID])
    assert.deepStrictEqual(ids(new Engine({ rules, pipelines: null }).processLine(line)), [EVENTLOG_CLEAR_ID])
    assert.deepStrictEqual(ids(new Engine({ rules, pipelines: ['windows'] }).processLine(line)), [EVENTLOG_CLEAR_ID])
    // As written, or with the pipeline for other logsources: the names do not exist.
    assert.deepStrictEqual(new Engine({ rules, pipelines: [] }).processLine(line), [])
    assert.deepStrictEqual(new Engine({ rules, pipelines: ['ecs'] }).processLine(line), [])
  })

  test('correlation group-by fields go through the default pipelines', () => {
    // Hayabusa's "PW Guessing" correlation and its detection rule, as written, over DeepBlueCLI's
    // SMB password guessing: 3558 wrong-password failures of one group, five per alert.
    const rule = join(corpus('hayabusa-rules'),
      'hayabusa/builtin/Security/LogonLogoff/Logon/Sec_4625_Med_LogonFail_WrongPW_PW-Guessing_Correlation.yml')
    const lines = readFileSync(join(corpus('windows-evtx-json'), 'deepbluecli/evtx/smb-password-guessing-security.jsonl'), 'utf8')
      .split('\n').filter((l) => l.trim())
    const engine = new Engine({ rules: [rule] })
    const alerts = [...engine.processLines(lines), ...engine.flush()]
    assert.equal(alerts.length, Math.floor(3558 / 5))
    for (const alert of alerts) {
      assert.equal(alert.kind, 'correlation')
      assert.equal(alert.rule.title, 'PW Guessing')
      assert.equal(alert.group.IpAddress, '192.168.198.149')
      assert.equal(alert.group.TargetUserName, 'Administrator')
    }
    const asWritten = new Engine({ rules: [rule], pipelines: [] })
    assert.deepStrictEqual([...asWritten.processLines(lines), ...asWritten.flush()], [])
  })

  const RENAME = `
name: app_names
priority: 100
transformations:
  - type: field_name_mapping
    mapping:
      src_addr: source.ip
      account: user.name
`
  const APP_RULE = `
title: Root login failure from the test net
id: 7d7bb1f5-52d0-4f0e-9a55-3f1f2a3c9b10
detection:
  selection:
    src_addr|cidr: 203.0.113.0/24
    account: root
  condition: selection
level: medium
`

  test('a custom pipeline renames fields (YAML text or file)', () => {
    const event = { source: { ip: '203.0.113.7' }, user: { name: 'root' } }
    const other = { source: { ip: '198.51.100.7' }, user: { name: 'root' } }
    const dir = mkdtempSync(join(tmpdir(), 'siem-pipeline-'))
    const file = join(dir, 'app_names.yml')
    writeFileSync(file, RENAME)
    try {
      for (const pipelines of [[RENAME], [file], ['windows', 'ecs', RENAME]]) {
        const engine = new Engine({ rules: [APP_RULE], pipelines })
        assert.deepStrictEqual(ids(engine.process(event)), ['7d7bb1f5-52d0-4f0e-9a55-3f1f2a3c9b10'], String(pipelines))
        assert.deepStrictEqual(engine.process(other), [])
      }
      // Without it the rule names fields no event has: it loads, and never matches.
      for (const pipelines of [undefined, [], ['windows', 'ecs']]) {
        assert.deepStrictEqual(new Engine({ rules: [APP_RULE], pipelines }).process(event), [])
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('bad pipelines are refused with the entry and the reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'siem-pipeline-'))
    const bogus = join(dir, 'bogus.yml')
    writeFileSync(bogus, 'name: bogus\ntransformations:\n  - type: bogus\n')
    try {
      const cases = [
        [['nonesuch'], 'pipelines[0]: pipeline "nonesuch": not a bundled pipeline (windows, ecs) and no such file'],
        [['windows', join(dir, 'missing.yml')], 'pipelines[1]: pipeline'],
        [[bogus], `pipelines[0]: ${bogus}: transformation 1: unknown transformation type \`bogus\``],
        [['name: x\ntransformations:\n  - type: bogus\n'], 'pipelines[0]: YAML text: transformation 1: unknown'],
        [['name: x\nfrobnicate: 1\n'], 'pipelines[0]: YAML text: unknown key `frobnicate`']
      ]
      for (const [pipelines, message] of cases) {
        assert.throws(() => new Engine({ rules: [FAILED_SSH], pipelines }), (error) => {
          assert.ok(error.message.startsWith(message), error.message)
          return true
        })
      }
      assert.throws(() => new Engine({ pipelines: [42] }))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('lines', () => {
  const sshd = (second, message) =>
    `Mar  2 09:${String(Math.floor(second / 60)).padStart(2, '0')}:${String(second % 60).padStart(2, '0')} bastion sshd[${4000 + second}]: ${message}`

  test('parse returns the ECS event of a line', () => {
    const event = parse('Oct 11 22:14:15 web1 sshd[4242]: Failed password for root from 203.0.113.7 port 51122 ssh2')
    assert.equal(event.source.ip, '203.0.113.7')
    assert.equal(event.source.port, 51122)
    assert.equal(event.user.name, 'root')
    assert.equal(event.event.outcome, 'failure')
    assert.deepStrictEqual(event.logsource, { product: 'linux', service: 'sshd' })
    const kv = parse('user=alice action=login', 'kv')
    assert.equal(kv.user, 'alice')
    assert.deepStrictEqual(parse('not syslog', 'syslog').tags, ['_siem_parse_failure'])
    assert.throws(() => parse('x', 'xml'), /unknown format "xml"/)
  })

  test('Buffers are read as bytes; invalid UTF-8 is replaced and tagged', () => {
    const engine = new Engine()
    const event = engine.parse(Buffer.from([0x61, 0x3d, 0x31, 0x20, 0x62, 0x3d, 0xff]), 'kv')
    assert.equal(event.a, '1')
    assert.ok(event.tags.includes('_siem_invalid_utf8'))
  })

  test('processLine and processLines raise the brute-force correlation', () => {
    const engine = new Engine({ rules: [exampleRules('ssh_bruteforce.yml')] })
    const lines = Array.from({ length: 5 }, (_, i) => sshd(10 + i, `Failed password for root from 203.0.113.50 port ${40000 + i} ssh2`))
    const alerts = lines.flatMap((line) => engine.processLine(line))
    alerts.push(...engine.flush())
    assert.equal(alerts.length, 1)
    assert.deepStrictEqual(alerts[0].group, { 'source.ip': '203.0.113.50' })

    const batch = new Engine({ rules: [exampleRules('ssh_bruteforce.yml')] })
    const batchAlerts = batch.processLines(lines.map((l) => Buffer.from(l)), 'syslog').concat(batch.flush())
    assert.deepStrictEqual(batchAlerts, alerts)
  })

  test('the sshd jail flags the heaviest sources of loghub OpenSSH (corpus)', async () => {
    const text = readFileSync(join(corpus('loghub'), 'OpenSSH', 'OpenSSH_2k.log'), 'utf8')
    const lines = text.split('\n').filter(Boolean)
    const perSource = new Map()
    for (const line of lines) {
      const event = parse(line)
      if (event.event?.outcome === 'failure' && event.source?.ip) perSource.set(event.source.ip, (perSource.get(event.source.ip) ?? 0) + 1)
    }
    const top = [...perSource].sort((a, b) => b[1] - a[1])
    assert.ok(top[0][1] > 100, `too few failures decoded: ${top.slice(0, 3)}`)

    const engine = new Engine({ rules: [exampleRules('ssh_bruteforce.yml')] })
    const alerts = engine.processLines(lines).concat(engine.flush())
    const flagged = new Set(alerts.map((a) => a.group['source.ip']))
    for (const [ip] of top.slice(0, 2)) assert.ok(flagged.has(ip), `${ip} not flagged`)
    for (const ip of flagged) assert.ok(perSource.get(ip) >= 5, `${ip} flagged with ${perSource.get(ip)} failures`)

    // The same lines off the event loop give the same alerts.
    const other = new Engine({ rules: [exampleRules('ssh_bruteforce.yml')] })
    const asyncAlerts = (await other.processLinesAsync(lines)).concat(other.flush())
    assert.deepStrictEqual(asyncAlerts, alerts)
  })
})

describe('state', () => {
  const failure = (second) => ({
    '@timestamp': new Date(Date.UTC(2026, 2, 2, 9, 0, second)),
    logsource: { product: 'linux', service: 'sshd' },
    event: { category: 'authentication', outcome: 'failure' },
    source: { ip: '203.0.113.50' }
  })

  test('correlation state survives snapshot and restore', () => {
    const rules = [exampleRules('ssh_bruteforce.yml')]
    const before = new Engine({ rules })
    assert.deepStrictEqual(before.processBatch([10, 11, 12].map(failure)), [])
    const snapshot = before.snapshot()
    assert.equal(typeof snapshot, 'string')

    const after = new Engine({ rules })
    const report = after.restore(snapshot)
    assert.ok(report.groupsRestored >= 1)
    assert.deepStrictEqual(report.rulesDropped, [])
    const alerts = after.processBatch([13, 14].map(failure)).concat(after.flush())
    assert.equal(alerts.filter((a) => a.kind === 'correlation').length, 1)

    const fresh = new Engine({ rules })
    assert.deepStrictEqual(fresh.processBatch([13, 14].map(failure)).concat(fresh.flush()), [])
    assert.throws(() => fresh.restore('{"shards": 3}'), /unreadable engine snapshot/)
  })

  test('sampled events stay within maxSampleBytes', () => {
    const engine = new Engine({ rules: [exampleRules('ssh_bruteforce.yml')], lateness: 0, correlator: { maxSampleBytes: 0 } })
    const alerts = engine.processBatch([0, 1, 2, 3, 4, 5].map(failure)).concat(engine.flush())
    const correlations = alerts.filter((a) => a.kind === 'correlation')
    assert.equal(correlations.length, 1)
    assert.deepStrictEqual(correlations[0].events, [])
    const { correlator } = engine.stats()
    assert.ok(correlator.samplesEvicted >= 5, JSON.stringify(correlator))
    assert.equal(correlator.sampleBytes, 0)
    assert.throws(() => new Engine({ correlator: { maxSampleBytes: -1 } }), /maxSampleBytes must be a non-negative number/)
  })

  test('detections wait out the lateness until tick', () => {
    const engine = new Engine({ rules: [exampleRules('ssh_bruteforce.yml')] })
    const now = Date.now()
    const events = [0, 1, 2, 3, 4].map((i) => ({ ...failure(0), '@timestamp': new Date(now - 5000 + i) }))
    assert.deepStrictEqual(engine.processBatch(events), [])
    assert.equal(engine.stats().correlator.pending, 5)
    assert.deepStrictEqual(engine.tick(now - 4000), [])
    const alerts = engine.tick(new Date(now + 1000))
    assert.equal(alerts.length, 1)
    assert.equal(alerts[0].kind, 'correlation')
    const stats = engine.stats()
    assert.equal(stats.events, 5)
    assert.equal(stats.detections, 5)
    assert.equal(stats.alerts, 1)
    assert.equal(stats.correlator.pending, 0)
    assert.throws(() => engine.tick('soon'), /a time must be a Date or epoch milliseconds/)
  })

  test('the alert policy suppresses repeats', () => {
    const engine = new Engine({ rules: [{ yaml: FAILED_SSH }], policy: { suppressRepeats: 60_000 } })
    const event = { '@timestamp': new Date(), source: { ip: '203.0.113.7' } }
    assert.equal(engine.processBatch([event, event, event]).length, 1)
    assert.equal(engine.stats().policy.suppressedRepeat, 2)
  })
})
