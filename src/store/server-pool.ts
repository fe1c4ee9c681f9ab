// The datastore behind a node (Redis or memcached): `datastore_connections` connections to the one
// server, reconnect with backoff, fail-fast while down, Netflix's auto-eject rules.
//
// A client always uses the same connection (affinity = client id), so its requests reach the
// datastore in order and replies come back in order without reordering work.
import type { Logger } from 'pino';
import type { Core } from '../wasm/core.js';
import type { Flusher } from '../net/flusher.js';
import { ServerConn, type ServerConnEvents } from '../net/server-conn.js';
import type { Backend, BlockBackend, FramedRequest, ReplyTarget } from '../dispatch/request.js';
import type { LinkSocket } from '../net/transport.js';
import type { ConnectionOptions } from 'node:tls';

export interface ServerPoolOptions {
  host: string;
  port: number;
  protocol: 'redis' | 'memcache';
  connections: number;
  timeoutMs: number;
  password?: string;
  preconnect: boolean;
  autoEject: boolean;
  /** Consecutive failures before the server is ejected (Netflix `server_failure_limit`). */
  failureLimit: number;
  /** How long an ejected server stays out (Netflix `server_retry_timeout`). */
  retryTimeoutMs: number;
  maxMessage: number;
  /** Opens each connection instead of TCP to host:port (see ServerConnOptions.connect). */
  connect?: () => LinkSocket;
  /** TLS to the datastore (see ServerConnOptions.tls). */
  tls?: () => ConnectionOptions;
}

export interface ServerPoolHooks {
  onEject?(): void;
  onTimeout?(requests: number): void;
  onError?(why: string): void;
  onReply?(latencyUs: number, bytes: number): void;
}

const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 2000;

/**
 * Connections reserved for transacting clients (WATCH ... EXEC), at most this many per datastore
 * at once; a WATCH beyond it is refused. Each is a connection of its own beside the shared ones.
 */
export const MAX_PINNED = 128;
/** Reserved connections handed back are kept open for the next WATCH, up to this many. */
const SPARE_PINNED = 8;

const UNWATCH = Buffer.from('*1\r\n$7\r\nUNWATCH\r\n', 'latin1');

/** A connection reserved for one client. */
interface Pin {
  readonly conn: ServerConn;
  /** conn.epoch when reserved: a reconnect since then lost the client's WATCH. */
  readonly epoch: number;
  /** unpin() was called: handed back as soon as nothing sent on it is unanswered. */
  releasing: boolean;
}

export class ServerPool implements Backend, ServerConnEvents, BlockBackend {
  readonly name: string;
  private readonly conns: ServerConn[];
  readonly blocks: BlockBackend | undefined;
  /** Reserved connections by client affinity (transactions with WATCH). */
  private readonly pins = new Map<number, Pin>();
  /** Reserved connections handed back and still open. */
  private readonly spare: ServerConn[] = [];
  /** Every reserved or spare connection (timeouts, close). */
  private readonly dedicated = new Set<ServerConn>();
  private readonly dedicatedEvents: ServerConnEvents;
  private failures = 0;
  /** While now < ejectedUntil requests fail fast. */
  private ejectedUntil = 0;
  private readonly backoff: number[];
  private readonly reconnectTimers: (NodeJS.Timeout | undefined)[];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** When each connection last went down (0 = never). Requests fail fast while it stays down. */
  private readonly downSince: number[];

  constructor(
    private readonly core: Core,
    private readonly opts: ServerPoolOptions,
    private readonly flusher: Flusher,
    private readonly log: Logger,
    private readonly hooks: ServerPoolHooks = {},
  ) {
    this.name = `${opts.host}:${opts.port}`;
    const n = Math.max(1, opts.connections);
    this.conns = [];
    for (let i = 0; i < n; i++) {
      this.conns.push(new ServerConn(core, {
        host: opts.host, port: opts.port, protocol: opts.protocol, timeoutMs: opts.timeoutMs,
        password: opts.password, maxMessage: opts.maxMessage, connect: opts.connect, tls: opts.tls,
      }, flusher, this));
    }
    this.blocks = opts.protocol === 'redis' ? this : undefined;
    // A reserved connection is not one of the pool's: it never reconnects (its WATCH would be gone).
    this.dedicatedEvents = {
      onUp: () => undefined,
      onDown: (conn, why) => {
        this.hooks.onError?.(why);
        this.dedicated.delete(conn);
        const at = this.spare.indexOf(conn);
        if (at >= 0) this.spare.splice(at, 1);
      },
      onTimeout: (_c, n) => this.hooks.onTimeout?.(n),
      onReply: (conn, us, bytes) => {
        this.hooks.onReply?.(us, bytes);
        if (conn.inflight === 0) this.settle();
      },
    };
    this.backoff = this.conns.map(() => BACKOFF_MIN_MS);
    this.reconnectTimers = this.conns.map(() => undefined);
    this.downSince = this.conns.map(() => 0);
  }

