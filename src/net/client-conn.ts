// One client connection: socket -> framer (one WASM call per read) -> per-request decision ->
// dispatcher, and replies back in request order through a sequence-numbered reply queue (the whole
// chain: src/dispatch/request.ts). Per record, onFrames answers a framer error (unknown,
// unsupported, arity ...) or a pseudo-command (DYNO_CONFIG:*, QUIT) in its slot itself, and
// dispatches everything else.
//
// Replies may complete out of order (several datastore connections, peers); the queue holds early
// ones until every earlier slot is answered. Memory is bounded: reading pauses while too many
// requests are pending or the socket's unsent bytes pass the high-water mark, and the check is made
// before every request, not once per read: one 64 KB read holds ~2,500 pipelined GETs, and answering
// all of them for a client that does not read would buffer 2,500 values (GBs for 1 MB values).
// Requests framed past the mark wait as raw bytes (a few bytes each) until the socket drains:
//
//   framed batch: [ dispatched ... ][ mark passed: deferred (copied out of staging) ]
//   later reads:  waiting[] (behind the deferred bytes; reading is paused, so normally empty)
//   on drain:     replay deferred through a second framer, then waiting[], then resume reading
import type { Socket } from 'node:net';
import { CONSISTENCY_LEVELS, type ConsistencyLevel } from '../conf/types.js';
import { ABI } from '../wasm/abi.js';
import type { Core } from '../wasm/core.js';
import { Framer, FramingError, type FrameSink } from '../wasm/framer.js';
import { type DynErrorCode, mcError, respError, respErrorText } from '../errors.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import type { FramedRequest, ReplyTarget } from '../dispatch/request.js';
import type { NodeControl } from '../control.js';
import type { Flushable, Flusher } from './flusher.js';
import { OutBuffer } from './out-buffer.js';
import { ReplyQueue, type ReplyQueueOwner } from './reply-queue.js';
import { requestError } from './request-error.js';
import { NumberRing } from './ring.js';
import { NO_REPLY, REPLY_OK } from '../protocol/replies.js';

export type ClientProtocol = 'redis' | 'memcache';
export type Consistency = ConsistencyLevel;
const LEVELS = CONSISTENCY_LEVELS;

/** What a client connection needs from its node. */
export interface ClientContext {
  readonly core: Core;
  readonly dispatcher: Dispatcher;
  readonly flusher: Flusher;
  readonly protocol: ClientProtocol;
  readonly maxMessage: number;
  /** Called once when the connection is gone. */
  onClosed(conn: ClientConn): void;
  /** Run-time settings: consistency levels, node state. */
  readonly control: NodeControl;
  /** Counts a request (for stats): its command id, read or write, and its bytes. */
  onRequest?(cmd: number, isWrite: boolean, bytes: number): void;
  /** A request was answered after `us` microseconds. */
  onLatency?(us: number): void;
  onProtocolError?(conn: ClientConn, err: FramingError): void;
  /** FT.* commands (the search layer); absent: they go to the dispatcher like any command. */
  readonly search?: { handle(target: ReplyTarget, seq: number, req: FramedRequest): void };
}

/**
 * Pause reading above this many unanswered requests, resume below half. Together with HIGH_WATER this
 * bounds a client that stops reading: at most MAX_PENDING plus one read's worth of requests are in
 * flight for it, and its unsent replies stop growing once reading is paused.
 */
const MAX_PENDING = 1024;
/** Pause reading while the socket holds more unsent bytes than this. */
const HIGH_WATER = 8 * 1024 * 1024;

