// ESM entry: the same module instance as `require('siem')` (one addon, one set of classes).
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const siem = require('./index.js')

export const { Engine, parse, RuleError, EventError, _nativeBatchRate } = siem
export default siem
