// One client connection: socket -> framer (one WASM call per read) -> per-request decision ->
// dispatcher, and replies back in request order through a sequence-numbered reply queue (the whole
// chain: src/dispatch/request.ts). Per record, onFrames answers in its slot itself a framer error
// (unknown, unsupported, arity ...), a refusal (NOAUTH before AUTH, NOPERM for a read-only user's
// write) or a pseudo-command (DYNO_CONFIG:*, QUIT, and the connection commands HELLO, AUTH, CLIENT
// ...: src/net/conn-commands.ts), and dispatches everything else.
//
// A connection that switched to RESP3 (HELLO 3) or CLIENT REPLY OFF/SKIP keeps one reply shape per
// slot (src/net/conn-shapes.ts), and each reply is converted as it is written, in order; every other
// connection writes the datastore's bytes untouched.
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
import type { LinkSocket } from './transport.js';
import { CONSISTENCY_LEVELS, type ConsistencyLevel } from '../conf/types.js';
import { ABI } from '../wasm/abi.js';
import type { Core } from '../wasm/core.js';
import { Framer, FramingError, type FrameSink, type ReadFlow } from '../wasm/framer.js';
import { DYN_ERRORS, type DynErrorCode, mcError, respError, respErrorText } from '../errors.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import type { FramedRequest, ReplyTarget } from '../dispatch/request.js';
import type { NodeControl } from '../control.js';
import type { Flushable, Flusher } from './flusher.js';
import { OutBuffer } from './out-buffer.js';
import { ReplyQueue, type ReplyQueueOwner } from './reply-queue.js';
import { requestError, requestName } from './request-error.js';
import { NumberFifo } from './fifo.js';
import { Session } from './session.js';
import { connCommand, FORWARD, SILENT, NOAUTH, noPerm, type ConnHandle, type MergeReply, type NodeView } from './conn-commands.js';
import { resolveShape } from './conn-shapes.js';
import { RS, toResp3 } from '../protocol/resp3.js';
import { decodeInline, decodeMultibulk } from '../protocol/args.js';
import { NO_REPLY, REPLY_OK } from '../protocol/replies.js';
import { PubSubHub, Subscriptions, subscriptionCommand, pubsubCommand, subscriberModeError, subscriberPing,
  type PubSubOp, type PushMessage, type Subscriber } from './pubsub.js';
import { encodeMultibulk } from '../protocol/args.js';
import {
  DISCARD_WITHOUT_MULTI, EXECABORT, EXEC_WITHOUT_MULTI, MULTI_NESTED, QUEUED, Resp3ExecTarget, Transaction,
  WATCH_IN_MULTI, notInTransaction,
} from './transaction.js';

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
  /** The node as connection commands see it (users, command table, INFO, CONFIG GET). */
  readonly node: NodeView;
  /** SH_* reply shape of every command id (the command table's column). */
  readonly replyShapes: readonly number[];
  /** Command id of DYNO_CONFIG:CONN_CONSISTENCY. */
  readonly dynoConfigCommand: number;
  /** Command ids allowed before AUTH (HELLO, AUTH, QUIT). */
  readonly noAuthCommands: ReadonlySet<number>;
  /** Command ids of MULTI, EXEC, DISCARD, WATCH, UNWATCH and ECHO (src/net/transaction.ts). */
  readonly txCommands?: TxCommandIds;
  /** FT.* commands (the search layer); absent: they go to the dispatcher like any command. */
  readonly search?: { handle(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number): void };
  /** Pub/sub (Redis protocol only): the node's registry and the relay to its peers. */
  readonly pubsub?: PubSubContext;
}

/** What the pub/sub commands need from the node (src/net/pubsub.ts, src/dispatch/publish.ts). */
export interface PubSubContext {
  readonly hub: PubSubHub;
  /** The pub/sub commands by command id. */
  readonly ops: ReadonlyMap<number, PubSubOp>;
  /** Command ids RESP2 subscriber mode allows besides the (un)subscribes. */
  readonly ping: number;
  readonly reset: number;
  readonly quit: number;
  /**
   * Relays a message to the other nodes; done(receivers there) once they all answered. Returns
   * false (done never runs) when there is no peer to relay to.
   */
  relay?(shard: boolean, channel: Buffer, message: Buffer, done: (receivers: number) => void): boolean;
  /** client-output-buffer-limit pubsub: bytes (0 = none) and seconds. */
  readonly limit: { readonly hard: number; readonly soft: number; readonly softSeconds: number };
  /** A subscriber was disconnected for passing the limit (for the log). */
  onLimit?(conn: ClientConn, bytes: number, which: 'hard' | 'soft'): void;
}

