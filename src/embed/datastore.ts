// A user's own datastore behind a node. Two shapes: an object answering one request at a time
// (`execute(request) -> reply`, sync or async), or a RESP-speaking stream (the node then drives it
// exactly like a Redis connection: pipelining, timeouts, reconnects).
import { decodeInline, decodeMultibulk } from '../protocol/args.js';
import { respErrorText } from '../errors.js';
import type { Backend, FramedRequest, ReplyTarget } from '../dispatch/request.js';
import type { Core } from '../wasm/core.js';
import type { LinkSocket } from '../net/transport.js';
import { NO_REPLY } from '../protocol/replies.js';

/** One client request as the datastore sees it. */
export interface DatastoreRequest {
  /** The command name, upper-cased (`SET`). */
  readonly command: string;
  /** Every argument after the name, as sent. */
  readonly args: readonly Buffer[];
}

/** A Redis status reply (`+OK`). */
export interface StatusReply {
  readonly status: string;
}

/**
 * A reply in JS terms: Buffer or string = bulk string, number or bigint = integer, null = nil,
 * Error = error reply (its message is the text after `-`; give it a Redis prefix like `ERR` or
 * `WRONGTYPE`), array = multi-bulk, `{ status }` = status reply.
 */
export type DatastoreReply = Buffer | string | number | bigint | null | Error | StatusReply | readonly DatastoreReply[];

/** `+OK`. */
export const OK: StatusReply = Object.freeze({ status: 'OK' });

/** A datastore that answers requests itself. */
export interface Datastore {
  execute(request: DatastoreRequest): DatastoreReply | Promise<DatastoreReply>;
}

/** A datastore reached over a RESP stream the program opens (one per datastore connection). */
export interface StreamDatastore {
  connect(): LinkSocket;
}

export function isStreamDatastore(d: Datastore | StreamDatastore): d is StreamDatastore {
  return typeof (d as StreamDatastore).connect === 'function';
}

/** RESP2 bytes of a reply. */
export function encodeReply(r: DatastoreReply): Buffer {
  const parts: Buffer[] = [];
  const put = (v: DatastoreReply): void => {
    if (v === null) parts.push(Buffer.from('$-1\r\n'));
    else if (Buffer.isBuffer(v) || typeof v === 'string') {
      const b = Buffer.isBuffer(v) ? v : Buffer.from(v);
      parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
    } else if (typeof v === 'number' || typeof v === 'bigint') parts.push(Buffer.from(`:${typeof v === 'number' ? Math.trunc(v) : v}\r\n`));
    else if (v instanceof Error) parts.push(Buffer.from(`-${oneLine(v.message)}\r\n`));
    else if (Array.isArray(v)) {
      parts.push(Buffer.from(`*${v.length}\r\n`));
      for (const e of v as readonly DatastoreReply[]) put(e);
    } else parts.push(Buffer.from(`+${oneLine((v as StatusReply).status)}\r\n`));
  };
  put(r);
  return Buffer.concat(parts);
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

/** The chain's Backend over a user's Datastore (Redis protocol). */
export class DatastoreBackend implements Backend {
  readonly name = 'embedded';
  private pending = 0;

  constructor(private readonly core: Core, private readonly store: Datastore) {}

  async start(): Promise<void> {}

  async close(): Promise<void> {}

  inflight(): number {
    return this.pending;
  }

  forward(target: ReplyTarget, seq: number, req: FramedRequest): void {
    const u8 = this.core.u8;
    // Decode now: the request's bytes in core memory are reused after this call returns.
    const argv = req.inline ? decodeInline(u8, req.off, req.len) : decodeMultibulk(u8, req.off, req.len);
    if (!argv || argv.length === 0) return target.completeBuffer(seq, respErrorText('Protocol error: bad inline request'));
    const request: DatastoreRequest = { command: argv[0]!.toString('latin1').toUpperCase(), args: argv.slice(1) };
    let reply: DatastoreReply | Promise<DatastoreReply>;
    try {
      reply = this.store.execute(request);
    } catch (err) {
      return target.completeBuffer(seq, failure(err));
    }
    if (!(reply instanceof Promise)) return target.completeBuffer(seq, req.expectReply ? encodeReply(reply) : NO_REPLY);
    this.pending++;
    reply.then(
      (r) => target.completeBuffer(seq, encodeReply(r)),
      (err: unknown) => target.completeBuffer(seq, failure(err)),
    ).finally(() => this.pending--);
  }
}

function failure(err: unknown): Buffer {
  return respErrorText(`Storage: ${err instanceof Error ? err.message : String(err)}`);
}
