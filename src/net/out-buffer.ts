// Batches the bytes bound for one socket during an event-loop turn and writes them with one
// socket.write() per turn (the lever at pipeline 1 is fewer syscalls, not faster parsing).
// Buffers in flight are recycled when their write completes, so steady state allocates nothing.
// The buffer is taken on the first append, not at construction: an idle connection (10k of them
// is a normal load for a proxy) then holds no 16 KB buffer at all.
import type { Writable } from 'node:stream';

const DEFAULT_CHUNK = 16 * 1024;
/**
 * Payloads longer than this leave as one exact-size Buffer of their own (append returns it), which
 * is never recycled: a holder may keep it instead of a copy (hinted handoff does, src/repair/hints.ts).
 */
export const OUT_CHUNK_BYTES = DEFAULT_CHUNK;

export class OutBuffer {
  private buf: Buffer = EMPTY;
  private used = 0;
  /** Buffers handed to the socket and not yet written, oldest first (writes complete in order). */
  private readonly inFlight: Buffer[] = [];
  private readonly spare: Buffer[] = [];
  private readonly onWritten = (): void => {
    const done = this.inFlight.shift();
    // Two buffers cover steady state (one being filled, one being written); keep no more.
    if (done && done.length === this.chunk && this.spare.length < 2) this.spare.push(done);
  };

  constructor(
    private readonly socket: Writable,
    private readonly chunk = DEFAULT_CHUNK,
  ) {}

  /** Bytes queued and not yet handed to the socket. */
  get pending(): number {
    return this.used;
  }

  /**
   * Copies len bytes of src (e.g. the core's memory) starting at off. A payload longer than the
   * chunk size is written as one exact-size copy, returned: it is never reused or changed, so the
   * caller may keep it. Shorter payloads share a recycled chunk: undefined.
   */
  append(src: Uint8Array, off: number, len: number): Buffer | undefined {
    if (len > this.chunk) {
      // Large payloads: flush what is queued, then hand over one exact-size copy.
      this.flush();
      const big = Buffer.allocUnsafe(len);
      big.set(src.subarray(off, off + len));
      this.socket.write(big);
      return big;
    }
    if (this.used + len > this.buf.length) {
      this.flush();
      if (this.buf === EMPTY) this.buf = this.spare.pop() ?? Buffer.allocUnsafe(this.chunk);
    }
    const dst = this.buf;
    if (len <= 32) {
      // Short replies (+OK, :1, small bulks): a byte loop beats allocating a subarray view.
      let at = this.used;
      for (let i = off, end = off + len; i < end; i++) dst[at++] = src[i];
    } else {
      dst.set(src.subarray(off, off + len), this.used);
    }
    this.used += len;
    return undefined;
  }

  /** Queues a whole Buffer (synthesized replies, stored out-of-order replies). */
  appendBuffer(b: Buffer): void {
    this.append(b, 0, b.length);
  }

  /** Hands the queued bytes to the socket. Called once per event-loop turn. */
  flush(): void {
    if (this.used === 0) return;
    if (this.socket.destroyed) {
      this.used = 0;
      return;
    }
    const out = this.used === this.buf.length ? this.buf : this.buf.subarray(0, this.used);
    this.inFlight.push(this.buf);
    this.socket.write(out, this.onWritten);
    this.buf = EMPTY; // the next append takes a spare (or allocates)
    this.used = 0;
  }

  /** Drops everything queued (the socket is gone). */
  reset(): void {
    this.used = 0;
  }
}

const EMPTY = Buffer.alloc(0);
