/**
 * The stats / admin HTTP endpoint on `stats_listen` (Netflix default 0.0.0.0:22222).
 *
 * Netflix's paths, bodies and content type (`application/json; charset=utf-8` even for the
 * plain-text answers), with three deliberate differences:
 *   - an unknown path is 404, not `OK`;
 *   - a bad argument (consistency level, state, log level, ...) is 400 naming the bad value and
 *     what was expected, not `OK` with nothing changed;
 *   - only GET is served (405 with `Allow: GET` otherwise).
 * Additions: `/metrics` (Prometheus), `/describe` (the `-D` text), `/read_repairs/<enable|disable>`,
 * `/dashboard` (the live cluster page, dashboard-page.ts) and `/dashboard/data` (its JSON, dashboard.ts).
 *
 * Admin paths (those that change the node: a route with `admin`) are served only to loopback
 * clients and to requests with `Authorization: Bearer <stats_admin_token>`; with
 * `stats_admin_require_token` loopback needs the token too. Anything else gets 403 saying why
 * (Netflix serves them to anyone who can reach the port, 0.0.0.0:22222 by default).
 *
 * Routing is a table (ROUTES): first path segment -> handler, with its argument count and the
 * usage line `/help` prints. The node is reached only through AdminHooks.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { CONSISTENCY_LEVELS, type ConsistencyLevel } from '../conf/types.js';
import { DASHBOARD_HTML } from './dashboard-page.js';
import { dashboardData } from './dashboard.js';
import { createMetrics, type MetricsEndpoint } from './prometheus.js';
import { describeStats } from './stats-table.js';
import type { Stats } from './stats.js';

export { CONSISTENCY_LEVELS, type ConsistencyLevel };

/** States an operator may put the node in (`/state/<state>`). getState may report others. */
export const SETTABLE_STATES = ['STANDBY', 'WRITES_ONLY', 'NORMAL', 'RESUMING'] as const;
export type SettableState = (typeof SETTABLE_STATES)[number];

export const PEER_ACTIONS = ['up', 'down', 'reset'] as const;
export type PeerAction = (typeof PEER_ACTIONS)[number];

/** `/cluster_describe`, Netflix's shape. */
export interface ClusterDescription {
  dcs: Array<{
    name: string;
    racks: Array<{ name: string; servers: Array<{ name: string; host: string; port: number; token: number | string; [extra: string]: unknown }> }>;
  }>;
}

/** What the endpoint may ask of, or change in, the node. The node implements it. */
export interface AdminHooks {
  getConsistency(): { read: ConsistencyLevel; write: ConsistencyLevel };
  setConsistency(which: 'read' | 'write', level: ConsistencyLevel): void;
  /** Current node state, upper case (NORMAL, STANDBY, WRITES_ONLY, RESUMING, JOINING, ...). */
  getState(): string;
  setState(state: SettableState): void;
  getReadRepairs(): boolean;
  setReadRepairs(enabled: boolean): void;
  clusterDescribe(): ClusterDescription;
  /** 0..11, Netflix's verbosity scale (`-v`). */
  setLogLevel(level: number): void;
  logLevelUp(): void;
  logLevelDown(): void;
  getTimeoutFactor(): number;
  /** 1..10. */
  setTimeoutFactor(factor: number): void;
  /** `/peer/<action>[/<peer name or 'all'>]`: Netflix sets the named peer's state. */
  peer(action: PeerAction, target: string | undefined): void;
  /** `/anti_entropy`: the pass running or the last one (JSON-able); undefined on a node without a cluster. */
  antiEntropyStatus(): object | undefined;
  /** `/anti_entropy/run`: starts a pass unless one runs; undefined on a node without a cluster. */
  runAntiEntropy(): { started: boolean } | undefined;
}

/** The slice of a pino logger the endpoint uses. */
export interface StatsLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface StatsServerOptions {
  listen: { host: string; port: number };
  stats: Stats;
  admin: AdminHooks;
  logger?: StatsLogger;
  /** Who may use the admin paths. @default loopback clients only */
  guard?: AdminGuard;
}

