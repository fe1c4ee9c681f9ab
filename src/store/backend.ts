// What the client side needs from a datastore: queue a framed request, get its reply later in the
// request's slot. Implementations: RedisBackend / MemcachedBackend (a pool of server connections)
// and MemoryBackend (the embedded datastore, answered synchronously).
import type { DynErrorCode } from '../errors.js';

/** Where a reply goes: a client connection's ordered reply slot (or a coalescer later on). */
export interface ReplyTarget {
  /** The reply for slot seq is at src[off, off+len): copy what you keep before returning. */
  complete(seq: number, src: Uint8Array, off: number, len: number): void;
  /** The reply for slot seq is b (owned by the callee from now on). */
  completeBuffer(seq: number, b: Buffer): void;
  /** The request in slot seq failed before the datastore answered. */
  fail(seq: number, code: DynErrorCode): void;
}

/** One framed request: its bytes in core memory and its record (index into core.i32). */
export interface FramedRequest {
  /** Byte address of the message in core memory. */
  off: number;
  len: number;
  /** Index of its frame record in core.i32. */
  rec: number;
  /** Byte address record offsets are relative to. */
  base: number;
  /** False for memcached noreply requests: the datastore sends nothing back. */
  expectReply: boolean;
  /** An inline (not multibulk) Redis command: arguments must be split as Redis's sdssplitargs does. */
  inline: boolean;
  /** Set on sub-requests the dispatcher built (fragments): their record does not describe them. */
  src?: 'built';
}

export interface Backend {
  /** Human name for logs and stats: `host:port` or `memory`. */
  readonly name: string;
  /** Queues a request; the reply (or failure) reaches target.complete*(seq) later or synchronously. */
  forward(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number): void;
  /** Starts connecting (preconnect). */
  start(): Promise<void>;
  /** Stops accepting requests, fails what is in flight, closes connections. */
  close(): Promise<void>;
  /** Requests sent and not yet answered. */
  inflight(): number;
}
