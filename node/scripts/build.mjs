#!/usr/bin/env node
// Builds the native addon from source: `cargo build` of bindings/node, then copies the shared
// library next to the loader as siem.node. Runs as the package's `install` script, so
// `npm install` on a fresh machine needs only Node and a Rust toolchain (https://rustup.rs).
//
//   node scripts/build.mjs            release build (what `npm install` does)
//   node scripts/build.mjs --debug    debug build (faster to compile, slower to run)
//
// SIEM_NODE_SKIP_BUILD=1 skips the build (e.g. when a prebuilt siem.node is provided).
// CARGO_TARGET_DIR is honoured, as cargo honours it.

import { spawn } from 'node:child_process'
import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const manifest = resolve(packageDir, '..', 'bindings', 'node', 'Cargo.toml')
const output = join(packageDir, 'siem.node')
const debug = process.argv.includes('--debug')

if (process.env.SIEM_NODE_SKIP_BUILD) {
  console.log('siem: SIEM_NODE_SKIP_BUILD is set, not building the addon')
  process.exit(0)
}
if (!existsSync(manifest)) {
  fail(`the Rust crate is not at ${manifest}; build from a checkout of the siem repository`)
}

const args = ['build', '--lib', '--manifest-path', manifest, '--message-format=json-render-diagnostics']
if (!debug) args.push('--release')
console.log(`siem: cargo ${args.join(' ')}`)

const cargo = spawn(process.env.CARGO || 'cargo', args, { stdio: ['ignore', 'pipe', 'inherit'] })
cargo.on('error', (e) => {
  fail(`could not run cargo (${e.message}). Install Rust from https://rustup.rs and run \`npm run build\`.`)
})

// cargo prints one JSON message per line; the artifact of our cdylib names the library file.
let library = null
let pending = ''
cargo.stdout.setEncoding('utf8')
cargo.stdout.on('data', (chunk) => {
  pending += chunk
  let newline
  while ((newline = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, newline)
    pending = pending.slice(newline + 1)
    let message
    try {
      message = JSON.parse(line)
    } catch {
      continue
    }
    if (message.reason === 'compiler-artifact' && message.target?.kind?.includes('cdylib')) {
      library = message.filenames.find((f) => /\.(so|dylib|dll)$/.test(f)) ?? library
    }
  }
})

cargo.on('close', (code) => {
  if (code !== 0) fail(`cargo build failed (exit code ${code})`)
  if (!library) fail('cargo built no shared library (no cdylib artifact reported)')
  // Copy to a temporary name and rename: a process that has the old addon loaded keeps its
  // mapping, and nobody ever loads a half-written file.
  const temporary = `${output}.${process.pid}.tmp`
  copyFileSync(library, temporary)
  if (existsSync(output)) rmSync(output)
  renameSync(temporary, output)
  console.log(`siem: built ${output} (${debug ? 'debug' : 'release'}) from ${library}`)
})

function fail (message) {
  console.error(`siem: ${message}`)
  process.exit(1)
}