export interface TxCommandIds {
  readonly multi: number;
  readonly exec: number;
  readonly discard: number;
  readonly watch: number;
  readonly unwatch: number;
  /** Answered by the node outside a transaction, queued (for the datastore) inside one. */
  readonly echo: number;
}

/**
 * Pause reading above this many unanswered requests, resume below half. Together with HIGH_WATER this
 * bounds a client that stops reading: at most MAX_PENDING plus one read's worth of requests are in
 * flight for it, and its unsent replies stop growing once reading is paused.
 */
const MAX_PENDING = 1024;
/** Pause reading while the socket holds more unsent bytes than this. */
const HIGH_WATER = 8 * 1024 * 1024;

export class ClientConn implements FrameSink, ReplyTarget, Flushable, ReplyQueueOwner, ConnHandle, Subscriber, ReadFlow {
  flushQueued = false;
  readonly id: number;
  private readonly framer: Framer;
  private readonly out: OutBuffer;
  /** Replies, written in request order. */
  private readonly replies = new ReplyQueue(this);
  /** When each unanswered request arrived (performance.now()), parallel to the reply slots. */
  private readonly started = new NumberFifo(64);
  /** Slot after which the connection closes (QUIT), or -1. */
  private quitSeq = -1;
  private paused = false;
  /** Reading is paused by the framer: the mbuf pool cannot hold this client's large request yet. */
  private poolPaused = false;
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
  /** Protocol version, name, user, reply mode (HELLO, AUTH, CLIENT). */
  readonly session: Session;
  /** Requests must pass the user check (no user yet, or a read-only one). */
  private gated: boolean;
  /** Reply shape (RS.*) of each slot from seq shapeFrom on; undefined until the session needs them. */
  private shapes: NumberFifo | undefined;
  private shapeFrom = 0;
  /** Sequence number of the slot writeReply writes. */
  private headSeq = 0;
  /** Slot of the connection command being run (sessionChanged starts the shapes there). */
  private currentSeq = 0;
  /** Channels, patterns and shard channels subscribed to (created by the first SUBSCRIBE). */
  private subs: Subscriptions | undefined;
  /** RESP2 with at least one subscription: only (un)subscribes, PING, RESET and QUIT are allowed. */
  private subMode = false;
  /**
   * Messages that arrived while earlier replies were still outstanding: each leaves right after
   * the reply of slot `after` (the last command that ran before it), as Redis interleaves them.
   */
  private backlog: { after: number; b: Buffer }[] | undefined;
  private backlogBytes = 0;
  /** Since when the output has been over the soft limit (Date.now()), 0 when it is not. */
  private softSince = 0;
  /** True while this connection's own PUBLISH delivers (its slot is open but the command is running). */
  private publishing = false;
  /** MULTI / WATCH state; undefined until the client sends either. */
  private tx: Transaction | undefined;

  constructor(
    readonly socket: LinkSocket,
    private readonly ctx: ClientContext,
    id: number,
  ) {
    this.id = id;
    this.session = new Session(id, ctx.node.users, ctx.node.defaultUser);
    this.gated = ctx.protocol === 'redis' && this.session.gated;
    this.framer = new Framer(ctx.core, ctx.protocol === 'redis' ? 'resp-request' : 'mc-request', ctx.maxMessage, this);
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

  // ---- ReadFlow: the framer waits for mbufs (src/wasm/framer.ts) ----

  pauseReading(): void {
    this.poolPaused = true;
    this.socket.pause();
  }

  resumeReading(): void {
    this.poolPaused = false;
    if (!this.paused && !this.closed) this.socket.resume();
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
      if (this.tx?.multi === true && this.queue(seq, r, base, start, len, flags, err)) continue;
      if (err !== ABI.ERR_NONE) {
        // memcached says nothing at all to a `noreply` request, errors included.
        const silent = this.ctx.protocol === 'memcache' && (flags & ABI.MF_NOREPLY) !== 0;
        if (this.shapes !== undefined) this.shapes.push(this.ownShape());
        this.completeBuffer(seq, silent ? NO_REPLY : this.requestError(err, r, base));
        continue;
      }
      if (this.gated && this.refused(seq, flags, i32[r + ABI.REC_CMD], r, base)) continue;
      if (this.subMode && this.subscriberOnly(seq, i32[r + ABI.REC_CMD], r, base, start, len, flags)) continue;
      if ((flags & ABI.CF_PSEUDO) !== 0) {
        this.pseudo(seq, flags, r, base, start, len);
        continue;
      }
      if (this.shapes !== undefined) this.shapes.push(this.forwardShape(i32[r + ABI.REC_CMD], r, base, start, len, flags));
      this.forward(this, seq, r, base, start, len, flags);
    }
  }