export class ClientConn implements FrameSink, ReplyTarget, Flushable, ReplyQueueOwner {
  flushQueued = false;
  readonly id: number;
  private readonly framer: Framer;
  private readonly out: OutBuffer;
  /** Replies, written in request order. */
  private readonly replies = new ReplyQueue(this);
  /** When each unanswered request arrived (performance.now()), parallel to the reply slots. */
  private readonly started = new NumberRing(64);
  /** Slot after which the connection closes (QUIT), or -1. */
  private quitSeq = -1;
  private paused = false;
  private closed = false;
  /** Complete requests framed while over the limits, not dispatched yet (see the header). */
  private deferred: Buffer | undefined;
  /** Chunks read after `deferred` was set; they follow it. */
  private waiting: Buffer[] | undefined;
  /** A protocol error found after `deferred` was set: answered once the deferred requests are. */
  private deferredError: FramingError | undefined;
  /** Frames `deferred` again (lazily created: only clients that hit the limits have one). */
  private replayer: Framer | undefined;
  private replayQueued = false;
  /** The client half-closed (sent FIN): answer what it sent, then close. */
  private eof = false;
  private readonly replayNow = (): void => this.replay();
  /** Per-connection consistency set by DYNO_CONFIG:CONN_CONSISTENCY, or undefined for the node's. */
  consistency: Consistency | undefined;
  private readonly req: FramedRequest = { off: 0, len: 0, rec: 0, base: 0, expectReply: true, inline: false };

