#!/usr/bin/env node
// Regenerates index.d.ts with the napi-rs CLI (a devDependency): it rebuilds the addon with the
// type definitions napi-derive emits, and prepends lib/header.d.ts (the hand-written types).
// Pass --release for an optimized addon; the default is a debug build.

import { spawnSync } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const args = [
  'build',
  '--manifest-path', '../bindings/node/Cargo.toml',
  '--output-dir', '.',
  '--dts', 'index.d.ts',
  '--dts-header', 'lib/header.d.ts',
  ...process.argv.slice(2)
]
const napi = resolve(packageDir, 'node_modules', '.bin', process.platform === 'win32' ? 'napi.cmd' : 'napi')
const result = spawnSync(napi, args, { cwd: packageDir, stdio: 'inherit' })
process.exit(result.status ?? 1)