  /** Sends request r on to the dispatcher, its reply to target's slot seq. */
  private forward(target: ReplyTarget, seq: number, r: number, base: number, start: number, len: number, flags: number): void {
    const req = this.req;
    req.off = start;
    req.len = len;
    req.rec = r;
    req.base = base;
    req.expectReply = (flags & ABI.MF_NOREPLY) === 0;
    req.inline = (flags & ABI.MF_INLINE) !== 0;
    const isWrite = (flags & ABI.CF_WRITE) !== 0;
    this.ctx.onRequest?.(this.ctx.core.i32[r + ABI.REC_CMD], isWrite, len);
    if (!this.ctx.control.allows(isWrite)) {
      target.fail(seq, 'DYN_ERR_STATE');
      return;
    }
    if ((flags & ABI.CF_SEARCH) !== 0 && this.ctx.search !== undefined) {
      this.ctx.search.handle(target, seq, req, this.id);
      return;
    }
    const level = this.consistency ?? (isWrite ? this.ctx.control.writeConsistency : this.ctx.control.readConsistency);
    this.ctx.dispatcher.dispatch(target, seq, req, this.id, level);
  }

  /**
   * For a gated connection: answers slot seq with NOAUTH (no user yet: only HELLO, AUTH and QUIT
   * pass) or NOPERM (a read-only user's write) and returns true; false lets the request through.
   */
  private refused(seq: number, flags: number, cmd: number, r: number, base: number): boolean {
    const user = this.session.user;
    let text: string;
    if (user === undefined) {
      if (this.ctx.noAuthCommands.has(cmd)) return false;
      text = NOAUTH;
    } else {
      // Read | write (PFCOUNT) is a read that is replicated: read-only users may run it.
      if ((flags & ABI.CF_WRITE) === 0 || (flags & ABI.CF_READ) !== 0) return false;
      text = noPerm(user.name, requestName(this.ctx.core, r, base).toLowerCase());
    }
    if (this.shapes !== undefined) this.shapes.push(this.ownShape());
    this.completeBuffer(seq, Buffer.from(`-${text}\r\n`, 'latin1'));
    return true;
  }

  /**
   * RESP2 subscriber mode: answers slot seq itself (PING's `*2 pong`, or Redis's refusal of any
   * other command) and returns true; false lets (un)subscribes, RESET and QUIT through.
   */
  private subscriberOnly(seq: number, cmd: number, r: number, base: number, start: number, len: number, flags: number): boolean {
    const ps = this.ctx.pubsub!;
    const op = ps.ops.get(cmd);
    if ((op !== undefined && op !== 'publish' && op !== 'spublish' && op !== 'pubsub') || cmd === ps.reset || cmd === ps.quit) return false;
    if (this.shapes !== undefined) this.shapes.push(this.ownShape());
    if (cmd === ps.ping) {
      const core = this.ctx.core;
      const args = (flags & ABI.MF_INLINE) !== 0 ? decodeInline(core.u8, start, len) ?? [] : decodeMultibulk(core.u8, start, len);
      this.completeBuffer(seq, subscriberPing(args));
    } else {
      // Redis names a subcommand with its container: 'client|id', 'config|get'.
      const core = this.ctx.core;
      let name = requestName(core, r, base).toLowerCase();
      const sub = core.i32[r + ABI.REC_ARG1_OFF];
      if ((flags & ABI.CF_SUBCMD) !== 0 && sub >= 0) {
        name += `|${core.buf.toString('latin1', base + sub, base + sub + Math.min(core.i32[r + ABI.REC_ARG1_LEN], 64)).toLowerCase()}`;
      }
      this.completeBuffer(seq, subscriberModeError(name));
    }
    return true;
  }