  async start(): Promise<void> {
    // One coarse clock for every request deadline (no timer per request).
    const tick = Math.max(10, Math.min(100, this.opts.timeoutMs / 4));
    this.timer = setInterval(() => this.checkTimeouts(), tick);
    this.timer.unref();
    if (!this.opts.preconnect) return;
    await Promise.all(this.conns.map((c, i) => c.open().catch(() => this.scheduleReconnect(i))));
  }

  inflight(): number {
    let n = 0;
    for (const c of this.conns) n += c.inflight;
    return n;
  }

  /** False while the datastore is ejected, or every connection to it is down (waiting to reconnect). */
  get available(): boolean {
    if (Date.now() < this.ejectedUntil) return false;
    // Every connection down and waiting for its reconnect: requests would fail fast anyway.
    for (let i = 0; i < this.conns.length; i++) if (this.downSince[i] === 0) return true;
    return false;
  }

  forward(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number): void {
    if (this.closed || Date.now() < this.ejectedUntil) {
      target.fail(seq, 'STORAGE_ERR_REFUSED');
      return;
    }
    if (this.pins.size > 0) {
      const p = this.pinOf(affinity);
      if (p !== undefined && p.conn.state !== 'down') {
        p.conn.send(target, seq, req.off, req.len, req.expectReply);
        return;
      }
    }
    const i = affinity % this.conns.length;
    const c = this.conns[i];
    if (c.state === 'down') {
      if (this.downSince[i] !== 0) {
        // Down and waiting to reconnect: fail fast rather than queue behind a dead socket.
        target.fail(seq, 'STORAGE_ERR_REFUSED');
        return;
      }
      c.open().catch(() => undefined);
    }
    c.send(target, seq, req.off, req.len, req.expectReply);
  }

  // ---- BlockBackend: transactions ----

  forwardBlock(target: ReplyTarget, seq: number, block: readonly Buffer[], affinity: number): void {
    if (this.closed || Date.now() < this.ejectedUntil) {
      target.fail(seq, 'STORAGE_ERR_REFUSED');
      return;
    }
    const p = this.pins.size > 0 ? this.pinOf(affinity) : undefined;
    if (p !== undefined) {
      // The WATCH was sent on this connection: if it was lost since, so is the WATCH.
      if (p.conn.epoch !== p.epoch || p.conn.state === 'down') {
        target.fail(seq, 'STORAGE_ERR_CLOSED');
        return;
      }
      p.conn.sendBlock(target, seq, block);
      return;
    }
    const i = affinity % this.conns.length;
    const c = this.conns[i];
    if (c.state === 'down') {
      if (this.downSince[i] !== 0) {
        target.fail(seq, 'STORAGE_ERR_REFUSED');
        return;
      }
      c.open().catch(() => undefined);
    }
    c.sendBlock(target, seq, block);
  }

  pin(affinity: number): string | undefined {
    if (this.pinOf(affinity) !== undefined) return undefined;
    this.settle();
    let conn = this.spare.pop();
    if (conn === undefined) {
      if (this.dedicated.size >= MAX_PINNED) {
        return `ERR Dynomite: all ${MAX_PINNED} connections for WATCH to the datastore ${this.name} are in use`;
      }
      const o = this.opts;
      conn = new ServerConn(this.core, {
        host: o.host, port: o.port, protocol: o.protocol, timeoutMs: o.timeoutMs,
        password: o.password, maxMessage: o.maxMessage, connect: o.connect,
      }, this.flusher, this.dedicatedEvents);
      this.dedicated.add(conn);
      conn.open().catch(() => undefined); // a failure fails what was sent on it (the WATCH)
    }
    this.pins.set(affinity, { conn, epoch: conn.epoch, releasing: false });
    return undefined;
  }

