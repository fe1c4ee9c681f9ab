// A Framer turns the byte stream of one connection into frame records, one WASM call per socket read.
//
// All framers share the core's staging area: feed() copies the connection's unconsumed tail and the new
// chunk there, frames every complete message in one call, and hands the record table to the sink
// synchronously. The sink must copy out whatever bytes it keeps before returning (the next call on any
// connection reuses staging). What remains is a partial message: it is kept as a list of chunks and
// framed again, from its first byte, once enough bytes arrived (RES_NEED), so a large value is copied
// into staging once, not once per read.
import { ABI } from './abi.js';
import type { Core } from './core.js';

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

const FREE_SLOTS: number[] = [];
let nextSlot = 0;

function takeSlot(core: Core): number {
  const s = FREE_SLOTS.pop();
  if (s !== undefined) return s;
  if (nextSlot >= core.options.connections) {
    throw new Error(`no free framer slot: all ${core.options.connections} connection slots are in use`);
  }
  return nextSlot++;
}

export class Framer {
  readonly slot: number;
  private readonly frameFn: (conn: number, ptr: number, len: number) => number;
  private readonly res: number; // index of the RESULT block in core.i32
  /** Chunks of the partial message (the first may be a copy of the last call's remainder). */
  private tail: Buffer[] = [];
  private tailBytes = 0;
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
  ) {
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
    return this.tailBytes;
  }

  /** Frames what `chunk` completes; throws FramingError on malformed input. */
  feed(chunk: Buffer, sink: FrameSink): void {
    if (this.closed || this.broken) throw new Error('framer is closed or its stream is broken');
    const total = this.tailBytes + chunk.length;
    if (total < this.need || (this.need === 0 && total === 0)) {
      this.keep(chunk);
      return;
    }
    if (total > this.maxMessage && this.tailBytes > 0) {
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

  /** Copies the tail and the chunk into staging; returns the staging address. */
  private stage(chunk: Buffer, total: number): number {
    const base = this.core.stagingPtr;
    const u8 = this.core.u8;
    let at = base;
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
      this.tail.push(Buffer.from(this.core.buf.subarray(base + off, base + total)));
      this.tailBytes = rest;
      this.need = need;
    } else {
      this.need = 0;
    }
  }

  private keep(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.tailBytes + chunk.length > this.maxMessage) {
      throw new FramingError(ABI.E_TOO_LARGE, this.tailBytes, `message larger than ${this.maxMessage} bytes (max_message_bytes)`);
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
    FREE_SLOTS.push(this.slot);
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