  /** Shape of a reply the node makes itself (already in the session's protocol), or SUPPRESS. */
  private ownShape(): number {
    const s = this.session;
    if (s.reply === 'on') return RS.NATIVE;
    if (s.reply === 'skip') s.reply = 'on';
    return RS.SUPPRESS;
  }

  /** Shape of a reply that comes from the datastore or the peers (RESP2). */
  private forwardShape(cmd: number, r: number, base: number, start: number, len: number, flags: number): number {
    const s = this.session;
    if (s.reply !== 'on') return this.ownShape();
    if (s.proto === 2) return RS.NATIVE;
    return resolveShape(this.ctx.core, this.ctx.replyShapes[cmd] ?? 0, r, base, start, len, (flags & ABI.MF_INLINE) !== 0);
  }

  // ---- ConnHandle: called by the connection commands ----

  sessionChanged(): void {
    const s = this.session;
    this.gated = s.gated;
    this.subMode = s.proto === 2 && (this.subs?.total ?? 0) > 0;
    if (this.shapes === undefined && (s.proto === 3 || s.reply !== 'on')) {
      this.shapes = new NumberFifo(64);
      this.shapeFrom = this.currentSeq;
    }
  }

  resetSettings(): void {
    this.consistency = undefined;
    this.endTx();
    // RESET leaves every channel and pattern, without a message for each (as Redis does).
    if (this.subs !== undefined) this.subs.clear(this.ctx.pubsub!.hub, this);
  }

  subscriptionCounts(): readonly [number, number, number] {
    const s = this.subs?.sets;
    return s === undefined ? [0, 0, 0] : [s[0].size, s[1].size, s[2].size];
  }

  // ---- pub/sub ----

  /** (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB. */
  private pubsubCommand(seq: number, op: PubSubOp, args: readonly Buffer[]): void {
    const ps = this.ctx.pubsub!;
    const proto = this.session.proto;
    if (op === 'pubsub') {
      this.completeBuffer(seq, pubsubCommand(ps.hub, proto, args));
      return;
    }
    if (op === 'publish' || op === 'spublish') {
      const shard = op === 'spublish';
      this.publishing = true;
      const here = ps.hub.deliver(shard, args[1]!, args[2]!);
      this.publishing = false;
      const relayed = ps.relay?.(shard, args[1]!, args[2]!, (there) => this.completeBuffer(seq, integer(here + there))) ?? false;
      if (!relayed) this.completeBuffer(seq, integer(here));
      return;
    }
    this.subs ??= new Subscriptions();
    const reply = subscriptionCommand(ps.hub, this.subs, this, proto, op, args);
    this.subMode = proto === 2 && this.subs.total > 0;
    this.completeBuffer(seq, reply);
  }

  /**
   * A published message for this connection. It leaves after the replies of the commands that ran
   * before it, and counts against client-output-buffer-limit pubsub: past the hard limit, or past
   * the soft limit for longer than its seconds, the connection is closed (as Redis does) instead
   * of buffering without bound for a client that does not read.
   */
  push(msg: PushMessage): void {
    if (this.closed) return;
    const b = msg.bytes(this.session.proto);
    if (this.overOutputLimit(b.length)) return;
    const after = this.publishing ? this.replies.nextSeq - 2 : this.replies.nextSeq - 1;
    if (after < this.headSeq) {
      this.out.append(b, 0, b.length);
      this.ctx.flusher.mark(this);
      return;
    }
    (this.backlog ??= []).push({ after, b });
    this.backlogBytes += b.length;
  }

  private overOutputLimit(adding: number): boolean {
    const lim = this.ctx.pubsub!.limit;
    const bytes = this.socket.writableLength + this.out.pending + this.backlogBytes + adding;
    let which: 'hard' | 'soft' | undefined;
    if (lim.hard > 0 && bytes > lim.hard) which = 'hard';
    else if (lim.soft > 0 && bytes > lim.soft) {
      const now = Date.now();
      if (this.softSince === 0) this.softSince = now;
      else if (now - this.softSince >= lim.softSeconds * 1000) which = 'soft';
    } else {
      this.softSince = 0;
    }
    if (which === undefined) return false;
    this.ctx.pubsub!.onLimit?.(this, bytes, which);
    this.destroy();
    return true;
  }

