// Transactions in a cluster. A transaction is one unit only if all of it runs on one datastore of
// each replica, so every key of it (queued commands and WATCH) must have the same owner in every
// rack: the first key fixes the owners, a key owned elsewhere is refused when queued (CROSSSLOT,
// Redis Cluster's words) and EXEC then answers EXECABORT with nothing sent. Broadcast commands
// (FLUSHALL, SCRIPT LOAD ...) cannot be in one either.
//
// At EXEC the block (MULTI, the commands, EXEC) travels as ONE request, so it is planned, fanned out,
// coalesced and hinted exactly like a write of its first key (or a read, when nothing in it writes):
//
//   DYNO_TX <routing key> <MULTI request> <request> ... <EXEC request>
//
// Each argument after the key is a complete RESP request. A node that receives DYNO_TX (from its own
// client path or from a peer, dnode type 3 or 4) hands the requests to its datastore as one block
// (BlockUnwrap -> BlockBackend.forwardBlock) and answers EXEC's reply. The replicas' EXEC replies
// are coalesced as any replies: at DC_ONE the local rack's owner answers; at DC_QUORUM / DC_SAFE_QUORUM
// a quorum of identical EXEC arrays, else the quorum error. A hint replays the whole block.
//
// WATCH is refused in a cluster: it is connection state of each replica's datastore, kept from
// WATCH to EXEC; the peers have no such per-client connection today.
import { ABI } from '../wasm/abi.js';
import type { Core } from '../wasm/core.js';
import { stagingScratch } from '../wasm/framer.js';
import type { ConsistencyLevel } from '../conf/types.js';
import { decodeMultibulk, encodeMultibulk } from '../protocol/args.js';
import { groupKeysByOwner } from '../route/planner.js';
import type { Topology } from '../route/topology.js';
import type { Backend, BlockBackend, FramedRequest, ReplyTarget } from './request.js';
import { BackendDecorator } from './backend-decorator.js';
import type { TxDispatch, TxRoute } from './dispatcher.js';

export const DYNO_TX = Buffer.from('DYNO_TX', 'latin1');

/** The local datastore as the cluster sees it: DYNO_TX requests run as one block. */
export class BlockUnwrap extends BackendDecorator {
  readonly blocks: BlockBackend | undefined;

  constructor(
    inner: Backend,
    private readonly core: Core,
    /** Command id of DYNO_TX. */
    private readonly txCommand: number,
  ) {
    super(inner);
    this.blocks = inner.blocks;
  }

  forward(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number): void {
    if (req.src === 'tx' || (req.src === undefined && this.core.i32[req.rec + ABI.REC_CMD] === this.txCommand)) {
      if (this.blocks === undefined) {
        target.completeBuffer(seq, Buffer.from(`-ERR Dynomite: no transactions on the datastore ${this.inner.name}\r\n`, 'latin1'));
        return;
      }
      const args = decodeMultibulk(this.core.u8, req.off, req.len);
      this.blocks.forwardBlock(target, seq, args.slice(2), affinity);
      return;
    }
    this.inner.forward(target, seq, req, affinity);
  }
}

/** What ClusterTx needs from the cluster dispatcher. */
export interface TxSender {
  readonly core: Core;
  topology(): Topology;
  /** Every rack of every DC (a write's replicas). */
  everyRack(topo: Topology): readonly number[];
  /** Sends req like a single-key request of routing token `token`. */
  single(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number, token: number, isWrite: boolean, level: ConsistencyLevel): void;
  /** The local datastore (keyless transactions run there, as keyless commands do). */
  readonly local: Backend;
}

const CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot (dynomite: every key of a transaction must have the same owner; put them under one hash tag)";

/** A transaction route with its routing key (DYNO_TX's first argument). */
interface ClusterRoute extends TxRoute {
  key?: Buffer;
}

export class ClusterTx implements TxDispatch {
  private readonly sub: FramedRequest = { off: 0, len: 0, rec: 0, base: 0, expectReply: true, inline: false, src: 'tx' };

  constructor(private readonly d: TxSender) {}

  admit(route: ClusterRoute, req: FramedRequest): string | undefined {
    const core = this.d.core;
    const i32 = core.i32;
    const flags = i32[req.rec + ABI.REC_FLAGS];
    if ((flags & ABI.CF_BROADCAST) !== 0) {
      const nameOff = req.base + i32[req.rec + ABI.REC_NAME_OFF];
      const name = core.buf.toString('latin1', nameOff, nameOff + Math.min(i32[req.rec + ABI.REC_NAME_LEN], 64)).toLowerCase();
      return `ERR Command not allowed inside a transaction: '${name}' goes to every node of the cluster`;
    }
    const nkeys = i32[req.rec + ABI.REC_NKEYS];
    if (nkeys <= 0) return undefined;
    const first = i32[req.rec + ABI.REC_KEY_FIRST];
    const kb = core.keyPtr >> 2;
    const tokens: number[] = [];
    if (route.keyed) tokens.push(route.token);
    for (let k = 0; k < nkeys; k++) tokens.push(i32[kb + (first + k) * ABI.KEY_WORDS + ABI.KEY_TOKEN]! >>> 0);
    const topo = this.d.topology();
    if (groupKeysByOwner(topo, tokens, this.d.everyRack(topo)).length > 1) return CROSSSLOT;
    if (!route.keyed) {
      const at = req.base + i32[kb + first * ABI.KEY_WORDS + ABI.KEY_OFF];
      route.key = Buffer.from(core.u8.subarray(at, at + i32[kb + first * ABI.KEY_WORDS + ABI.KEY_LEN]));
      route.token = tokens[0]!;
      route.keyed = true;
    }
    return undefined;
  }

  watch(target: ReplyTarget, seq: number): void {
    target.completeBuffer(seq, Buffer.from('-ERR Dynomite: WATCH is not supported in a cluster (MULTI / EXEC are)\r\n', 'latin1'));
  }

  exec(target: ReplyTarget, seq: number, block: readonly Buffer[], affinity: number, route: ClusterRoute,
    isWrite: boolean, level: ConsistencyLevel): void {
    const blocks = this.d.local.blocks;
    if (!route.keyed || route.key === undefined) {
      // No key at all (PING, TIME ...): the local datastore, as for a keyless command.
      if (blocks === undefined) target.completeBuffer(seq, Buffer.from('-ERR Dynomite: no transactions on this datastore\r\n', 'latin1'));
      else blocks.forwardBlock(target, seq, block, affinity);
      return;
    }
    const bytes = encodeMultibulk([DYNO_TX, route.key, ...block]);
    const core = this.d.core;
    const at = stagingScratch(core, bytes.length);
    if (at < 0) {
      target.fail(seq, 'DYN_ERR_PAYLOAD_TOO_LARGE');
      return;
    }
    core.u8.set(bytes, at);
    const sub = this.sub;
    sub.off = at;
    sub.len = bytes.length;
    this.d.single(target, seq, sub, affinity, route.token, isWrite, level);
  }

  release(): void {
    // Nothing is reserved in a cluster (no WATCH).
  }
}
