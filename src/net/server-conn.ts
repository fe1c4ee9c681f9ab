// One connection to the datastore (Redis or memcached). Two queues, as twemproxy has them: bytes to
// write (an OutBuffer flushed once per turn) and requests in flight (FIFO: the datastore answers in
// order, so the n-th reply belongs to the n-th request sent). The reply framer runs once per read.
//
// A timed-out request poisons the FIFO (its late reply would be taken for the next request's), so a
// timeout fails everything in flight and reconnects: the same rule twemproxy follows.
import { connect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { LinkSocket } from './transport.js';
import { ABI } from '../wasm/abi.js';
import type { Core } from '../wasm/core.js';
import { Framer, FramingError, setReplyDigests, type FrameSink } from '../wasm/framer.js';
import type { DynErrorCode } from '../errors.js';
import type { ReplyTarget } from '../dispatch/request.js';
import type { Flushable, Flusher } from './flusher.js';
import { OutBuffer } from './out-buffer.js';
import { NumberFifo, Fifo } from './fifo.js';
import { NO_REPLY } from '../protocol/replies.js';

export interface ServerConnEvents {
  onUp(conn: ServerConn): void;
  onDown(conn: ServerConn, why: string): void;
  onTimeout?(conn: ServerConn, requests: number): void;
  onReply?(conn: ServerConn, latencyUs: number, bytes: number): void;
}

export interface ServerConnOptions {
  host: string;
  port: number;
  protocol: 'redis' | 'memcache';
  /** Per-request timeout in ms (Netflix `timeout`). */
  timeoutMs: number;
  /** Sent as AUTH right after connecting (Netflix `redis_requirepass`). */
  password?: string;
  maxMessage: number;
  /** Opens the connection instead of TCP to host:port (a datastore reached over the caller's own stream). */
  connect?: () => LinkSocket;
  /** TLS to the datastore (datastore_tls): the options of each new connection. */
  tls?: () => ConnectionOptions;
}

/** Internal requests (AUTH) have no target: their reply is checked here. */
const INTERNAL = null;

/** The replies of a block that nobody reads (MULTI's +OK, the +QUEUED ones, an internal UNWATCH). */
const SKIP: ReplyTarget = { complete: () => undefined, completeBuffer: () => undefined, fail: () => undefined };

export class ServerConn implements FrameSink, Flushable {
  flushQueued = false;
  private socket: LinkSocket | undefined;
  private out: OutBuffer | undefined;
  private framer: Framer | undefined;
  private readonly targets = new Fifo<ReplyTarget | null>(256);
  private readonly seqs = new NumberFifo(256);
  private readonly sentAt = new NumberFifo(256);
  /** Requests in flight whose target reads reply digests (the fan-out's). */
  private digestReaders = 0;
  /** Whether the reply framer digests replies (connReset's default: on). */
  private digesting = true;
  /** 'down' until connected; 'connecting' queues requests; 'up' sends them. */
  state: 'down' | 'connecting' | 'up' = 'down';
  private closing = false;
  /** Times the connection was lost: connection state (WATCH) set before a change is gone. */
  epoch = 0;

  constructor(
    private readonly core: Core,
    private readonly opts: ServerConnOptions,
    private readonly flusher: Flusher,
    private readonly events: ServerConnEvents,
  ) {}

  get name(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  get inflight(): number {
    return this.targets.length;
  }

  /** Opens the connection; resolves when connected (and authenticated), rejects on failure. */
  open(): Promise<void> {
    if (this.state !== 'down') return Promise.resolve();
    this.state = 'connecting';
    const { host, port } = this.opts;
    const tls = this.opts.connect === undefined ? this.opts.tls?.() : undefined;
    const socket = this.opts.connect?.() ?? (tls ? tlsConnect({ ...tls, host, port }) : connect({ host, port }));
    // Over TLS the connection is up once the handshake (and the certificate check) succeeded.
    const ready = tls ? 'secureConnect' : 'connect';
    socket.setNoDelay(true);
    this.socket = socket;
    this.out = new OutBuffer(socket);
    this.framer = new Framer(this.core, this.opts.protocol === 'redis' ? 'resp-reply' : 'mc-reply', this.opts.maxMessage);
    this.digesting = true;
    if (this.opts.password !== undefined) this.sendAuth(this.opts.password);
    return new Promise((resolve, reject) => {
      let settled = false;
      socket.once(ready, () => {
        this.state = 'up';
        settled = true;
        this.events.onUp(this);
        resolve();
      });
      // Events of a socket that was already replaced (reconnect) must not touch the new one.
      socket.on('data', (chunk: Buffer) => {
        if (socket === this.socket) this.onData(chunk);
      });
      socket.on('error', (err: Error) => {
        if (!settled) {
          settled = true;
          reject(err);
        }
        if (socket === this.socket) this.teardown('STORAGE_ERR_REFUSED', err.message);
      });
      socket.on('close', () => {
        if (!settled) {
          settled = true;
          reject(new Error('connection closed'));
        }
        // A datastore that dies mid-request closes (FIN) or resets (RST, the 'error' above), which
        // one is a race of who had unread bytes; clients must see one answer either way, and Netflix's
        // is `Storage: Datastore refused connection` for every request lost with the connection.
        if (socket === this.socket) this.teardown('STORAGE_ERR_REFUSED', 'connection closed');
      });
    });
  }

  private sendAuth(password: string): void {
    const pw = Buffer.from(password);
    const cmd = Buffer.concat([Buffer.from(`*2\r\n$4\r\nAUTH\r\n$${pw.length}\r\n`), pw, Buffer.from('\r\n')]);
    this.out!.appendBuffer(cmd);
    this.targets.push(INTERNAL);
    this.seqs.push(0);
    this.sentAt.push(performance.now());
    this.flusher.mark(this);
  }

  /** Queues request bytes core.u8[off, off+len) for target's slot seq. */
  send(target: ReplyTarget, seq: number, off: number, len: number, expectReply: boolean): void {
    this.out!.append(this.core.u8, off, len);
    if (expectReply) {
      if (target.readsDigests) this.digestReaders++;
      this.targets.push(target);
      this.seqs.push(seq);
      this.sentAt.push(performance.now());
    } else {
      target.completeBuffer(seq, NO_REPLY);
    }
    this.flusher.mark(this);
  }

  /**
   * Queues the requests of `block` as one write; the last one's reply goes to target's slot seq,
   * the others' are dropped (a transaction: MULTI, the commands, EXEC). A block of one request
   * whose reply nobody wants (UNWATCH before the connection is reused) takes target undefined.
   */
  sendBlock(target: ReplyTarget | undefined, seq: number, block: readonly Buffer[]): void {
    const now = performance.now();
    for (let i = 0; i < block.length; i++) {
      this.out!.appendBuffer(block[i]!);
      this.targets.push(i === block.length - 1 && target !== undefined ? target : SKIP);
      this.seqs.push(seq);
      this.sentAt.push(now);
    }
    this.flusher.mark(this);
  }

  flush(): void {
    this.out?.flush();
  }

  private onData(chunk: Buffer): void {
    // Digest replies only while someone compares them: none in single-node or DC_ONE traffic.
    const digest = this.digestReaders > 0;
    if (digest !== this.digesting) {
      setReplyDigests(this.core, this.framer!, digest);
      this.digesting = digest;
    }
    try {
      this.framer!.feed(chunk, this);
    } catch (err) {
      if (!(err instanceof FramingError)) throw err;
      // The datastore spoke something we cannot frame: nothing after this point can be matched.
      this.socket?.destroy();
      this.teardown('STORAGE_ERR_CLOSED', `unparseable reply: ${err.reason} at byte ${err.position}`);
    }
  }

  onFrames(_f: Framer, base: number, count: number): void {
    const i32 = this.core.i32;
    const recBase = this.core.recPtr >> 2;
    const u8 = this.core.u8;
    const now = performance.now();
    for (let i = 0; i < count; i++) {
      const r = recBase + i * ABI.REC_WORDS;
      const start = base + i32[r + ABI.REC_START];
      const len = i32[r + ABI.REC_LEN];
      if (this.targets.length === 0) {
        // A reply nobody asked for: the stream is out of step.
        this.socket?.destroy();
        this.teardown('STORAGE_ERR_CLOSED', 'unexpected reply from datastore');
        return;
      }
      const target = this.targets.shift()!;
      const seq = this.seqs.shift();
      const sent = this.sentAt.shift();
      if (target === INTERNAL) {
        if (u8[start] === 45 /* '-' */) {
          const text = this.core.buf.toString('latin1', start, start + Math.min(len, 200)).trim();
          this.socket?.destroy();
          this.teardown('STORAGE_ERR_REFUSED', `AUTH failed: ${text}`);
          return;
        }
        continue;
      }
      this.events.onReply?.(this, (now - sent) * 1000, len);
      if (target.readsDigests) {
        this.digestReaders--;
        // The framer digested this call's replies (a reader was in flight when it was fed).
        target.complete(seq, u8, start, len, this.digesting ? r : undefined);
      } else {
        target.complete(seq, u8, start, len);
      }
    }
  }

  /** Fails every request in flight whose deadline passed; returns true when it had to reconnect. */
  checkTimeouts(now: number): boolean {
    if (this.targets.length === 0 || now - this.sentAt.peek() < this.opts.timeoutMs) return false;
    this.events.onTimeout?.(this, this.targets.length);
    this.socket?.destroy();
    this.teardown('STORAGE_ERR_TIMEOUT', `request timed out after ${this.opts.timeoutMs} ms`);
    return true;
  }

  private teardown(code: DynErrorCode, why: string): void {
    if (this.state === 'down' && this.targets.length === 0) return;
    this.state = 'down';
    this.epoch++;
    this.socket = undefined;
    this.framer?.close();
    this.framer = undefined;
    this.out?.reset();
    this.digestReaders = 0;
    // Everything in flight fails in order; clients see the Storage error in each slot.
    while (this.targets.length > 0) {
      const t = this.targets.shift()!;
      const seq = this.seqs.shift();
      this.sentAt.shift();
      if (t !== INTERNAL) t.fail(seq, code);
    }
    if (!this.closing) this.events.onDown(this, why);
  }

  /** Closes for good (node shutdown). */
  close(): void {
    this.closing = true;
    this.socket?.destroy();
    this.teardown('STORAGE_ERR_CLOSED', 'closing');
  }
}
