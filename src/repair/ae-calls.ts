// Anti-entropy's way to run commands: built requests sent to the local datastore (node 0, on the
// node's own datastore connections: not the client path) or to a peer over its dnode link, with a
// promise per batch. Every command of one batch goes with the same affinity, so the datastore
// connection (or peer socket) is one and the replies come back in order.
import type { Core } from '../wasm/core.js';
import { stagingScratch } from '../wasm/framer.js';
import { encodeMultibulk } from '../protocol/args.js';
import type { DynErrorCode } from '../errors.js';
import { ABI } from '../wasm/abi.js';
import { PEER_SEND_WRITE, type Backend, type FramedRequest, type Peer, type ReplyTarget } from '../dispatch/request.js';

/** A command failed before any reply: the error code and where. */
export class CallError extends Error {
  constructor(readonly code: DynErrorCode, where: string) {
    super(`${where}: ${code}`);
  }
}

/** Collects the replies of one batch; resolves when every slot was answered or failed. */
class Batch implements ReplyTarget {
  readonly replies: (Buffer | undefined)[];
  private left: number;
  private failure: DynErrorCode | undefined;
  resolve!: (r: Buffer[]) => void;
  reject!: (e: Error) => void;

  constructor(n: number, private readonly where: string) {
    this.replies = new Array<Buffer | undefined>(n);
    this.left = n;
  }

  complete(seq: number, src: Uint8Array, off: number, len: number): void {
    this.done(seq, Buffer.from(src.subarray(off, off + len)));
  }

  completeBuffer(seq: number, b: Buffer): void {
    this.done(seq, b);
  }

  fail(seq: number, code: DynErrorCode): void {
    this.failure ??= code;
    this.done(seq, undefined);
  }

  private done(seq: number, b: Buffer | undefined): void {
    if (this.replies[seq] !== undefined) return;
    this.replies[seq] = b;
    if (--this.left > 0) return;
    if (this.failure !== undefined) this.reject(new CallError(this.failure, this.where));
    else this.resolve(this.replies as Buffer[]);
  }
}

export interface CallContext {
  readonly core: Core;
  readonly local: Backend;
  readonly peer: (node: number) => Peer | undefined;
}

let nextAffinity = 0x4ae00000;

/**
 * Sends each command (argument lists) to node `node` (0 = the local datastore) and returns the
 * replies in order; rejects with a CallError naming the node when any failed. The bytes counted
 * (request + reply) go to `bytes` when given.
 */
export function call(ctx: CallContext, node: number, commands: readonly (readonly Buffer[])[], where: string,
  bytes?: { n: number }, isWrite = false): Promise<Buffer[]> {
  if (commands.length === 0) return Promise.resolve([]);
  const batch = new Batch(commands.length, where);
  const p = new Promise<Buffer[]>((resolve, reject) => {
    batch.resolve = resolve;
    batch.reject = reject;
  });
  const affinity = nextAffinity++ & 0x7fffffff;
  const link = node === 0 ? undefined : ctx.peer(node);
  for (let i = 0; i < commands.length; i++) {
    const req = encodeMultibulk(commands[i]!);
    if (bytes) bytes.n += req.length;
    const at = stagingScratch(ctx.core, req.length);
    if (at < 0) {
      batch.fail(i, 'DYN_ERR_PAYLOAD_TOO_LARGE');
      continue;
    }
    ctx.core.u8.set(req, at);
    if (node === 0) {
      const fr: FramedRequest = { off: at, len: req.length, rec: 0, base: at, expectReply: true, inline: false, src: 'built' };
      ctx.local.forward(batch, i, fr, affinity);
    } else if (link === undefined) {
      batch.fail(i, 'PEER_ERR_NOT_CONNECTED');
    } else {
      link.send(ABI.DN_TYPE_REQ, batch, i, at, req.length, affinity, isWrite ? PEER_SEND_WRITE : 0);
    }
  }
  if (bytes) void p.then((r) => { for (const b of r) bytes.n += b.length; }, () => undefined);
  return p;
}