  /** Writes the messages held for slots up to seq (its reply was just written). */
  private releaseBacklog(seq: number): void {
    const q = this.backlog!;
    let i = 0;
    while (i < q.length && q[i]!.after <= seq) {
      const { b } = q[i++]!;
      this.out.append(b, 0, b.length);
      this.backlogBytes -= b.length;
    }
    if (i === q.length) this.backlog = undefined;
    else if (i > 0) q.splice(0, i);
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
  private pseudo(seq: number, flags: number, r: number, base: number, start: number, len: number): void {
    const t = this.ctx.txCommands;
    if (t !== undefined) {
      const cmd = this.ctx.core.i32[r + ABI.REC_CMD];
      if (cmd === t.multi || cmd === t.exec || cmd === t.discard || cmd === t.watch || cmd === t.unwatch) {
        this.txCommand(seq, cmd, t, r, base, start, len, flags);
        return;
      }
    }
    if ((flags & ABI.CF_QUIT) !== 0) {
      if (this.shapes !== undefined) this.shapes.push(this.ownShape());
      this.quitSeq = seq;
      // memcached's quit closes without a reply; Redis's QUIT answers +OK first.
      this.completeBuffer(seq, this.ctx.protocol === 'redis' ? REPLY_OK : NO_REPLY);
      return;
    }
    if (this.ctx.protocol === 'redis' && this.ctx.core.i32[r + ABI.REC_CMD] !== this.ctx.dynoConfigCommand) {
      this.nodeCommand(seq, flags, r, base, start, len);
      return;
    }
    if (this.shapes !== undefined) this.shapes.push(this.ownShape());
    // DYNO_CONFIG:CONN_CONSISTENCY <level>
    const core = this.ctx.core;
    const off = core.i32[r + ABI.REC_ARG1_OFF];
    const argLen = core.i32[r + ABI.REC_ARG1_LEN];
    const level = off < 0 ? '' : core.buf.toString('latin1', base + off, base + off + Math.min(argLen, 64)).toUpperCase();
    const found = LEVELS.find((l) => l === level);
    if (!found) {
      this.completeBuffer(seq, respErrorText(`Dynomite: invalid consistency level '${level}'`));
      return;
    }
    this.consistency = found;
    this.completeBuffer(seq, REPLY_OK);
  }

  /** HELLO, AUTH, CLIENT, SELECT, ECHO, RESET, COMMAND, INFO, CONFIG (src/net/conn-commands.ts). */
  private nodeCommand(seq: number, flags: number, r: number, base: number, start: number, len: number): void {
    const core = this.ctx.core;
    const inline = (flags & ABI.MF_INLINE) !== 0;
    const args = inline ? decodeInline(core.u8, start, len) ?? [] : decodeMultibulk(core.u8, start, len);
    this.currentSeq = seq;
    this.session.lastCommandAt = Date.now();
    const op = this.ctx.pubsub?.ops.get(core.i32[r + ABI.REC_CMD]);
    if (op !== undefined) {
      if (this.shapes !== undefined) this.shapes.push(this.ownShape());
      this.pubsubCommand(seq, op, args);
      return;
    }
    const reply = connCommand(this.ctx.node, this, args);
    if (reply === FORWARD) {
      if (this.shapes !== undefined) this.shapes.push(this.forwardShape(core.i32[r + ABI.REC_CMD], r, base, start, len, flags));
      this.forward(this, seq, r, base, start, len, flags);
    } else if (reply === SILENT) {
      if (this.shapes !== undefined) this.shapes.push(RS.SUPPRESS);
      this.completeBuffer(seq, NO_REPLY);
    } else if (typeof reply === 'function') {
      if (this.shapes !== undefined) this.shapes.push(this.ownShape());
      this.forward(new MergeTarget(this, reply), seq, r, base, start, len, flags);
    } else {
      if (this.shapes !== undefined) this.shapes.push(this.ownShape());
      this.completeBuffer(seq, reply);
    }
  }

  // ---- transactions (src/net/transaction.ts) ----

  /** Answers slot seq with bytes the node made (a transaction reply). */
  private own(seq: number, b: Buffer): void {
    if (this.shapes !== undefined) this.shapes.push(this.ownShape());
    this.completeBuffer(seq, b);
  }

  /** MULTI, EXEC, DISCARD, WATCH, UNWATCH outside MULTI. */
  private txCommand(seq: number, cmd: number, t: TxCommandIds, r: number, base: number, start: number, len: number, flags: number): void {
    const d = this.ctx.dispatcher.tx;
    if (cmd === t.exec) return this.own(seq, EXEC_WITHOUT_MULTI);
    if (cmd === t.discard) return this.own(seq, DISCARD_WITHOUT_MULTI);
    if (cmd === t.unwatch) {
      this.releaseTx();
      return this.own(seq, REPLY_OK);
    }
    if (d === undefined) {
      const name = requestName(this.ctx.core, r, base).toLowerCase();
      return this.own(seq, respErrorText(`Dynomite: '${name}' needs a redis or embedded datastore behind this node`));
    }
    const tx = (this.tx ??= new Transaction());
    if (cmd === t.multi) {
      tx.multi = true;
      return this.own(seq, REPLY_OK);
    }
    // WATCH: its keys route the transaction, so they must have the owner of any earlier WATCH.
    const req = this.request(r, base, start, len, flags);
    const refused = d.admit(tx.route, req);
    if (refused !== undefined) return this.own(seq, Buffer.from(`-${refused}\r\n`, 'latin1'));
    tx.watching = true;
    if (this.shapes !== undefined) this.shapes.push(this.forwardShape(cmd, r, base, start, len, flags));
    d.watch(this, seq, req, this.id, tx.route);
  }

  /**
   * A request between MULTI and EXEC: EXEC, DISCARD and the refusals are answered here, every
   * other command is queued (+QUEUED). False for what runs as outside a transaction (QUIT, RESET).
   */
  private queue(seq: number, r: number, base: number, start: number, len: number, flags: number, err: number): boolean {
    const tx = this.tx!;
    const core = this.ctx.core;
    const cmd = core.i32[r + ABI.REC_CMD];
    const t = this.ctx.txCommands!;
    if (err !== ABI.ERR_NONE) {
      const text = this.requestError(err, r, base);
      if (cmd === t.exec) {
        // EXEC itself refused (Redis 7): the transaction is discarded, saying why.
        this.endTx();
        this.own(seq, Buffer.from(`-EXECABORT Transaction discarded because of: ${text.toString('latin1', 5)}`, 'latin1'));
      } else {
        tx.dirty = true;
        this.own(seq, text);
      }
      return true;
    }
    if ((flags & ABI.CF_QUIT) !== 0) return false;
    if (this.gated && this.refused(seq, flags, cmd, r, base)) {
      tx.dirty = true;
      return true;
    }
    if (cmd === t.exec) {
      this.exec(seq, tx);
      return true;
    }
    if (cmd === t.discard) {
      this.endTx();
      this.own(seq, REPLY_OK);
      return true;
    }
    if (cmd === t.multi) {
      this.own(seq, MULTI_NESTED);
      return true;
    }
    if (cmd === t.watch) {
      this.own(seq, WATCH_IN_MULTI);
      return true;
    }
    const name = (): string => requestName(core, r, base);
    let refused: string | undefined;
    if ((flags & ABI.CF_PSEUDO) !== 0 && cmd !== t.unwatch && cmd !== t.echo) {
      if (name().toUpperCase() === 'RESET') return false; // RESET ends the transaction, as in Redis
      refused = notInTransaction(name(), 'is answered by this node, not by the datastore');
    } else if ((flags & ABI.CF_SEARCH) !== 0 && this.ctx.search !== undefined) {
      refused = notInTransaction(name(), 'is answered by the search layer, not by the datastore');
    } else if (!this.ctx.control.allows((flags & ABI.CF_WRITE) !== 0)) {
      refused = `ERR ${DYN_ERRORS.DYN_ERR_STATE.source}: ${DYN_ERRORS.DYN_ERR_STATE.message}`;
    } else {
      refused = this.ctx.dispatcher.tx!.admit(tx.route, this.request(r, base, start, len, flags));
    }
    if (refused !== undefined) {
      tx.dirty = true;
      this.own(seq, Buffer.from(`-${refused}\r\n`, 'latin1'));
      return true;
    }
    const inline = (flags & ABI.MF_INLINE) !== 0;
    tx.commands.push(inline
      ? encodeMultibulk(decodeInline(core.u8, start, len) ?? [])
      : Buffer.from(core.u8.subarray(start, start + len)));
    tx.shapes.push(this.session.proto === 3 ? resolveShape(core, this.ctx.replyShapes[cmd] ?? 0, r, base, start, len, inline) : RS.NATIVE);
    if ((flags & ABI.CF_WRITE) !== 0) tx.isWrite = true;
    this.own(seq, QUEUED);
    return true;
  }

  /** EXEC: the block to every replica, or EXECABORT when a command was refused while queueing. */
  private exec(seq: number, tx: Transaction): void {
    if (tx.dirty) {
      this.endTx();
      this.own(seq, EXECABORT);
      return;
    }
    const d = this.ctx.dispatcher.tx!;
    const level = this.consistency ?? (tx.isWrite ? this.ctx.control.writeConsistency : this.ctx.control.readConsistency);
    const target: ReplyTarget = this.session.proto === 3 ? new Resp3ExecTarget(this, [...tx.shapes]) : this;
    if (this.shapes !== undefined) this.shapes.push(this.ownShape());
    const block = tx.block();
    const route = { ...tx.route };
    const isWrite = tx.isWrite;
    tx.end(); // EXEC ends the WATCH too; exec() hands the reserved connection back
    d.exec(target, seq, block, this.id, route, isWrite, level);
  }

  /** The request of record r as the dispatcher takes it. */
  private request(r: number, base: number, start: number, len: number, flags: number): FramedRequest {
    const req = this.req;
    req.off = start;
    req.len = len;
    req.rec = r;
    req.base = base;
    req.expectReply = true;
    req.inline = (flags & ABI.MF_INLINE) !== 0;
    return req;
  }

  /** DISCARD, RESET, a failed EXEC: the transaction and its WATCH are dropped. */
  private endTx(): void {
    this.releaseTx();
    this.tx?.end();
  }

  /** Ends the WATCH: the reserved datastore connection is handed back. */
  private releaseTx(): void {
    const tx = this.tx;
    if (tx === undefined || !tx.watching) return;
    tx.watching = false;
    this.ctx.dispatcher.tx?.release(this.id, tx.route);
    if (!tx.multi) {
      tx.route.keyed = false;
      tx.route.token = 0;
    }
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
    if (this.shapes !== undefined && this.headSeq >= this.shapeFrom) {
      const shape = this.shapes.peek();
      if (shape === RS.SUPPRESS) return;
      if (shape !== RS.NATIVE) {
        const b = toResp3(src, off, len, shape);
        this.out.append(b, 0, b.length);
        return;
      }
    }
    this.out.append(src, off, len);
  }

  /** Closes after QUIT's reply (or a protocol error's); else notes the request's latency, receive to reply. */
  releaseHead(seq: number): boolean {
    if (this.shapes !== undefined && seq >= this.shapeFrom) this.shapes.shift();
    this.headSeq = seq + 1;
    if (seq === this.quitSeq) {
      this.finishQuit();
      return false;
    }
    if (this.backlog !== undefined) this.releaseBacklog(seq);
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
    if (!this.poolPaused) this.socket.resume();
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
    if (this.shapes !== undefined) this.shapes.push(RS.NATIVE);
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
    if (this.subs !== undefined) this.subs.clear(this.ctx.pubsub!.hub, this);
    this.backlog = undefined;
    this.releaseTx();
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


function integer(n: number): Buffer {
  return Buffer.from(`:${n}\r\n`, 'latin1');
}

/** Receives the datastore's reply to INFO and completes the client's slot with the merged reply. */
class MergeTarget implements ReplyTarget {
  constructor(
    private readonly conn: ClientConn,
    private readonly merge: MergeReply,
  ) {}

  complete(seq: number, src: Uint8Array, off: number, len: number): void {
    this.conn.completeBuffer(seq, this.merge(Buffer.from(src.subarray(off, off + len))));
  }

  completeBuffer(seq: number, b: Buffer): void {
    this.conn.completeBuffer(seq, this.merge(b));
  }

  fail(seq: number, code: DynErrorCode): void {
    this.conn.fail(seq, code);
  }
}
