// Requests every node of every rack and datacenter runs (SCRIPT LOAD / FLUSH / KILL, FT.CREATE ...),
// as Netflix routes them (ROUTING_ALL_NODES_ALL_RACKS_ALL_DCS: a dnode REQ, type 3, to every peer,
// so no receiver relays it again).
//
//   dispatch ─► local datastore ──────────┐
//            ─► every peer (dnode type 3) ─┼─► Broadcast: counts down ─► client gets the local reply
//               (down peer: failed now,   ─┘     once every node answered or failed
//                hinted when `hint` says so)
//
// Netflix answers the client with the local reply at once (DC_ONE) and drops the peers' replies. We
// wait for every node (each one answers or times out), so a client that runs SCRIPT LOAD and then
// EVALSHA through any other node finds the script there: no race with the copies still in flight.
// A peer that cannot be reached gets a hint (replayed when it is back) for the commands whose
// replay is harmless (SCRIPT LOAD, SCRIPT FLUSH, index definitions); SCRIPT KILL only matters now.
import type { DynErrorCode } from '../errors.js';
import { ABI } from '../wasm/abi.js';
import type { HintSink } from './fanout.js';
import { PEER_SEND_WRITE, type Backend, type FramedRequest, type Peer, type ReplyTarget } from './request.js';

/** One broadcast request: answers `target`'s slot once every node has answered. */
class Broadcast implements ReplyTarget {
  private remaining: number;
  private local: Buffer | undefined;
  private localError: DynErrorCode | undefined;

  constructor(
    private readonly target: ReplyTarget,
    private readonly seq: number,
    nodes: number,
  ) {
    this.remaining = nodes;
  }

  // Slot 0 is the local datastore (its reply is the client's), every other slot a peer.
  complete(slot: number, src: Uint8Array, off: number, len: number): void {
    if (slot === 0) this.local = Buffer.from(src.subarray(off, off + len));
    this.done();
  }

  completeBuffer(slot: number, b: Buffer): void {
    if (slot === 0) this.local = Buffer.from(b);
    this.done();
  }

  fail(slot: number, code: DynErrorCode): void {
    if (slot === 0) this.localError = code;
    this.done();
  }

  private done(): void {
    if (--this.remaining !== 0) return;
    if (this.local !== undefined) this.target.completeBuffer(this.seq, this.local);
    else this.target.fail(this.seq, this.localError ?? 'STORAGE_ERR_CLOSED');
  }
}

export interface BroadcastContext {
  readonly core: { readonly u8: Uint8Array };
  readonly local: Backend;
  /** Number of nodes in the topology (index 0 = this node). */
  readonly nodes: number;
  readonly peer: (node: number) => Peer | undefined;
  readonly hints: HintSink | undefined;
}

/**
 * Sends req (core.u8[req.off, req.off+req.len)) to every peer and to the local datastore; target's
 * slot seq gets the local datastore's reply once every node answered. `hint`: keep a hint for a
 * peer that cannot be reached.
 */
export function broadcast(ctx: BroadcastContext, target: ReplyTarget, seq: number, req: FramedRequest,
  affinity: number, hint: boolean): void {
  const b = new Broadcast(target, seq, ctx.nodes);
  const hints = hint ? ctx.hints : undefined;
  const u8 = ctx.core.u8;
  for (let n = 1; n < ctx.nodes; n++) {
    const link = ctx.peer(n);
    if (link === undefined || !link.up) {
      hints?.add(n, ABI.DN_TYPE_REQ, u8, req.off, req.len, 0);
      b.fail(n, 'PEER_ERR_NOT_CONNECTED');
      continue;
    }
    const replyTo = hints !== undefined ? hints.guard(b, n, ABI.DN_TYPE_REQ, u8, req.off, req.len, 0) : b;
    link.send(ABI.DN_TYPE_REQ, replyTo, n, req.off, req.len, affinity, PEER_SEND_WRITE);
  }
  // Last: the local reply may complete synchronously, and the peers' sends copied the bytes already.
  ctx.local.forward(b, 0, req, affinity);
}