/** Who may use the admin paths (the routes with `admin`). */
export interface AdminGuard {
  /** stats_admin_token: `Authorization: Bearer <token>` opens them from any address. */
  readonly token?: string;
  /** stats_admin_require_token: loopback clients need the token too. */
  readonly requireToken?: boolean;
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (`::ffff:127.0.0.1`, what a dual-stack socket reports). */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.toLowerCase();
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Why an admin request is refused, or undefined when it may go on. Tokens compare in constant time. */
export function adminRefusal(guard: AdminGuard, remoteAddress: string | undefined, authorization: string | undefined): string | undefined {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
  if (guard.token !== undefined && m !== null && timingSafeEqual(digest(m[1]!), digest(guard.token))) return undefined;
  const loopback = isLoopback(remoteAddress);
  if (loopback && guard.requireToken !== true) return undefined;
  if (guard.token === undefined) return `admin paths are served to loopback clients only (${remoteAddress ?? 'unknown address'} is not; set stats_admin_token to allow others)`;
  if (authorization === undefined) return 'admin paths need Authorization: Bearer <stats_admin_token>';
  return m === null ? 'Authorization header is not "Bearer <token>"' : 'wrong stats_admin_token';
}

export interface StatsServer {
  readonly host: string;
  /** The bound port (the real one when `listen.port` was 0). */
  readonly port: number;
  /** Stop listening and drop open connections; resolves when the port is free. */
  close(): Promise<void>;
}

export const NETFLIX_CONTENT_TYPE = 'application/json; charset=utf-8';
const TEXT_CONTENT_TYPE = 'text/plain; charset=utf-8';
const HTML_CONTENT_TYPE = 'text/html; charset=utf-8';
const JSON_CONTENT_TYPE = 'application/json';
/** Netflix's `ok` string, bytes included. */
export const OK_BODY = 'OK\r\n';

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly contentType: string;
}

interface Context {
  readonly guard: AdminGuard;
  readonly stats: Stats;
  readonly admin: AdminHooks;
  readonly metrics: MetricsEndpoint;
  readonly log: (msg: string, fields: object) => void;
  readonly refused: (url: string, from: string | undefined, reason: string) => void;
}

interface Route {
  /** First path segment ('' for `/`). */
  readonly path: string;
  /** Shown by /help; undefined hides the route (aliases). */
  readonly usage?: string;
  readonly minArgs: number;
  readonly maxArgs: number;
  /** Changes the node: guarded (see AdminGuard); a function decides per arguments. */
  readonly admin?: boolean | ((args: readonly string[]) => boolean);
  readonly run: (ctx: Context, args: readonly string[]) => Reply | Promise<Reply>;
}

/** Thrown by handlers for a bad argument; becomes a 400 with its message. */
class BadRequest extends Error {}

const json = (status: number, body: object): Reply => ({ status, body: `${JSON.stringify(body)}\n`, contentType: JSON_CONTENT_TYPE });
const netflix = (body: string): Reply => ({ status: 200, body, contentType: NETFLIX_CONTENT_TYPE });
const plain = (status: number, body: string): Reply => ({ status, body: `${body}\n`, contentType: TEXT_CONTENT_TYPE });
const OK = netflix(OK_BODY);

/** Match `value` case-insensitively against `choices` (given in their canonical case). */
function pick<T extends string>(value: string, choices: readonly T[], what: string): T {
  const found = choices.find((c) => c.toLowerCase() === value.toLowerCase());
  if (found === undefined) {
    throw new BadRequest(`unknown ${what} '${value}' (expected ${choices.map((c) => c.toLowerCase()).join(', ')})`);
  }
  return found;
}

function integerIn(value: string, min: number, max: number, what: string): number {
  const n = /^\d{1,3}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max)) throw new BadRequest(`bad ${what} '${value}' (expected an integer ${min}-${max})`);
  return n;
}

function info(ctx: Context): Reply {
  ctx.stats.pool.stats_count++;
  return netflix(`${JSON.stringify(ctx.stats.snapshot())}\n`);
}

function consistencyText(ctx: Context): Reply {
  const c = ctx.admin.getConsistency();
  return netflix(`Read Consistency: ${c.read}\nWrite Consistency: ${c.write}\n`);
}

function readRepairsText(ctx: Context): Reply {
  return netflix(`Read Repairs: ${ctx.admin.getReadRepairs() ? 'ENABLED' : 'DISABLED'}\n`);
}

const fixed = (path: string, run: Route['run'], usage: string | undefined = `/${path}`, admin = false): Route => ({
  path, usage, minArgs: 0, maxArgs: 0, run, admin,
});

