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
// comparable; the runs are interleaved and the medians reported (the machine is shared).

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
const BATCH = option('--batch', 1000)

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
  return _nativeBatchRate(new Engine({ rules }), lines, ROUNDS)
}

// Warm up the JIT and the allocator.
jsBatch()
jsSingle()
native()

// The machine is shared: run the measurements interleaved, REPEAT times, and keep the median
// of each (and of the ratio of each run), so that a burst of load elsewhere skews one run, not
// one side of the comparison.
const runs = []
for (let i = 0; i < REPEAT; i++) runs.push({ batch: jsBatch(), rust: native(), single: jsSingle(), empty: floor() })
const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]
const batchSeconds = median(runs.map((r) => r.batch.seconds))
const singleSeconds = median(runs.map((r) => r.single.seconds))
const emptySeconds = median(runs.map((r) => r.empty.seconds))
const emptyCalls = runs[0].empty.calls
const rustSeconds = median(runs.map((r) => r.rust.seconds))
const rustProcessSeconds = median(runs.map((r) => r.rust.processSeconds))
const ratio = median(runs.map((r) => r.rust.seconds / r.batch.seconds))
const ratioProcess = median(runs.map((r) => r.rust.processSeconds / r.batch.seconds))
const alerts = runs[0].batch.alerts / ROUNDS

const eps = (seconds) => total / seconds
const fmt = (n) => Math.round(n).toLocaleString('en-US')
const us = (seconds, count) => ((seconds / count) * 1e6).toFixed(2)

console.log(`siem node bench: ${events.length} events (${sshLines.length} sshd lines from loghub, ${events.length - sshLines.length} web events) x ${ROUNDS} rounds, median of ${REPEAT} interleaved runs`)
console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown cpu'} (${os.cpus().length} cpus), node ${process.version}, ${os.platform()} ${os.arch()}, load average ${os.loadavg()[0].toFixed(1)}`)
console.log(`alerts per pass: ${alerts} (js processBatch), ${runs[0].rust.alerts / ROUNDS} (native)`)
console.log('')
console.log(`process (one event per call)     ${us(singleSeconds, total).padStart(8)} us/call   ${fmt(eps(singleSeconds)).padStart(10)} events/s`)
console.log(`process floor (empty event)      ${us(emptySeconds, emptyCalls).padStart(8)} us/call`)
console.log(`processBatch (${BATCH} per call)`.padEnd(33) + `${us(batchSeconds, total).padStart(8)} us/event  ${fmt(eps(batchSeconds)).padStart(10)} events/s`)
console.log(`native from_json + process       ${us(rustSeconds, total).padStart(8)} us/event  ${fmt(eps(rustSeconds)).padStart(10)} events/s`)
console.log(`native process only              ${us(rustProcessSeconds, total).padStart(8)} us/event  ${fmt(eps(rustProcessSeconds)).padStart(10)} events/s`)
console.log('')
console.log(`per-call overhead of process over native process: ${(((singleSeconds - rustProcessSeconds) / total) * 1e6).toFixed(2)} us`)
console.log(`processBatch / native (from_json + process): ${(ratio * 100).toFixed(0)}%  (target: at least 50%)`)
console.log(`processBatch / native (process only):        ${(ratioProcess * 100).toFixed(0)}%`)
