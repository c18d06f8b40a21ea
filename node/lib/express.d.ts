import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Alert, Engine, EngineOptions, Logsource } from '../index'

/** Who the trusted proxies in front of the app are (as Express's `trust proxy` setting). */
export type TrustProxy =
  | boolean
  /** Trust this many hops (proxies) in front of the app. */
  | number
  /** Addresses, subnets (`10.0.0.0/8`), or `loopback` / `linklocal` / `uniquelocal`; a string may list several, comma-separated. */
  | string
  | string[]
  /** Decide per address; `hop` is 0 for the socket's peer, 1 for the last X-Forwarded-For entry, ... */
  | ((address: string, hop: number) => boolean)

/** The request as the middleware reads it: Node's, plus what Express or auth middleware add. */
export type SiemRequest = IncomingMessage & {
  originalUrl?: string
  ip?: string
  app?: { get(setting: string): unknown }
  user?: unknown
  auth?: unknown
}

export interface SiemMiddlewareOptions extends EngineOptions {
  /** The engine to feed; without it one is built from the Engine options given here (`rules`, ...). */
  engine?: Engine
  /** Called with each alert: from a request, a login, or the periodic `tick()`. */
  onAlert?: (alert: Alert, req?: SiemRequest) => void
  /** Called with errors of `onAlert` or the engine; default `process.emitWarning`. Requests are never failed. */
  onError?: (error: unknown) => void
  /**
   * Which proxies to trust for the client address (`source.ip`). Unset: an Express request's
   * `req.ip` (the app's own `trust proxy` setting), else the socket's peer address.
   */
  trustProxy?: TrustProxy
  /** The user of a request (`user.name`); default `req.user.username` / `.name` / `.email` / `.id`, or `req.auth.user`. */
  user?: (req: SiemRequest) => string | undefined
  /** Logsource of request events; default `{ category: 'webserver', product: 'nodejs' }`. */
  logsource?: Logsource
  /** Logsource of login events; default `{ category: 'application', product: 'nodejs' }`. */
  loginLogsource?: Logsource
  /** Milliseconds between `engine.tick()` calls (unref'd timer); 0 turns it off. Default 1000. */
  tickInterval?: number
}

export interface LoginReport {
  /** The user name tried; default the request's user. */
  user?: string
  outcome: 'success' | 'failure'
  /** Why it failed (`event.reason`). */
  reason?: string
}

export interface SiemMiddleware {
  (req: SiemRequest, res: ServerResponse, next: (error?: unknown) => void): void
  /** The engine the middleware feeds. */
  readonly engine: Engine
  /** Reports a login attempt (an ECS authentication event); returns the alerts it raised. */
  login(req: SiemRequest, report: LoginReport): Alert[]
  loginSucceeded(req: SiemRequest, user?: string): Alert[]
  loginFailed(req: SiemRequest, user?: string, reason?: string): Alert[]
  /** Stops the tick timer and flushes waiting detections; returns their alerts (also delivered). */
  close(): Alert[]
}

/** Express / Connect middleware recording each request as an ECS web event. */
export declare function siemMiddleware(options?: SiemMiddlewareOptions): SiemMiddleware
/** The client address of a request under a compiled trust function (undefined: Express's `req.ip`). */
export declare function clientAddress(req: SiemRequest, trust?: (address: string, hop: number) => boolean): string | undefined
/** Compiles a `trustProxy` setting. */
export declare function compileTrust(setting: TrustProxy): (address: string, hop: number) => boolean
export default siemMiddleware