export const ROUTES: readonly Route[] = [
  fixed('', info, undefined),
  fixed('info', info),
  fixed('help', () => netflix(helpText())),
  fixed('ping', () => OK),
  fixed('describe', () => netflix(describeStats())),
  fixed('cluster_describe', (ctx) => netflix(`${JSON.stringify(ctx.admin.clusterDescribe())}\n`)),
  {
    path: 'setloglevel', usage: '/setloglevel/<0-11>', minArgs: 1, maxArgs: 1, admin: true,
    run: (ctx, [level]) => {
      const n = integerIn(level!, 0, 11, 'log level');
      ctx.admin.setLogLevel(n);
      ctx.log('log level set', { level: n });
      return OK;
    },
  },
  fixed('loglevelup', (ctx) => (ctx.admin.logLevelUp(), OK), '/loglevelup', true),
  fixed('logleveldown', (ctx) => (ctx.admin.logLevelDown(), OK), '/logleveldown', true),
  fixed('historeset', (ctx) => (ctx.stats.resetHistograms(), OK), '/historeset', true),
  fixed('get_consistency', consistencyText),
  {
    path: 'set_consistency', usage: '/set_consistency/<read|write>/<dc_one|dc_quorum|dc_safe_quorum|dc_each_safe_quorum>',
    minArgs: 2, maxArgs: 2, admin: true,
    run: (ctx, [which, level]) => {
      const target = pick(which!, ['read', 'write'] as const, 'consistency target');
      const value = pick(level!, CONSISTENCY_LEVELS, 'consistency level');
      ctx.admin.setConsistency(target, value);
      ctx.log('consistency set', { which: target, level: value });
      return OK;
    },
  },
  {
    path: 'read_repairs', usage: '/read_repairs/<enable|disable>', minArgs: 1, maxArgs: 1, admin: true,
    run: (ctx, [action]) => {
      const on = pick(action!, ['enable', 'disable'] as const, 'read_repairs action') === 'enable';
      ctx.admin.setReadRepairs(on);
      ctx.log('read repairs set', { enabled: on });
      return readRepairsText(ctx);
    },
  },
  fixed('get_timeout_factor', (ctx) => netflix(`Timeout factor: ${ctx.admin.getTimeoutFactor()}\n`)),
  {
    path: 'set_timeout_factor', usage: '/set_timeout_factor/<1-10>', minArgs: 1, maxArgs: 1, admin: true,
    run: (ctx, [factor]) => {
      const n = integerIn(factor!, 1, 10, 'timeout factor');
      ctx.admin.setTimeoutFactor(n);
      ctx.log('timeout factor set', { factor: n });
      return OK;
    },
  },
  {
    path: 'peer', usage: '/peer/<up|down|reset>[/<peer|all>]', minArgs: 1, maxArgs: 2, admin: true,
    run: (ctx, [action, target]) => {
      const a = pick(action!, PEER_ACTIONS, 'peer action');
      ctx.admin.peer(a, target);
      ctx.log('peer state command', { action: a, target });
      return OK;
    },
  },
  {
    path: 'state', usage: '/state/<get_state|standby|writes_only|normal|resuming>', minArgs: 1, maxArgs: 1,
    admin: ([arg]) => arg!.toLowerCase() !== 'get_state',
    run: (ctx, [arg]) => {
      if (arg!.toLowerCase() === 'get_state') return netflix(`State: ${ctx.admin.getState()}\n`);
      const state = pick(arg!, SETTABLE_STATES, 'state');
      ctx.admin.setState(state);
      ctx.log('state set', { state });
      return OK;
    },
  },
  {
    path: 'dashboard', usage: '/dashboard[/data]', minArgs: 0, maxArgs: 1,
    run: (ctx, [what]) => {
      if (what === undefined) return { status: 200, body: DASHBOARD_HTML, contentType: HTML_CONTENT_TYPE };
      if (what !== 'data') throw new BadRequest(`unknown dashboard resource '${what}' (expected data)`);
      const data = dashboardData(ctx.stats.view(), ctx.stats.ours, ctx.admin.clusterDescribe(), ctx.admin.getState(), Date.now());
      return { status: 200, body: `${JSON.stringify(data)}\n`, contentType: JSON_CONTENT_TYPE };
    },
  },
  fixed('anti_entropy', (ctx) => {
    const st = ctx.admin.antiEntropyStatus();
    if (st === undefined) return json(404, { error: 'anti-entropy needs a cluster member (dyn_listen): this node has no replicas' });
    return json(200, st);
  }),
  {
    path: 'anti_entropy', usage: '/anti_entropy/run', minArgs: 1, maxArgs: 1, admin: true,
    run: (ctx, [what]) => {
      if (what !== 'run') throw new BadRequest(`unknown anti_entropy action '${what}' (expected run)`);
      const r = ctx.admin.runAntiEntropy();
      if (r === undefined) return json(404, { error: 'anti-entropy needs a cluster member (dyn_listen): this node has no replicas' });
      ctx.log('anti-entropy pass requested', { started: r.started });
      const st = ctx.admin.antiEntropyStatus();
      return json(r.started ? 202 : 409, { started: r.started, message: r.started ? 'anti-entropy pass started' : 'an anti-entropy pass is already running', status: st });
    },
  },
  {
    path: 'metrics', usage: '/metrics', minArgs: 0, maxArgs: 0,
    run: async (ctx) => ({ status: 200, body: await ctx.metrics.render(), contentType: ctx.metrics.contentType }),
  },
];

