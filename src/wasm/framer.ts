// A Framer turns the byte stream of one connection into frame records, one WASM call per socket read.
//
// All framers share the core's staging area: feed() copies the connection's partial message and the
// new chunk there, frames every complete message in one call, and hands the record table to the sink
// synchronously. The sink must copy out whatever bytes it keeps before returning (the next call on any
// connection reuses staging). What remains is a partial message, framed again from its first byte
// once enough bytes arrived (RES_NEED), so a large value is framed once, not once per read. It is
// held in one of two places:
//
//   - an mbuf chain in core memory, when the message needs CHAIN_MIN_BYTES..CHAIN_MAX_BYTES: the chain is
//     taken whole for the size the framer announced (RES_NEED), so it never runs dry; each later
//     read is copied straight into it (no WASM call); the read that completes the message gathers
//     the chain into staging inside the core (mbufChainGather: one copy, the chain is released);
//   - a list of JS chunks (the first a copy of the remainder, the later ones kept by reference), for
//     short and very large partial messages, for an unknown size (RES_NEED 0), and when the pool
//     cannot hold the chain (counted: ChainPool.fallbacks).
//
// Pool exhaustion never loses data: a connection with a ReadFlow (client connections) pauses
// reading and waits, in arrival order, until the pool can hold its chain (ChainPool.waits), and
// falls back to JS chunks after POOL_WAIT_MS; a connection without one (datastore and peer links,
// which many clients share) falls back at once.
import { ABI } from './abi.js';
import type { Core } from './core.js';

/** A partial message that needs at least this many bytes is held in an mbuf chain. */
export const CHAIN_MIN_BYTES = 16 * 1024;
/**
 * ... and at most this many. Above it the chain costs more than it saves: it copies every byte
 * twice (read -> mbufs -> staging) where JS chunks are kept by reference and copied once; measured
 * with bench:core "Framer.feed" (2 loaded cores, medians of 3 interleaved rounds) chains took
 * 0.36x the time of JS chunks at 64 KiB and 0.50x at 256 KiB, but 1.6x at 1 MiB and 6x at 4 MiB.
 * 2 MiB keeps 1 MiB values in chains, for the memory bound (a client waits for the pool instead of
 * the node buffering its value: docs/architecture.md), whose end-to-end cost is in the noise.
 */
export const CHAIN_MAX_BYTES = 2 * 1024 * 1024;
/**
 * When no chain went back to the pool for this long while connections wait for it (holders that
 * stall: slow or stuck clients), every waiter resumes reading with its partial message in JS chunks.
 * A busy pool that keeps turning over is waited for however long the queue is.
 */
export const POOL_WAIT_MS = 1000;

/** Lets a framer pause its connection's reading while the mbuf pool cannot hold its message. */
export interface ReadFlow {
  pauseReading(): void;
  resumeReading(): void;
}

/**
 * The mbuf pool as the framers of one core use it: counters, and the connections waiting for room
 * (first come, first served: the head waits until its whole chain fits, and nobody passes it).
 */
export class ChainPool {
  /** Partial messages held in a chain. */
  chains = 0;
  /** Partial messages of CHAIN_MIN_BYTES or more kept in JS chunks because the pool could not hold them. */
  fallbacks = 0;
  /** Times a connection paused reading to wait for mbufs. */
  waits = 0;
  /** Data bytes per mbuf, and mbufs in the pool. */
  readonly perMbuf: number;
  readonly count: number;
  private readonly waiters: Framer[] = [];
  private admitQueued = false;
  /** When a chain last went back to the pool (performance.now()). */
  private lastRelease = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly admitNow = (): void => this.admit();

  constructor(readonly core: Core) {
    this.perMbuf = core.exports.mbuf_size() - ABI.MBUF_HDR;
    this.count = core.exports.mbuf_count();
  }

  /** mbufs a chain for `bytes` takes. */
  mbufsFor(bytes: number): number {
    return Math.max(1, Math.ceil(bytes / this.perMbuf));
  }