  constructor(
    readonly socket: Socket,
    private readonly ctx: ClientContext,
    id: number,
  ) {
    this.id = id;
    this.framer = new Framer(ctx.core, ctx.protocol === 'redis' ? 'resp-request' : 'mc-request', ctx.maxMessage);
    this.out = new OutBuffer(socket);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.maybeResume());
    // A client may write its requests and half-close (`printf ... | nc -N`, scripts): like redis, we
    // still answer what it sent. Without this Node ends our side at its FIN, and replies that come
    // back from the datastore afterwards are lost (write after end) and the socket destroyed.
    socket.allowHalfOpen = true;
    socket.on('end', () => {
      this.eof = true;
      this.finishIfEof();
    });
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
  }

  /** Unanswered requests. */
  get pending(): number {
    return this.replies.pending;
  }

  /** Requests not yet answered, or held back by backpressure and not yet dispatched (shutdown drains these). */
  get busy(): boolean {
    return this.pending > 0 || this.deferred !== undefined || (this.waiting !== undefined && this.waiting.length > 0);
  }

  private onData(chunk: Buffer): void {
    if (this.closed || this.quitSeq >= 0) return;
    if (this.deferred !== undefined || this.deferredError !== undefined) {
      // Bytes that arrived after requests we deferred: they wait behind them.
      (this.waiting ??= []).push(chunk);
      return;
    }
    try {
      this.framer.feed(chunk, this);
    } catch (err) {
      if (!(err instanceof FramingError)) throw err;
      if (this.deferred !== undefined) this.deferredError = err; // answered after the deferred requests
      else this.protocolError(err);
      return;
    }
    this.ctx.flusher.mark(this);
    if (!this.paused && this.overLimits()) this.pause();
  }

  private overLimits(): boolean {
    return this.pending > MAX_PENDING || this.socket.writableLength + this.out.pending > HIGH_WATER;
  }

  private pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  onFrames(_f: Framer, base: number, count: number): void {
    const i32 = this.ctx.core.i32;
    const recBase = this.ctx.core.recPtr >> 2;
    for (let i = 0; i < count; i++) {
      const r = recBase + i * ABI.REC_WORDS;
      if (this.deferred !== undefined || this.overLimits()) {
        this.defer(base, r, recBase + (count - 1) * ABI.REC_WORDS);
        return;
      }
      const start = base + i32[r + ABI.REC_START];
      const len = i32[r + ABI.REC_LEN];
      const flags = i32[r + ABI.REC_FLAGS];
      const argc = i32[r + ABI.REC_ARGC];
      if (argc === 0) continue; // empty multibulk: Redis ignores it, so do we
      const seq = this.openSlot();
      const err = i32[r + ABI.REC_ERR];
      if (err !== ABI.ERR_NONE) {
        // memcached says nothing at all to a `noreply` request, errors included.
        const silent = this.ctx.protocol === 'memcache' && (flags & ABI.MF_NOREPLY) !== 0;
        this.completeBuffer(seq, silent ? NO_REPLY : this.requestError(err, r, base));
        continue;
      }
      if ((flags & ABI.CF_PSEUDO) !== 0) {
        this.pseudo(seq, flags, r, base);
        continue;
      }
      const req = this.req;
      req.off = start;
      req.len = len;
      req.rec = r;
      req.base = base;
      req.expectReply = (flags & ABI.MF_NOREPLY) === 0;
      req.inline = (flags & ABI.MF_INLINE) !== 0;
      const isWrite = (flags & ABI.CF_WRITE) !== 0;
      this.ctx.onRequest?.(i32[r + ABI.REC_CMD], isWrite, len);
      if (!this.ctx.control.allows(isWrite)) {
        this.fail(seq, 'DYN_ERR_STATE');
        continue;
      }
      if ((flags & ABI.CF_SEARCH) !== 0 && this.ctx.search !== undefined) {
        this.ctx.search.handle(this, seq, req);
        continue;
      }
      const level = this.consistency ?? (isWrite ? this.ctx.control.writeConsistency : this.ctx.control.readConsistency);
      this.ctx.dispatcher.dispatch(this, seq, req, this.id, level);
    }
  }

  /**
   * Keeps the requests of records first..last (core.i32 indexes) as raw bytes, to be framed again
   * once the socket drains. Slow path only: it allocates.
   */
  private defer(base: number, first: number, last: number): void {
    const i32 = this.ctx.core.i32;
    const from = base + i32[first + ABI.REC_START];
    const to = base + i32[last + ABI.REC_START] + i32[last + ABI.REC_LEN];
    const bytes = Buffer.from(this.ctx.core.buf.subarray(from, to));
    this.deferred = this.deferred === undefined ? bytes : Buffer.concat([this.deferred, bytes]);
    if (!this.paused) this.pause();
  }

  /**
   * Dispatches the deferred requests, then the chunks that waited behind them, then resumes reading;
   * stops again wherever the limits are hit. Runs from setImmediate or 'drain', never inside a framing
   * call: framing here reuses the core's staging area, which the caller may still be reading.
   */
  private replay(): void {
    this.replayQueued = false;
    if (this.closed) return;
    const d = this.deferred;
    if (d !== undefined) {
      if (this.overLimits()) return;
      this.deferred = undefined;
      this.replayer ??= new Framer(this.ctx.core, this.ctx.protocol === 'redis' ? 'resp-request' : 'mc-request', this.ctx.maxMessage);
      this.replayer.feed(d, this); // complete messages only: it cannot fail or keep a tail
      this.ctx.flusher.mark(this);
      if (this.deferred !== undefined) return; // hit the limits again: wait for the next drain
    }
    while (this.waiting !== undefined && this.waiting.length > 0 && this.deferred === undefined && !this.closed) {
      this.onData(this.waiting.shift()!);
    }
    if (this.deferred !== undefined || this.closed) return;
    this.waiting = undefined;
    const err = this.deferredError;
    if (err !== undefined) {
      this.deferredError = undefined;
      this.protocolError(err);
      return;
    }
    if (this.eof) this.finishIfEof();
    else this.maybeResume();
  }

  /** After the client's FIN: close once every request it sent is answered (QUIT's path). */
  private finishIfEof(): void {
    if (this.closed || this.quitSeq >= 0) return; // already closing after QUIT or a protocol error
    if (this.deferred !== undefined || this.waiting !== undefined || this.deferredError !== undefined) return; // replay() calls again
    if (this.pending === 0) this.finishQuit();
    else this.quitSeq = this.replies.nextSeq - 1; // close right after the last reply
  }

  /** The error reply for a request the framer flagged. */
  private requestError(err: number, r: number, base: number): Buffer {
    return requestError(this.ctx.protocol, this.ctx.core, err, r, base);
  }

  /** Commands the proxy answers itself. */
  private pseudo(seq: number, flags: number, r: number, base: number): void {
    if ((flags & ABI.CF_QUIT) !== 0) {
      this.quitSeq = seq;
      // memcached's quit closes without a reply; Redis's QUIT answers +OK first.
      this.completeBuffer(seq, this.ctx.protocol === 'redis' ? REPLY_OK : NO_REPLY);
      return;
    }
    // DYNO_CONFIG:CONN_CONSISTENCY <level>
    const core = this.ctx.core;
    const off = core.i32[r + ABI.REC_ARG1_OFF];
    const len = core.i32[r + ABI.REC_ARG1_LEN];
    const level = off < 0 ? '' : core.buf.toString('latin1', base + off, base + off + Math.min(len, 64)).toUpperCase();
    const found = LEVELS.find((l) => l === level);
    if (!found) {
      this.completeBuffer(seq, respErrorText(`Dynomite: invalid consistency level '${level}'`));
      return;
    }
    this.consistency = found;
    this.completeBuffer(seq, REPLY_OK);
  }

  /** A reply slot for the next request, its receive time noted for the latency histogram. */
  private openSlot(): number {
    this.started.push(performance.now());
    return this.replies.open();
  }

  complete(seq: number, src: Uint8Array, off: number, len: number): void {
    if (!this.closed) this.replies.complete(seq, src, off, len);
  }

  completeBuffer(seq: number, b: Buffer): void {
    if (!this.closed) this.replies.completeBuffer(seq, b);
  }

  fail(seq: number, code: DynErrorCode): void {
    this.completeBuffer(seq, this.ctx.protocol === 'redis' ? respError(code) : mcError(code));
  }

  // ---- ReplyQueueOwner: called by this.replies only ----

  writeReply(src: Uint8Array, off: number, len: number): void {
    this.out.append(src, off, len);
  }

  /** Closes after QUIT's reply (or a protocol error's); else notes the request's latency, receive to reply. */
  releaseHead(seq: number): boolean {
    if (seq === this.quitSeq) {
      this.finishQuit();
      return false;
    }
    const t0 = this.started.shift();
    this.ctx.onLatency?.((performance.now() - t0) * 1000);
    return true;
  }

  repliesWritten(): void {
    this.ctx.flusher.mark(this);
    if (this.paused) this.maybeResume();
  }

  private finishQuit(): void {
    this.out.flush();
    this.socket.end();
    this.closed = true;
    this.cleanup();
  }

  private maybeResume(): void {
    if (!this.paused || this.closed || this.pending >= MAX_PENDING / 2 || this.socket.writableLength >= HIGH_WATER / 2) return;
    if (this.deferred !== undefined || this.waiting !== undefined || this.deferredError !== undefined) {
      // Deferred requests go first; replay() resumes reading when they are all dispatched. Never
      // replay synchronously: this may run inside another connection's framing call.
      if (!this.replayQueued) {
        this.replayQueued = true;
        setImmediate(this.replayNow);
      }
      return;
    }
    this.paused = false;
    this.socket.resume();
  }

  flush(): void {
    if (!this.closed) this.out.flush();
  }

  private protocolError(err: FramingError): void {
    this.ctx.onProtocolError?.(this, err);
    // Everything framed before the error is still answered (in order); then the error; then close.
    const text = this.ctx.protocol === 'redis'
      ? respErrorText(`Protocol error: ${err.reason}`)
      : Buffer.from(`CLIENT_ERROR ${err.reason}\r\n`);
    const seq = this.openSlot();
    this.quitSeq = seq;
    this.completeBuffer(seq, text);
  }

  /** Closes the connection now, dropping pending replies. */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.cleanup();
  }

  private cleanup(): void {
    this.framer.close();
    this.replayer?.close();
    this.deferred = undefined;
    this.waiting = undefined;
    this.deferredError = undefined;
    this.out.reset();
    this.replies.clear();
    this.started.clear();
    this.ctx.onClosed(this);
  }
}