  unpin(affinity: number): void {
    const p = this.pins.get(affinity);
    if (p === undefined || p.releasing) return;
    p.releasing = true;
    // Its WATCH (if no EXEC cleared it) must not outlive the client: the next one would inherit it.
    if (p.conn.state !== 'down' && p.conn.epoch === p.epoch) p.conn.sendBlock(undefined, 0, [UNWATCH]);
    this.settle();
  }

  pinned(): number {
    return this.pins.size;
  }

  /** affinity's reservation, or undefined (a released one whose requests are all answered is handed back here). */
  private pinOf(affinity: number): Pin | undefined {
    const p = this.pins.get(affinity);
    if (p === undefined || !p.releasing || (p.conn.inflight > 0 && p.conn.state !== 'down')) return p;
    this.handBack(affinity, p);
    return undefined;
  }

  /** Hands back every released reservation with nothing in flight. */
  private settle(): void {
    for (const [affinity, p] of this.pins) {
      if (p.releasing && (p.conn.inflight === 0 || p.conn.state === 'down')) this.handBack(affinity, p);
    }
  }

  private handBack(affinity: number, p: Pin): void {
    this.pins.delete(affinity);
    const c = p.conn;
    if (c.state !== 'down' && this.dedicated.has(c) && this.spare.length < SPARE_PINNED && !this.closed) {
      this.spare.push(c);
      return;
    }
    this.dedicated.delete(c);
    c.close();
  }

  onUp(conn: ServerConn): void {
    const i = this.conns.indexOf(conn);
    this.failures = 0;
    this.backoff[i] = BACKOFF_MIN_MS;
    this.downSince[i] = 0;
    this.log.info({ server: this.name, conn: i }, 'datastore connected');
  }

  onDown(conn: ServerConn, why: string): void {
    if (this.closed) return;
    const i = this.conns.indexOf(conn);
    this.failures++;
    this.hooks.onError?.(why);
    if (this.downSince[i] === 0) this.downSince[i] = Date.now();
    this.log.warn({ server: this.name, conn: i, why, failures: this.failures }, 'datastore connection down');
    if (this.opts.autoEject && this.failures >= this.opts.failureLimit && Date.now() >= this.ejectedUntil) {
      this.ejectedUntil = Date.now() + this.opts.retryTimeoutMs;
      this.hooks.onEject?.();
      this.log.warn({ server: this.name, retryMs: this.opts.retryTimeoutMs }, 'datastore ejected');
    }
    this.scheduleReconnect(i);
  }

  onTimeout(_conn: ServerConn, requests: number): void {
    this.hooks.onTimeout?.(requests);
  }

  onReply(_conn: ServerConn, latencyUs: number, bytes: number): void {
    this.hooks.onReply?.(latencyUs, bytes);
  }

  private scheduleReconnect(i: number): void {
    if (this.closed || this.reconnectTimers[i]) return;
    if (this.downSince[i] === 0) this.downSince[i] = Date.now();
    const delay = this.backoff[i];
    this.backoff[i] = Math.min(BACKOFF_MAX_MS, delay * 2);
    const t = setTimeout(() => {
      this.reconnectTimers[i] = undefined;
      if (this.closed) return;
      this.conns[i].open().then(
        () => undefined,
        () => undefined, // onDown already scheduled the next attempt
      );
    }, delay);
    t.unref();
    this.reconnectTimers[i] = t;
  }

  private checkTimeouts(): void {
    const now = performance.now();
    for (const c of this.conns) c.checkTimeouts(now);
    for (const c of this.dedicated) c.checkTimeouts(now);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const t of this.reconnectTimers) if (t) clearTimeout(t);
    for (const c of this.conns) c.close();
    for (const c of this.dedicated) c.close();
    this.dedicated.clear();
    this.pins.clear();
    this.spare.length = 0;
  }
}
