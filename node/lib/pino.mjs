import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const pino = require('./pino.js')

export const { siemTransport, recordToEcs, request } = pino
export default siemTransport
