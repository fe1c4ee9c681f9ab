// PUBLISH / SPUBLISH between nodes. Every node keeps the subscriptions of its own clients
// (src/net/pubsub.ts); a message published at a node is delivered there and relayed to the other
// nodes, which deliver it to their own subscribers and answer how many received it:
//
//   client PUBLISH ch msg ─► node A: deliver locally (n0)
//                            └─► every peer in scope: dnode REQ (type 3)  "HMGET <carrier key> PUBLISH ch msg"
//                                  ├─ our peer: deliver locally, answer `:n`  (never its datastore)
//                                  └─ a Netflix peer: runs the HMGET on its redis (a read of a key
//                                     nobody writes) and answers an array: counted as 0
//                            ◄── `:n0 + n1 + ...` once every peer answered, failed or timed out
//
// Type 3 is "run it here, relay it nowhere" (as broadcast.ts sends SCRIPT LOAD), so each node gets
// the message exactly once however many racks and DCs there are. The scope is `pubsub_scope`: every
// node of every DC (the default, as Redis Cluster delivers a PUBLISH to every node) or this DC only.
//
// Why a carrier and not the PUBLISH command itself: a Netflix node knows no PUBLISH. Its parser
// (dyn_redis.c) takes an unknown command as a parse error and closes the connection, here the
// dnode link, failing every request in flight on it. HMGET key field... is a command Netflix
// parses with any number of fields and answers from its datastore, so a Netflix peer in the ring
// sees one harmless read. The carrier key is reserved: a client's own HMGET of that key, routed
// to the key's owners, would be taken by them as a publish.
import { ABI } from '../wasm/abi.js';
import type { Core } from '../wasm/core.js';
import { stagingScratch } from '../wasm/framer.js';
import type { DynErrorCode } from '../errors.js';
import { decodeMultibulk, encodeMultibulk } from '../protocol/args.js';
import type { Topology } from '../route/topology.js';
import { PEER_SEND_WRITE, type FramedRequest, type Peer, type ReplyTarget } from './request.js';

/** The hash key the relay's HMGET names. */
export const PUBSUB_CARRIER_KEY = '__dynomite_ts_pubsub__';
const CARRIER_KEY = Buffer.from(PUBSUB_CARRIER_KEY, 'latin1');
const HMGET = Buffer.from('HMGET');
const OP_PUBLISH = Buffer.from('PUBLISH');
const OP_SPUBLISH = Buffer.from('SPUBLISH');

/** Which nodes a PUBLISH reaches: every node of every DC, or those of this node's DC. */
export type PubSubScope = 'cluster' | 'datacenter';

/** Where a relayed message is delivered on the receiving node. */
export interface PublishSink {
  /** Delivers to this node's subscribers; returns how many received it. */
  deliver(shard: boolean, channel: Buffer, message: Buffer): number;
}

/** The relay request's bytes: `HMGET <carrier key> PUBLISH|SPUBLISH <channel> <message>`. */
export function encodeCarrier(shard: boolean, channel: Buffer, message: Buffer): Buffer {
  return encodeMultibulk([HMGET, CARRIER_KEY, shard ? OP_SPUBLISH : OP_PUBLISH, channel, message]);
}

/**
 * When req (framed from a peer) is a relayed publish: delivers it to sink and returns the reply
 * (`:n`); otherwise undefined (an ordinary request). `hmget` is the command id of HMGET.
 */
export function peerPublish(core: Core, req: FramedRequest, hmget: number, sink: PublishSink): Buffer | undefined {
  const i32 = core.i32;
  const r = req.rec;
  if (i32[r + ABI.REC_CMD] !== hmget || i32[r + ABI.REC_ARGC] !== 5 || req.inline) return undefined;
  const k = (core.keyPtr >> 2) + i32[r + ABI.REC_KEY_FIRST] * ABI.KEY_WORDS;
  const keyLen = i32[k + ABI.KEY_LEN];
  if (keyLen !== CARRIER_KEY.length) return undefined;
  const keyOff = req.base + i32[k + ABI.KEY_OFF];
  if (!CARRIER_KEY.equals(core.u8.subarray(keyOff, keyOff + keyLen))) return undefined;
  const args = decodeMultibulk(core.u8, req.off, req.len);
  const op = args[2]!;
  const shard = op.equals(OP_SPUBLISH);
  if (!shard && !op.equals(OP_PUBLISH)) return undefined;
  return Buffer.from(`:${sink.deliver(shard, args[3]!, args[4]!)}\r\n`, 'latin1');
}

export interface PublishRelayOptions {
  readonly core: Core;
  readonly topology: () => Topology;
  readonly peer: (node: number) => Peer | undefined;
  readonly scope: PubSubScope;
}

/** Sums the peers' counts of one relayed message; calls done once every peer answered or failed. */
class PublishCount implements ReplyTarget {
  private sum = 0;

  constructor(
    private remaining: number,
    private readonly done: (receivers: number) => void,
  ) {}

  complete(_slot: number, src: Uint8Array, off: number, len: number): void {
    // `:n\r\n` from our peers; anything else (a Netflix peer's HMGET reply, an error) counts 0.
    if (len > 3 && src[off] === 58 /* : */) {
      const n = Number(Buffer.from(src.buffer, src.byteOffset + off + 1, len - 3).toString('latin1'));
      if (Number.isSafeInteger(n) && n > 0) this.sum += n;
    }
    this.step();
  }

  completeBuffer(slot: number, b: Buffer): void {
    this.complete(slot, b, 0, b.length);
  }

  fail(_slot: number, _code: DynErrorCode): void {
    this.step();
  }

  private step(): void {
    if (--this.remaining === 0) this.done(this.sum);
  }
}

/** Sends published messages to the other nodes (see the header). */
export class PublishRelay {
  constructor(private readonly o: PublishRelayOptions) {}

  /** The peers a message goes to: node indexes (0 is this node, never included). */
  private targets(): number[] {
    const t = this.o.topology();
    const out: number[] = [];
    for (let n = 1; n < t.nodes.length; n++) {
      if (this.o.scope === 'cluster' || t.nodes[n]!.isLocalDc) out.push(n);
    }
    return out;
  }

  /**
   * Relays one message to every peer in scope; done(receivers at the peers) runs once each peer
   * answered, failed (down, timed out: it counts 0) or could not be sent to. Returns false, without
   * calling done, when no peer is in scope.
   */
  publish(shard: boolean, channel: Buffer, message: Buffer, done: (receivers: number) => void): boolean {
    const targets = this.targets();
    if (targets.length === 0) return false;
    const count = new PublishCount(targets.length, done);
    const bytes = encodeCarrier(shard, channel, message);
    const core = this.o.core;
    // Sent from core memory like any request: past the bytes being framed right now (each send
    // copies them before returning).
    const at = stagingScratch(core, bytes.length);
    if (at >= 0) core.u8.set(bytes, at);
    for (const n of targets) {
      const link = this.o.peer(n);
      if (at < 0) {
        count.fail(n, 'DYN_ERR_PAYLOAD_TOO_LARGE');
        continue;
      }
      if (link === undefined || !link.up) {
        count.fail(n, 'PEER_ERR_NOT_CONNECTED');
        continue;
      }
      link.send(ABI.DN_TYPE_REQ, count, n, at, bytes.length, 0, PEER_SEND_WRITE);
    }
    return true;
  }
}