  /** Connections waiting for mbufs now. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** @internal */
  wait(f: Framer): void {
    this.waiters.push(f);
    this.waits++;
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.expire(), Math.max(10, POOL_WAIT_MS >> 2));
      this.timer.unref();
    }
  }

  /** @internal */
  unwait(f: Framer): void {
    const i = this.waiters.indexOf(f);
    if (i >= 0) this.waiters.splice(i, 1);
    this.idle();
  }

  /** @internal mbufs went back to the pool: admit waiters, later (never inside a framing call). */
  released(): void {
    if (this.waiters.length === 0) return;
    this.lastRelease = performance.now();
    if (this.admitQueued) return;
    this.admitQueued = true;
    setImmediate(this.admitNow);
  }

  private admit(): void {
    this.admitQueued = false;
    while (this.waiters.length > 0 && this.waiters[0]!.adopt()) this.waiters.shift();
    this.idle();
  }

  private expire(): void {
    const limit = performance.now() - POOL_WAIT_MS;
    if (this.waiters.length === 0 || this.lastRelease >= limit) return;
    // Nothing came back for POOL_WAIT_MS: stop waiting for the pool (only waiters that waited that long).
    while (this.waiters.length > 0 && this.waiters[0]!.waitSince < limit) {
      this.fallbacks++;
      this.waiters.shift()!.stopWaiting();
    }
    this.idle();
  }

  private idle(): void {
    if (this.waiters.length === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

const POOLS = new WeakMap<Core, ChainPool>();

/** The chain pool of a core (one per core, shared by its framers). */
export function chainPool(core: Core): ChainPool {
  let p = POOLS.get(core);
  if (p === undefined) POOLS.set(core, (p = new ChainPool(core)));
  return p;
}

export type FramerMode = 'resp-request' | 'resp-reply' | 'mc-request' | 'mc-reply' | 'dnode';

const MODE_IDS: Record<FramerMode, number> = {
  'resp-request': ABI.FRAMER_RESP_REQ,
  'resp-reply': ABI.FRAMER_RESP_REP,
  'mc-request': ABI.FRAMER_MC_REQ,
  'mc-reply': ABI.FRAMER_MC_REP,
  dnode: ABI.FRAMER_DNODE,
};

/** Receives the records of one call. `base` is the byte address record offsets are relative to. */
export interface FrameSink {
  onFrames(framer: Framer, base: number, count: number): void;
}

/** Why a stream cannot be framed any further. The connection must be closed after replying. */
export class FramingError extends Error {
  constructor(
    readonly code: number,
    readonly position: number,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'FramingError';
  }
}

/** Human-readable reasons for the core's E_* codes (used in error replies and logs). */
export const FRAMING_REASONS: Record<number, string> = {
  [ABI.E_BAD_TYPE]: 'unexpected type byte',
  [ABI.E_BAD_LENGTH]: 'invalid bulk length',
  [ABI.E_TOO_LARGE]: 'invalid bulk length (over the configured limit)',
  [ABI.E_EXPECTED_CRLF]: 'expected CRLF',
  [ABI.E_TOO_DEEP]: 'nesting too deep',
  [ABI.E_INLINE_TOO_LONG]: 'too big inline request',
  [ABI.E_BAD_INLINE]: 'unbalanced quotes in request',
  [ABI.E_BAD_MC]: 'malformed memcached message',
  [ABI.E_BAD_DNODE]: 'malformed dnode header',
  [ABI.E_EMPTY]: 'empty request',
};

/** End of the bytes the last framing call staged: staging beyond it is free scratch. */
let stagedEnd = 0;
/** End of the last low scratch handed out (built sub-requests live there while they are sent). */
let lowEnd = 0;

/**
 * An address in staging, just past the messages being dispatched right now, where len bytes can be
 * written (sub-requests built from a request), or -1 when they do not fit. Each call reuses the
 * same place: the previous scratch must be finished with.
 */
export function stagingScratch(core: Core, len: number): number {
  const start = Math.max(stagedEnd, core.stagingPtr);
  const end = core.stagingPtr + core.options.stagingBytes;
  if (start + len > end) return -1;
  lowEnd = start + len;
  return start;
}

/**
 * An address at the top of staging for short-lived work (digesting a reply that is not in core
 * memory) that cannot overlap staged messages or the low scratch; -1 when there is no room.
 */
export function stagingScratchHigh(core: Core, len: number): number {
  const at = core.stagingPtr + core.options.stagingBytes - len;
  return at >= Math.max(stagedEnd, lowEnd, core.stagingPtr) ? at : -1;
}

/** Free connection slots, per core (a slot indexes that core's connection slab). */
const SLOTS = new WeakMap<Core, { free: number[]; next: number }>();

function takeSlot(core: Core): number {
  let s = SLOTS.get(core);
  if (s === undefined) SLOTS.set(core, (s = { free: [], next: 0 }));
  const f = s.free.pop();
  if (f !== undefined) return f;
  if (s.next >= core.options.connections) {
    throw new Error(`no free framer slot: all ${core.options.connections} connection slots are in use`);
  }
  return s.next++;
}

export class Framer {
  readonly slot: number;
  private readonly frameFn: (conn: number, ptr: number, len: number) => number;
  private readonly res: number; // index of the RESULT block in core.i32
  /** Chunks of the partial message (the first may be a copy of the last call's remainder). */
  private tail: Buffer[] = [];
  private tailBytes = 0;
  /** Or: the partial message in an mbuf chain (head mbuf, 0 = none), the mbuf being filled, its bytes. */
  private chain = 0;
  private chainAt = 0;
  private chainBytes = 0;
  private readonly pool: ChainPool;
  /** Set while waiting for the pool (reading paused); when it started (performance.now()). */
  private waitingPool = false;
  /** @internal */
  waitSince = 0;
  /** Bytes the partial message needs before it is worth framing again (0 = any new byte). */
  private need = 0;
  private closed = false;
  /** Set after a protocol error: the stream cannot be framed any further. */
  private broken = false;
  /** Messages framed so far. */
  messages = 0;

  constructor(
    readonly core: Core,
    readonly mode: FramerMode,
    /** Largest message accepted, at most the staging size. */
    readonly maxMessage: number = core.options.stagingBytes,
    /** Pauses the connection's reading while the mbuf pool is short; without it the framer falls back at once. */
    private readonly flow?: ReadFlow,
  ) {
    this.pool = chainPool(core);
    this.slot = takeSlot(core);
    core.exports.connReset(this.slot, MODE_IDS[mode]);
    this.res = core.resPtr >> 2;
    const ex = core.exports;
    this.frameFn =
      mode === 'resp-request' ? ex.respFrameRequests
      : mode === 'resp-reply' ? ex.respFrameReplies
      : mode === 'mc-request' ? ex.mcFrameRequests
      : mode === 'mc-reply' ? ex.mcFrameReplies
      : ex.dnodeFrame;
    if (this.maxMessage > core.options.stagingBytes) this.maxMessage = core.options.stagingBytes;
  }

  /** Bytes held for a message not yet complete. */
  get pendingBytes(): number {
    return this.tailBytes + this.chainBytes;
  }

  /** True while the partial message is held in an mbuf chain. */
  get chained(): boolean {
    return this.chain !== 0;
  }

  /** Frames what `chunk` completes; throws FramingError on malformed input. */
  feed(chunk: Buffer, sink: FrameSink): void {
    if (this.closed || this.broken) throw new Error('framer is closed or its stream is broken');
    const held = this.tailBytes + this.chainBytes;
    const total = held + chunk.length;
    if (total < this.need || (this.need === 0 && total === 0)) {
      this.keep(chunk);
      return;
    }
    if (total > this.maxMessage && held > 0) {
      // A partial message grew past the limit: it can never be framed.
      throw new FramingError(ABI.E_TOO_LARGE, 0, `message larger than ${this.maxMessage} bytes (max_message_bytes)`);
    }
    if (total > this.core.options.stagingBytes) {
      // No partial message, but a chunk larger than staging: frame it in staging-sized pieces.
      this.feedInPieces(chunk, sink);
      return;
    }
    this.frameStaged(this.stage(chunk, total), total, sink);
  }

  private feedInPieces(chunk: Buffer, sink: FrameSink): void {
    const step = this.core.options.stagingBytes >> 1;
    for (let off = 0; off < chunk.length; off += step) {
      this.feed(chunk.subarray(off, Math.min(chunk.length, off + step)), sink);
    }
  }

  /** Copies the partial message (chain or JS chunks) and the chunk into staging; returns the staging address. */
  private stage(chunk: Buffer, total: number): number {
    const base = this.core.stagingPtr;
    const u8 = this.core.u8;
    let at = base;
    if (this.chain !== 0) {
      const n = this.core.exports.mbufChainGather(this.chain, at);
      if (n !== this.chainBytes) throw new Error(`mbuf chain gather returned ${n}, expected ${this.chainBytes} bytes`);
      at += n;
      this.chain = this.chainAt = this.chainBytes = 0;
      this.pool.released();
    }
    for (const t of this.tail) {
      u8.set(t, at);
      at += t.length;
    }
    u8.set(chunk, at);
    this.tail = [];
    this.tailBytes = 0;
    stagedEnd = base + total;
    lowEnd = 0;
    return base;
  }

  private frameStaged(base: number, total: number, sink: FrameSink): void {
    const i32 = this.core.i32;
    const res = this.res;
    let off = 0;
    let need = 0;
    for (;;) {
      const n = this.frameFn(this.slot, base + off, total - off);
      if (n < 0) {
        const pos = off + i32[res + (ABI.RES_ERR_POS >> 2)];
        const code = i32[res + (ABI.RES_ERR_CODE >> 2)];
        if (n === ABI.ST_BADARG) throw new Error(`framer call refused its arguments (slot ${this.slot})`);
        // Hand over the complete messages before the error, then report it.
        const before = i32[res + (ABI.RES_COUNT >> 2)];
        if (before > 0) {
          this.messages += before;
          sink.onFrames(this, base + off, before);
        }
        this.broken = true;
        let reason = FRAMING_REASONS[code] ?? `protocol error ${code}`;
        if (code === ABI.E_BAD_TYPE && pos < total && this.mode === 'resp-request') {
          // Redis's own wording, with the offending byte.
          reason = `expected '$', got '${String.fromCharCode(this.core.u8[base + pos])}'`;
        }
        throw new FramingError(code, pos, reason);
      }
      // Read the whole result before the sink runs: a sink may frame something else (a payload).
      const consumed = i32[res + (ABI.RES_CONSUMED >> 2)];
      const flags = i32[res + (ABI.RES_FLAGS >> 2)];
      need = i32[res + (ABI.RES_NEED >> 2)];
      if (n > 0) {
        this.messages += n;
        sink.onFrames(this, base + off, n);
      }
      off += consumed;
      if ((flags & ABI.RES_MORE) === 0 || consumed === 0) break;
    }
    if (off < total) {
      const rest = total - off;
      if (need > this.maxMessage || rest > this.maxMessage) {
        throw new FramingError(ABI.E_TOO_LARGE, off, `message larger than ${this.maxMessage} bytes (max_message_bytes)`);
      }
      // The remainder must leave staging before anyone frames again: copy it out once.
      this.hold(base + off, rest, need);
      this.need = need;
    } else {
      this.need = 0;
      if (this.waitingPool) this.stopWaiting();
    }
  }

  /** Keeps the remainder core[at, at+rest) of a message that needs `need` bytes: chain, or JS chunks. */
  private hold(at: number, rest: number, need: number): void {
    if (need >= CHAIN_MIN_BYTES && need <= CHAIN_MAX_BYTES) {
      const head = this.core.exports.mbufChainFrom(at, rest, need);
      if (head > 0) {
        this.chain = this.chainAt = head;
        this.chainBytes = rest;
        this.pool.chains++;
        if (this.waitingPool) this.stopWaiting();
        return;
      }
      if (head < 0) throw new Error(`mbufChainFrom refused (${rest} of ${need} bytes)`);
      if (this.flow !== undefined && this.pool.mbufsFor(need) <= this.pool.count) {
        // Short of mbufs now: stop reading until a chain fits (the bytes already read wait in JS).
        if (!this.waitingPool) {
          this.waitingPool = true;
          this.waitSince = performance.now();
          this.pool.wait(this);
          this.flow.pauseReading();
        }
      } else {
        this.pool.fallbacks++;
      }
    } else if (this.waitingPool) {
      this.stopWaiting();
    }
    this.tail.push(Buffer.from(this.core.buf.subarray(at, at + rest)));
    this.tailBytes = rest;
  }

  /**
   * @internal The pool may have room: takes the chain this framer waits for, moves the JS chunks
   * into it and resumes reading. False when it still does not fit.
   */
  adopt(): boolean {
    if (!this.waitingPool) return true;
    if (this.closed) {
      this.waitingPool = false;
      return true;
    }
    const head = this.core.exports.mbufChainFrom(0, 0, Math.max(this.need, this.tailBytes));
    if (head <= 0) return false;
    this.chain = this.chainAt = head;
    this.chainBytes = 0;
    this.pool.chains++;
    const t = this.tail;
    this.tail = [];
    this.tailBytes = 0;
    for (const c of t) this.chainAppend(c);
    this.waitingPool = false;
    this.flow?.resumeReading();
    return true;
  }

  /** @internal Stops waiting for the pool (the wait expired, or the message no longer needs it). */
  stopWaiting(): void {
    if (!this.waitingPool) return;
    this.waitingPool = false;
    this.pool.unwait(this);
    if (!this.closed) this.flow?.resumeReading();
  }

  /** Copies a chunk into the chain, filling mbufs in order (the chain was taken whole: it has room). */
  private chainAppend(chunk: Buffer): void {
    const { u8, i32 } = this.core;
    const size = this.pool.perMbuf + ABI.MBUF_HDR;
    let m = this.chainAt;
    let off = 0;
    while (off < chunk.length) {
      const lastAt = (m + ABI.MBUF_LAST) >> 2;
      const last = i32[lastAt]!;
      const room = size - last;
      if (room === 0) {
        m = i32[(m + ABI.MBUF_NEXT) >> 2]!;
        if (m === 0) throw new Error(`mbuf chain full at ${this.chainBytes + off} bytes (need ${this.need})`);
        continue;
      }
      const take = Math.min(room, chunk.length - off);
      u8.set(off === 0 && take === chunk.length ? chunk : chunk.subarray(off, off + take), m + last);
      i32[lastAt] = last + take;
      off += take;
    }
    this.chainAt = m;
    this.chainBytes += chunk.length;
  }

  private keep(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const held = this.tailBytes + this.chainBytes;
    if (held + chunk.length > this.maxMessage) {
      throw new FramingError(ABI.E_TOO_LARGE, held, `message larger than ${this.maxMessage} bytes (max_message_bytes)`);
    }
    if (this.chain !== 0) {
      this.chainAppend(chunk);
      return;
    }
    // Socket chunks are fresh Buffers owned by us: keep a reference, no copy.
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
  }

  /** Returns the slot to the pool; the framer can no longer be used. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.tail = [];
    this.tailBytes = 0;
    if (this.chain !== 0) {
      this.core.exports.mbufReleaseChain(this.chain);
      this.chain = this.chainAt = this.chainBytes = 0;
      this.pool.released();
    }
    if (this.waitingPool) {
      this.waitingPool = false;
      this.pool.unwait(this);
    }
    SLOTS.get(this.core)!.free.push(this.slot);
  }
}

/**
 * Whether the reply framer of `framer`'s connection writes REC_DIGEST_* (the default) or leaves
 * them 0: a connection none of whose replies is compared (single node, DC_ONE) skips the XXH64
 * pass. Takes effect from the next framing call; connReset turns digests back on.
 */
export function setReplyDigests(core: Core, framer: Framer, on: boolean): void {
  core.i32[(core.exports.conn_ptr(framer.slot) + ABI.CONN_NO_DIGEST) >> 2] = on ? 0 : 1;
}
