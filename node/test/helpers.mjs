// Shared by the tests: where the repository's example rules and the public corpora are.

import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const here = dirname(fileURLToPath(import.meta.url))
export const repo = resolve(here, '..', '..')
export const exampleRules = (file) => join(repo, 'examples', 'rules', file)
export const testRules = (file) => join(here, 'rules', file)

/**
 * A corpus folder: $SIEM_CORPORA/<name>, or shared/corpora/<name> beside the checkout (looked
 * for upwards), as siem-testkit finds them. Throws when absent: a test that needs a corpus
 * never passes without it.
 */
export function corpus (name) {
  const roots = []
  if (process.env.SIEM_CORPORA) roots.push(process.env.SIEM_CORPORA)
  for (let dir = repo; ; dir = dirname(dir)) {
    roots.push(join(dir, 'shared', 'corpora'), join(dir, '..', 'shared', 'corpora'))
    if (dirname(dir) === dir) break
  }
  for (const root of roots) {
    const folder = join(root, name)
    if (existsSync(folder)) return folder
  }
  throw new Error(
    `corpus ${name} not found: set SIEM_CORPORA to the folder holding the corpora ` +
    `(shared/corpora; see testkit/src/lib.rs for each corpus's upstream repository and commit)`
  )
}

/** Resolves when `predicate()` holds, polling; rejects after `timeout` ms. */
export async function waitFor (predicate, timeout = 5000, what = 'condition') {
  const deadline = Date.now() + timeout
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
