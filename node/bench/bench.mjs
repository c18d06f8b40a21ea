// Benchmark: the cost of crossing from JavaScript into the engine, against native Rust on the
// same events in the same run.
//
//   node bench/bench.mjs [--rounds N] [--repeat N]
//
// Events: loghub's OpenSSH_2k.log (real sshd lines, from the shared corpora) parsed into ECS
// objects once, plus nginx-style web events, under the repository's example rules (ssh brute
// force, brute force then success, 403 bursts: detections and correlations).
//
// - process: per-call time of engine.process(event), one event per call, and the floor of a
//   call (an empty event through an engine without rules);
// - processBatch: events per second, batches of 1000 event objects;
// - native: `_nativeBatchRate` runs the same events as JSON lines through the same engine
//   configuration in a Rust loop (Event::from_json + process_batch), and process_batch alone
//   on events read beforehand.
//
// Every measurement runs on a fresh engine fed the same sequence, so correlation state is
// comparable; each is repeated and the best run is kept (the machine is shared).

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import os from 'node:os'

import { Engine, _nativeBatchRate, parse } from 'siem'
import { corpus, repo } from '../test/helpers.mjs'

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const ROUNDS = option('--rounds', 10)
const REPEAT = option('--repeat', 5)
const BATCH = 1000

const rules = [join(repo, 'examples', 'rules')]
const sshLines = readFileSync(join(corpus('loghub'), 'OpenSSH', 'OpenSSH_2k.log'), 'utf8').split('\n').filter(Boolean)
const events = sshLines.map((line) => parse(line))
// Web events, as the Express middleware records them (1 in 4 refused).
for (let i = 0; i < 2000; i++) {
  events.push({
    '@timestamp': new Date(Date.UTC(2026, 2, 2, 10, 0, 0, i * 50)).toISOString(),
    logsource: { category: 'webserver', product: 'nodejs' },
    event: { kind: 'event', category: ['web'], type: ['access'], outcome: i % 4 === 0 ? 'failure' : 'success', duration: 1_200_000 + i },
    http: { request: { method: 'GET' }, response: { status_code: i % 4 === 0 ? 403 : 200 }, version: '1.1' },
    url: { original: `/shop/item/${i}?ref=home`, path: `/shop/item/${i}`, query: 'ref=home', domain: 'shop.example' },
    source: { ip: `198.51.100.${i % 50}` },
    user_agent: { original: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36' },
    user: { name: `user${i % 40}` }
  })
}
const lines = events.map((e) => JSON.stringify(e))
const batches = []
for (let i = 0; i < events.length; i += BATCH) batches.push(events.slice(i, i + BATCH))
const total = events.length * ROUNDS

function best (fn) {
  let result = null
  for (let i = 0; i < REPEAT; i++) {
    const r = fn()
    if (result === null || r.seconds < result.seconds) result = r
  }
  return result
}

function jsBatch () {
  const engine = new Engine({ rules })
  let alerts = 0
  const start = process.hrtime.bigint()
  for (let r = 0; r < ROUNDS; r++) for (const batch of batches) alerts += engine.processBatch(batch).length
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, alerts }
}

function jsSingle () {
  const engine = new Engine({ rules })
  let alerts = 0
  const start = process.hrtime.bigint()
  for (let r = 0; r < ROUNDS; r++) for (const event of events) alerts += engine.process(event).length
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, alerts }
}

function floor () {
  const engine = new Engine()
  const empty = {}
  const calls = 200_000
  const start = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) engine.process(empty)
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, calls }
}

function native () {
  const r = _nativeBatchRate(new Engine({ rules }), lines, ROUNDS)
  return { ...r, seconds: r.seconds }
}

// Warm up the JIT and the allocator.
jsBatch()
jsSingle()
native()

const batch = best(jsBatch)
const single = best(jsSingle)
const empty = best(floor)
const rust = best(native)

const eps = (seconds) => total / seconds
const fmt = (n) => Math.round(n).toLocaleString('en-US')
const us = (seconds, count) => ((seconds / count) * 1e6).toFixed(2)

console.log(`siem node bench: ${events.length} events (${sshLines.length} sshd lines from loghub, ${events.length - sshLines.length} web events) x ${ROUNDS} rounds, best of ${REPEAT}`)
console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown cpu'} (${os.cpus().length} cpus), node ${process.version}, ${os.platform()} ${os.arch()}`)
console.log(`alerts per pass: js ${batch.alerts / ROUNDS}, native ${rust.alerts / ROUNDS / 2}`)
console.log('')
console.log(`process (one event per call)     ${us(single.seconds, total).padStart(8)} us/call   ${fmt(eps(single.seconds)).padStart(10)} events/s`)
console.log(`process floor (empty event)      ${us(empty.seconds, empty.calls).padStart(8)} us/call`)
console.log(`processBatch (${BATCH} per call)     ${us(batch.seconds, total).padStart(8)} us/event  ${fmt(eps(batch.seconds)).padStart(10)} events/s`)
console.log(`native from_json + process       ${us(rust.seconds, total).padStart(8)} us/event  ${fmt(rust.eventsPerSecond).padStart(10)} events/s`)
console.log(`native process only              ${us(rust.processSeconds, total).padStart(8)} us/event  ${fmt(rust.processEventsPerSecond).padStart(10)} events/s`)
console.log('')
console.log(`per-call overhead of process vs native process: ${(((single.seconds - rust.processSeconds) / total) * 1e6).toFixed(2)} us`)
console.log(`processBatch / native (from_json + process): ${((eps(batch.seconds) / rust.eventsPerSecond) * 100).toFixed(0)}%`)
console.log(`processBatch / native (process only):        ${((eps(batch.seconds) / rust.processEventsPerSecond) * 100).toFixed(0)}%`)