/** `/help`: one usage line per route, in table order. */
export function helpText(): string {
  return `${ROUTES.flatMap((r) => (r.usage === undefined ? [] : [r.usage])).join('\n')}\n`;
}

/** Split `/a/b%2Fc?x=1` into ['a', 'b/c']; undefined when the percent-encoding is broken. */
function segments(url: string): string[] | undefined {
  const path = url.split('?', 1)[0]!.replace(/^[a-z]+:\/\/[^/]*/i, '');
  const parts = path.split('/').slice(1);
  try {
    return parts.map((p) => decodeURIComponent(p));
  } catch {
    return undefined;
  }
}

async function route(ctx: Context, req: IncomingMessage): Promise<Reply> {
  const { method } = req;
  const url = req.url ?? '/';
  if (method !== 'GET') return plain(405, `method ${method ?? '?'} not allowed (only GET)`);
  const parts = segments(url);
  if (parts === undefined) return plain(400, 'malformed percent-encoding in path');
  const [head = '', ...args] = parts;
  const candidates = ROUTES.filter((r) => r.path === head);
  const match = candidates.find((r) => args.length >= r.minArgs && args.length <= r.maxArgs);
  if (match !== undefined) {
    const admin = typeof match.admin === 'function' ? match.admin(args) : match.admin === true;
    const refusal = admin ? adminRefusal(ctx.guard, req.socket.remoteAddress, req.headers.authorization) : undefined;
    if (refusal !== undefined) {
      ctx.refused(url, req.socket.remoteAddress, refusal);
      return plain(403, `forbidden: /${head}: ${refusal}`);
    }
    return match.run(ctx, args);
  }
  const withArgs = candidates.find((r) => r.maxArgs > 0);
  if (withArgs !== undefined) return plain(400, `usage: ${withArgs.usage}`);
  return plain(404, `not found: ${url.split('?', 1)[0]} (see /help)`);
}

function send(res: ServerResponse, reply: Reply): void {
  const body = Buffer.from(reply.body, 'utf8');
  res.statusCode = reply.status;
  res.setHeader('Content-Type', reply.contentType);
  res.setHeader('Content-Length', body.length);
  if (reply.status === 405) res.setHeader('Allow', 'GET');
  res.end(body);
}

async function handle(ctx: Context, logger: StatsLogger | undefined, req: IncomingMessage, res: ServerResponse) {
  let reply: Reply;
  try {
    reply = await route(ctx, req);
  } catch (err) {
    if (err instanceof BadRequest) {
      reply = plain(400, err.message);
    } else {
      logger?.error({ err, url: req.url }, 'stats endpoint handler failed');
      reply = plain(500, `internal error: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  send(res, reply);
}

/** Listen on `listen` and serve the stats and admin paths until close(). */
export async function startStatsServer(opts: StatsServerOptions): Promise<StatsServer> {
  const { stats, admin, logger } = opts;
  const ctx: Context = {
    guard: opts.guard ?? {},
    refused: (url, from, reason) => logger?.warn({ url: url.split('?', 1)[0], from, reason }, 'stats endpoint: admin request refused'),
    stats,
    admin,
    metrics: createMetrics(stats),
    log: (msg, fields) => logger?.info(fields, `stats endpoint: ${msg}`),
  };
  const server: Server = createServer((req, res) => {
    void handle(ctx, logger, req, res);
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new Error(`stats_listen ${opts.listen.host}:${opts.listen.port}: ${err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(opts.listen.port, opts.listen.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => logger?.error({ err }, 'stats endpoint error'));
  const address = server.address() as AddressInfo;
  logger?.info({ host: address.address, port: address.port }, 'stats endpoint listening');
  return {
    host: address.address,
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
