// The async variants run matching on the libuv thread pool: the event loop stays free.

import assert from 'node:assert/strict'
import { test } from 'node:test'

import { Engine, EventError } from 'siem'

// Rules whose regular expressions scan long messages: matching dominates the cost of reading
// the events, as with a large rule set.
const RULES = Array.from({ length: 40 }, (_, i) => ({
  yaml: `title: injection ${i}
id: 00000000-0000-4000-8000-${String(i).padStart(12, '0')}
logsource: {category: application}
detection:
  selection:
    message|re: 'select\\s.+from\\s.+where\\s.+(union|sleep)\\(${i}\\)'
  condition: selection
level: low
`
}))

const WORDS = ['select', 'from', 'where', 'users', 'id', 'name', 'and', 'or', 'order', 'by']

function events (count) {
  const message = Array.from({ length: 600 }, (_, i) => WORDS[(i * 7) % WORDS.length]).join(' ')
  return Array.from({ length: count }, (_, i) => ({
    '@timestamp': new Date(1714557600000 + i),
    logsource: { category: 'application' },
    message: i % 100 === 0 ? `${message} union(${i % 40})` : message,
    source: { ip: `192.0.2.${i % 250}` }
  }))
}

test('processBatchAsync leaves a timer running while it matches', async () => {
  // A timer that only records when it fires: if matching ran on the event loop, the timer could
  // not fire during it, and the longest gap between two of its ticks would span the whole wait.
  // Only ratios of times measured in the same run are compared (the machine may be loaded).
  const period = 10
  const ticks = []
  const timer = setInterval(() => ticks.push(performance.now()), period)
  try {
    // Grow the batch until the promise stays pending long enough to tell.
    let batch
    let alerts
    let pendingFrom
    let pendingMs
    for (let count = 200; ; count *= 2) {
      batch = events(count)
      const engine = new Engine({ rules: RULES })
      const promise = engine.processBatchAsync(batch)
      pendingFrom = performance.now()
      alerts = await promise
      pendingMs = performance.now() - pendingFrom
      if (pendingMs >= 300 || count >= 200_000) break
    }
    assert.ok(pendingMs >= 300, `${batch.length} events kept the promise pending only ${pendingMs} ms`)
    const during = [pendingFrom, ...ticks.filter((t) => t >= pendingFrom), pendingFrom + pendingMs]
    const maxGap = Math.max(...during.slice(1).map((t, i) => t - during[i]))
    assert.ok(during.length >= 7, `only ${during.length - 2} timer ticks in ${pendingMs} ms`)
    assert.ok(maxGap < pendingMs / 3, `the event loop stalled for ${maxGap} ms of ${pendingMs} ms`)
    // And the result is the synchronous one.
    const expected = new Engine({ rules: RULES }).processBatch(batch)
    assert.deepStrictEqual(alerts.map((a) => a.rule.id), expected.map((a) => a.rule.id))
    assert.equal(alerts.length, batch.length / 100)
  } finally {
    clearInterval(timer)
  }
})

test('async variants give the synchronous results', async () => {
  const line = 'Oct 11 22:14:15 web1 sshd[4242]: Failed password for root from 203.0.113.7 port 51122 ssh2'
  const rule = { yaml: 'title: ssh\nid: ssh\nlogsource: {service: sshd}\ndetection:\n  s:\n    event.outcome: failure\n  condition: s\n' }
  const engine = new Engine({ rules: [rule] })
  const event = engine.parse(line)
  const [sync] = engine.processLine(line)
  const [fromLine] = await engine.processLineAsync(line)
  const [fromLines] = await engine.processLinesAsync([line, Buffer.from('not a log line')])
  const [fromEvent] = await engine.processAsync(event)
  const [fromBatch] = await engine.processBatchAsync([event])
  for (const alert of [fromLine, fromLines, fromEvent, fromBatch]) {
    assert.deepStrictEqual(alert.rule, sync.rule)
    assert.equal(alert['@timestamp'], sync['@timestamp'])
  }
  assert.deepStrictEqual(fromLine, sync)
  assert.deepStrictEqual(fromEvent.event, sync.event)
})

test('a bad event rejects the promise with an EventError', async () => {
  const engine = new Engine()
  await assert.rejects(engine.processBatchAsync([{}, { f: () => 1 }]), (error) => error instanceof EventError && error.index === 1 && error.field === 'f')
  await assert.rejects(engine.processAsync(null), EventError)
  await assert.rejects(engine.processLinesAsync(['ok', 5]), (error) => error instanceof EventError && error.index === 1)
  await assert.rejects(engine.processLineAsync({}), EventError)
})

test('many async batches at once on one engine', async () => {
  const rule = { yaml: 'title: x\nid: x\ndetection:\n  s:\n    n|gte: 0\n  condition: s\n' }
  const engine = new Engine({ rules: [rule] })
  const results = await Promise.all(Array.from({ length: 16 }, (_, b) =>
    engine.processBatchAsync(Array.from({ length: 100 }, (_, i) => ({ n: b * 100 + i })))))
  assert.equal(results.flat().length, 1600)
  assert.equal(engine.stats().events, 1600)
  results.forEach((alerts, b) => assert.deepStrictEqual(alerts.map((a) => a.event.n), Array.from({ length: 100 }, (_, i) => b * 100 + i)))
})
