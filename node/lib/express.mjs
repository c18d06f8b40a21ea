import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const express = require('./express.js')

export const { siemMiddleware, clientAddress, compileTrust } = express
export default siemMiddleware
