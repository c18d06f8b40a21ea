import type { Transform } from 'node:stream'
import type { Alert, Engine, EngineOptions, EngineStats, Logsource } from '../index'

export interface SiemTransportOptions extends EngineOptions {
  /** In-process only: the engine to feed (a worker builds its own from the Engine options). */
  engine?: Engine
  /** In-process only: called with each alert. In pino's worker, alerts are 'alert' events on the transport instead. */
  onAlert?: (alert: Alert) => void
  /** Logsource of the log events; default `{ product: 'nodejs', category: 'application' }` (SigmaHQ's Node.js rules). */
  logsource?: Logsource
  /** Milliseconds between `engine.tick()` calls; 0 turns it off. Default 1000. */
  tickInterval?: number
  /** A snapshot (from `request(transport, 'snapshot')` or `engine.snapshot()`) restored at start. */
  snapshot?: string
}

/** The stream pino writes to; `engine` is the engine it feeds. */
export type SiemStream = Transform & { engine: Engine }

/** The pino transport (`pino.transport({ target: 'siem/pino', options })`), or an in-process stream (`pino(await siemTransport(options))`). */
export declare function siemTransport(options?: SiemTransportOptions): Promise<SiemStream>

/** A pino record as the ECS event the transport gives the engine. */
export declare function recordToEcs(
  record: unknown,
  mapping?: { logsource?: Logsource; levels?: Record<number, string>; messageKey?: string; errorKey?: string }
): Record<string, unknown>

/** The object `pino.transport()` returns: it emits 'alert' for each alert the worker's engine raises. */
export interface TransportLike {
  on(event: 'alert', listener: (alert: Alert) => void): unknown
  on(event: string, listener: (...args: any[]) => void): unknown
  off(event: string, listener: (...args: any[]) => void): unknown
  emit(event: string, ...args: any[]): boolean
}

/** Asks the transport's worker for its engine's stats, snapshot (JSON text) or a flush (the alerts of every waiting detection). */
export declare function request(transport: TransportLike, op: 'stats', options?: { timeout?: number }): Promise<EngineStats>
export declare function request(transport: TransportLike, op: 'snapshot', options?: { timeout?: number }): Promise<string>
export declare function request(transport: TransportLike, op: 'flush', options?: { timeout?: number }): Promise<Alert[]>

export default siemTransport
