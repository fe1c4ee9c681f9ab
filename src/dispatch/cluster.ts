// The cluster dispatcher: every client request is placed on the ring and sent to its replicas
// (its branches, keyless / broadcast / multi-key / single key, are drawn in the chain in
// src/dispatch/request.ts). EVAL/EVALSHA keys must share one owner, else the Netflix error.
//
// Requests arriving from peers (dnode type 3) go straight to the local datastore; type 4
// (REQ_FORWARD from another DC) is re-planned inside this DC (DC_ONE write semantics: applied here,
// sent on to the owner in each local rack, answered with the first reply).
import { ABI } from '../wasm/abi.js';
import type { Core } from '../wasm/core.js';
import { stagingScratch } from '../wasm/framer.js';
import type { ConsistencyLevel } from '../conf/types.js';
import { decodeInline, decodeMultibulk, encodeMultibulk } from '../protocol/args.js';
import { plan, groupKeysByOwner, Plan, type Health } from '../route/planner.js';
import type { Topology } from '../route/topology.js';
import { PEER_SEND_NOREPLY, PEER_SEND_WRITE, type Backend, type FramedRequest, type Peer, type PeerRequestType, type ReplyTarget } from './request.js';
import type { DynErrorCode } from '../errors.js';
import type { Dispatcher, TxDispatch } from './dispatcher.js';
import { Fanout } from './fanout.js';
import { FragmentedRequest, type MergePolicy } from './fragment.js';
import { broadcast } from './broadcast.js';
import { BlockUnwrap, ClusterTx, type TxSender } from './cluster-tx.js';
import { loadCommandTable } from '../wasm/commands.js';
import { peerPublish, type PublishSink } from './publish.js';

export interface ClusterDispatcherOptions {
  core: Core;
  local: Backend;
  protocol: 'redis' | 'memcache';
  /** The current topology snapshot (swapped whole when membership changes). */
  topology: () => Topology;
  peer: (node: number) => Peer | undefined;
  /** Is the local datastore usable (not ejected). */
  localUp: () => boolean;
  timeoutMs: () => number;
  onNonQuorum?(isWrite: boolean): void;
  onFragments?(n: number): void;
  /** Read repair on: quorum reads keep their key so divergent replicas can be rewritten. */
  readRepairs?: () => boolean;
  /** Pub/sub: messages relayed by peers are delivered here (src/dispatch/publish.ts). */
  publish?: { readonly sink: PublishSink; readonly hmgetCommand: number };
  /** This node's state lets a request from a peer reach the local datastore (control.ts allows). @default always */
  admits?: (isWrite: boolean) => boolean;
}

const LOCAL_ONLY_WRITE: ConsistencyLevel = 'DC_ONE';

function servesReads(p: Peer | undefined): boolean {
  return p !== undefined && p.up && (p.serves?.reads ?? true);
}
/**
 * After the local datastore failed a request, plans treat it as down for this long; then one
 * request tries it again (a DC_ONE read that fails at once still fails over, see localRead).
 */
const LOCAL_RETRY_MS = 1000;

/**
 * One DC_ONE read sent to the local datastore while other local racks could serve it: passes the
 * reply through, and reports a datastore failure to the dispatcher instead of to the client when it
 * happens inside forward() (the request bytes are still in core memory: the read is re-planned to
 * another rack). Pooled: no allocation per request once warm.
 */
class LocalRead implements ReplyTarget {
  target: ReplyTarget | undefined;
  /** True while the dispatcher is inside local.forward() for this read. */
  sync = false;
  /** A datastore failure arrived synchronously: the dispatcher retries elsewhere. */
  failedSync = false;
  /** Answered synchronously: the dispatcher releases it after forward() returns. */
  doneSync = false;

  constructor(private readonly d: ClusterDispatcher) {}

  complete(seq: number, src: Uint8Array, off: number, len: number): void {
    this.d.localAnswered();
    this.target!.complete(seq, src, off, len);
    this.done();
  }

  completeBuffer(seq: number, b: Buffer): void {
    this.d.localAnswered();
    this.target!.completeBuffer(seq, b);
    this.done();
  }

  fail(seq: number, code: DynErrorCode): void {
    const storage = isStorageError(code);
    if (storage) this.d.localFailed();
    if (storage && this.sync) {
      this.failedSync = true;
      return;
    }
    this.target!.fail(seq, code);
    this.done();
  }

  private done(): void {
    if (this.sync) this.doneSync = true;
    else this.d.releaseLocalRead(this);
  }
}

function isStorageError(code: DynErrorCode): boolean {
  return code.charCodeAt(0) === 83 /* S */ && code.startsWith('STORAGE_');
}

export class ClusterDispatcher implements Dispatcher, TxSender {
  readonly fanout: Fanout;
  /** Transactions: one block per replica (src/dispatch/cluster-tx.ts). */
  readonly tx: TxDispatch | undefined;
  /** The local datastore; DYNO_TX requests (transaction blocks) run on it as one block. */
  readonly local: Backend;
  readonly core: Core;
  private readonly plan = new Plan();
  private readonly health: Health;
  /** health for DC_ONE reads (see localReadable). */
  private readonly readHealth: Health;
  /** health for quorum reads: peers whose state refuses reads are skipped. */
  private readonly quorumReadHealth: Health;
  private readonly sub: FramedRequest = { off: 0, len: 0, rec: 0, base: 0, expectReply: true, inline: false };
  /**
   * When the local datastore last failed a request (Date.now()), 0 while it answers. The backend's
   * own `available` only turns false once it ejects the datastore (after server_failure_limit
   * failures, never with auto_eject_hosts: false), so without this a DC_ONE read through a node
   * whose redis died got `-ERR Storage: Datastore refused connection` instead of failing over.
   */
  private localFailedAt = 0;
  private readonly localReads: LocalRead[] = [];

  /** Answers anti-entropy's reserved requests from peers (repair/anti-entropy.ts); set after start. */
  antiEntropy: { onPeerRequest(target: ReplyTarget, seq: number, req: FramedRequest): boolean } | undefined;

  constructor(private readonly o: ClusterDispatcherOptions) {
    this.core = o.core;
    const txCommand = o.protocol === 'redis' ? loadCommandTable(o.core).byName('DYNO_TX')?.id ?? -1 : -1;
    this.local = txCommand > 0 ? new BlockUnwrap(o.local, o.core, txCommand) : o.local;
    this.tx = txCommand > 0 && o.local.blocks !== undefined ? new ClusterTx(this) : undefined;
    this.fanout = new Fanout(o.core, this.local, o.peer, o.timeoutMs, {
      onNonQuorum: o.onNonQuorum,
      onLocalReply: () => this.localAnswered(),
      onLocalFailure: (code) => {
        if (isStorageError(code)) this.localFailed();
      },
    });
    // Reads skip a peer whose gossiped state refuses them (STANDBY, WRITES_ONLY, RESUMING) and go to
    // another replica. Writes still go to it: it answers Netflix's state error, and a write that must
    // land there later is the operator's repair, not a hint that would replay into the same refusal.
    this.health = (node: number): boolean => (node === 0 ? o.localUp() : o.peer(node)?.up ?? false);
    this.readHealth = (node: number): boolean => (node === 0 ? this.localReadable() : servesReads(o.peer(node)));
    this.quorumReadHealth = (node: number): boolean => (node === 0 ? o.localUp() : servesReads(o.peer(node)));
  }

  /**
   * The local datastore for DC_ONE reads: not after a recent failure. Only those reads use it:
   * writes (and quorum reads) keep going to the local datastore, so a transient error never makes a
   * live replica miss writes, and their replies clear the mark (localAnswered).
   */
  private localReadable(): boolean {
    if (!this.o.localUp()) return false;
    return this.localFailedAt === 0 || Date.now() - this.localFailedAt >= LOCAL_RETRY_MS;
  }

  /** @internal The local datastore answered a request. */
  localAnswered(): void {
    this.localFailedAt = 0;
  }

  /** @internal The local datastore failed a request (refused, closed, timed out). */
  localFailed(): void {
    this.localFailedAt = Date.now();
  }

  /** @internal */
  releaseLocalRead(r: LocalRead): void {
    r.target = undefined;
    if (this.localReads.length < 1024) this.localReads.push(r);
  }

  start(): void {
    this.fanout.start();
  }

  stop(): void {
    this.fanout.stop();
  }

  dispatch(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number, level: ConsistencyLevel): void {
    const i32 = this.o.core.i32;
    const r = req.rec;
    const flags = i32[r + ABI.REC_FLAGS];
    const nkeys = i32[r + ABI.REC_NKEYS];
    if ((flags & ABI.CF_BROADCAST) !== 0) {
      const kind = this.broadcastKind(req);
      if (kind !== 0) {
        const o = this.o;
        return broadcast({ core: o.core, local: this.local, nodes: o.topology().nodes.length, peer: o.peer, hints: this.fanout.hints },
          target, seq, req, affinity, kind === 1);
      }
    }
    if (nkeys <= 0) return this.local.forward(target, seq, req, affinity);
    const isWrite = (flags & ABI.CF_WRITE) !== 0;
    if (nkeys > 1 && (flags & (ABI.CF_FRAGMENT | ABI.CF_SCRIPT)) !== 0) {
      const groups = this.groups(req, nkeys, isWrite || level === 'DC_EACH_SAFE_QUORUM');
      if (groups.length > 1) {
        if ((flags & ABI.CF_SCRIPT) !== 0) return target.fail(seq, 'DYN_ERR_SCRIPT_SPAN');
        return this.fragment(target, seq, req, affinity, level, isWrite, groups);
      }
    }
    this.single(target, seq, req, affinity, i32[r + ABI.REC_TOKEN] >>> 0, isWrite, level);
  }

  /** @internal TxSender: the current topology. */
  topology(): Topology {
    return this.o.topology();
  }

  /** @internal TxSender: every rack of every DC. */
  everyRack(topo: Topology): readonly number[] {
    return this.rackList(topo, true);
  }

  /** Sends one request (one routing token) to its replicas. */
  single(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number, token: number,
    isWrite: boolean, level: ConsistencyLevel): void {
    const health = isWrite ? this.health : level === 'DC_ONE' ? this.readHealth : this.quorumReadHealth;
    const p = plan(this.o.topology(), { token, isWrite, consistency: level }, health, this.plan);
    if (p.targets.length === 1) {
      // One replica (single rack, or a DC_ONE read): no coalescing needed, the reply passes through.
      const t = p.targets[0]!;
      if (t.skipped) return target.fail(seq, 'PEER_ERR_DOWN');
      if (t.kind === 'local') {
        // A DC_ONE read with other local racks to fall back on: watch for a dead datastore.
        if (!isWrite && level === 'DC_ONE' && this.o.topology().dcs[0]!.racks.length > 1) {
          return this.localRead(target, seq, req, affinity, token, level);
        }
        return this.local.forward(target, seq, req, affinity);
      }
      const link = this.o.peer(t.node);
      if (!link) return target.fail(seq, 'PEER_ERR_NOT_CONNECTED');
      // Memcached noreply: the peer sends nothing back, so the link must not wait for a RES (it
      // would time out and fail every request in flight on that link). Fanout sets it likewise.
      return link.send(t.kind === 'forward' ? ABI.DN_TYPE_REQ_FORWARD : ABI.DN_TYPE_REQ, target, seq, req.off, req.len, affinity,
        (isWrite ? PEER_SEND_WRITE : 0) | (req.expectReply ? 0 : PEER_SEND_NOREPLY));
    }
    const r = this.fanout.send(target, seq, req, affinity, p, level);
    if (r && !isWrite && this.o.readRepairs?.()) r.key = this.firstKey(req);
  }

  /**
   * A DC_ONE read on the local datastore. A datastore that is down fails the request inside
   * forward() (ServerPool fails fast while it waits to reconnect): the read is then re-planned with
   * the local datastore marked down, i.e. sent to the owner in the next local rack (where Netflix
   * answers `-ERR Storage: Datastore refused connection`). A failure after forward()
   * returned (the datastore died with the request in flight) reaches the client: the bytes are gone.
   */
  private localRead(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number, token: number,
    level: ConsistencyLevel): void {
    const r = this.localReads.pop() ?? new LocalRead(this);
    r.target = target;
    r.sync = true;
    r.failedSync = false;
    r.doneSync = false;
    this.local.forward(r, seq, req, affinity);
    r.sync = false;
    const retry = r.failedSync;
    if (retry || r.doneSync) this.releaseLocalRead(r);
    // localFailed() ran: the plan no longer picks this node, so this cannot loop.
    if (retry) this.single(target, seq, req, affinity, token, false, level);
  }

  /** A copy of the request's first key (read repair rewrites it on divergent replicas). */
  private firstKey(req: FramedRequest): Buffer | undefined {
    const core = this.o.core;
    const i32 = core.i32;
    if (i32[req.rec + ABI.REC_NKEYS] <= 0 || req.src !== undefined) return undefined;
    const k = (core.keyPtr >> 2) + i32[req.rec + ABI.REC_KEY_FIRST] * ABI.KEY_WORDS;
    const off = req.base + i32[k + ABI.KEY_OFF];
    return Buffer.from(core.u8.subarray(off, off + i32[k + ABI.KEY_LEN]));
  }

  /** A request from a peer: type 3 runs here; type 4 is replicated inside this DC. */
  onPeerRequest(target: ReplyTarget, seq: number, type: PeerRequestType, req: FramedRequest, affinity: number): void {
    if (type === ABI.DN_TYPE_REQ && this.antiEntropy?.onPeerRequest(target, seq, req)) return;
    if (type === ABI.DN_TYPE_REQ && this.o.publish !== undefined) {
      const reply = peerPublish(this.o.core, req, this.o.publish.hmgetCommand, this.o.publish.sink);
      if (reply !== undefined) return target.completeBuffer(seq, reply);
    }
    const i32 = this.o.core.i32;
    // Netflix refuses at the local datastore what its state does not allow, for peers as for clients.
    const local = (): void => {
      if (this.o.admits !== undefined && !this.o.admits((i32[req.rec + ABI.REC_FLAGS] & ABI.CF_WRITE) !== 0)) return target.fail(seq, 'DYN_ERR_STATE');
      this.local.forward(target, seq, req, affinity);
    };
    if (type === ABI.DN_TYPE_REQ) return local();
    const nkeys = i32[req.rec + ABI.REC_NKEYS];
    if (nkeys <= 0) return local();
    const token = i32[req.rec + ABI.REC_TOKEN] >>> 0;
    const p = plan(this.o.topology(), { token, isWrite: true, consistency: LOCAL_ONLY_WRITE }, this.health, this.plan);
    // Only this DC's racks: the forwarder already covered the other DCs.
    let j = 0;
    for (let i = 0; i < p.targets.length; i++) if (p.targets[i]!.isLocalDc) p.targets[j++] = p.targets[i]!;
    p.targets.length = j;
    if (j === 1 && p.targets[0]!.kind === 'local') return local();
    this.fanout.send(target, seq, req, affinity, p, LOCAL_ONLY_WRITE);
  }

  /** 0: not a broadcast; 1: every node runs it; 2: every node runs it, no hint (SCRIPT KILL). */
  private broadcastKind(req: FramedRequest): number {
    const core = this.o.core;
    const r = req.rec;
    if ((core.i32[r + ABI.REC_FLAGS] & ABI.CF_SUBCMD) === 0) return 1;
    // SCRIPT LOAD / FLUSH / KILL go everywhere; SCRIPT EXISTS stays local.
    const off = core.i32[r + ABI.REC_ARG1_OFF];
    if (off < 0) return 0;
    const len = core.i32[r + ABI.REC_ARG1_LEN];
    if (len < 4 || len > 5) return 0;
    const sub = core.buf.toString('latin1', req.base + off, req.base + off + len).toUpperCase();
    if (sub === 'LOAD' || sub === 'FLUSH') return 1;
    return sub === 'KILL' ? 2 : 0;
  }

  /**
   * Key positions grouped by owner in every rack the request reaches: the local DC's racks for
   * reads, every rack of every DC for writes (and DC_EACH_SAFE_QUORUM). A fragment is routed by its
   * first key everywhere (a remote DC's forward target re-plans it by that key), so its keys must
   * share their owner in each of those racks. Grouping by the local DC only put every key of an
   * MSET on one node of a remote DC whose token layout differs from ours.
   */
  private groups(req: FramedRequest, nkeys: number, everyDc: boolean): number[][] {
    const core = this.o.core;
    const topo = this.o.topology();
    const first = core.i32[req.rec + ABI.REC_KEY_FIRST];
    const tokens = new Uint32Array(nkeys);
    const kb = core.keyPtr >> 2;
    for (let k = 0; k < nkeys; k++) tokens[k] = core.i32[kb + (first + k) * ABI.KEY_WORDS + ABI.KEY_TOKEN]! >>> 0;
    return groupKeysByOwner(topo, tokens, this.rackList(topo, everyDc)).map((g) => g.keys);
  }

  /** Rack indexes of the local DC (or of every DC), computed once per topology snapshot. */
  private rackList(topo: Topology, everyDc: boolean): readonly number[] {
    if (this.racksOf !== topo) {
      this.racksOf = topo;
      this.localRacks = topo.dcs[0]!.racks.map((rk) => rk.index);
      this.allRacks = topo.racks.map((rk) => rk.index);
    }
    return everyDc ? this.allRacks : this.localRacks;
  }

  private racksOf: Topology | undefined;
  private localRacks: readonly number[] = [];
  private allRacks: readonly number[] = [];

  /** Splits a multi-key request per owner group and merges the replies in key order. */
  private fragment(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number, level: ConsistencyLevel,
    isWrite: boolean, groups: number[][]): void {
    const core = this.o.core;
    const i32 = core.i32;
    const first = i32[req.rec + ABI.REC_KEY_FIRST];
    const kb = core.keyPtr >> 2;
    const tokenOf = (k: number): number => i32[kb + (first + k) * ABI.KEY_WORDS + ABI.KEY_TOKEN]! >>> 0;
    const argOf = (k: number): number => i32[kb + (first + k) * ABI.KEY_WORDS + ABI.KEY_ARG]!;
    // The command table's merge column (memcached: its own table); MG_NONE routes by the first key.
    const cmd = i32[req.rec + ABI.REC_CMD]!;
    const mc = this.o.protocol === 'memcache';
    const policy = (mc ? core.exports.mcCmdMerge(cmd) : core.exports.cmdMerge(cmd)) as MergePolicy | typeof ABI.MG_NONE;
    if (policy === ABI.MG_NONE) return this.single(target, seq, req, affinity, tokenOf(0), isWrite, level);
    const args = mc ? mcArgs(core.u8, req.off, req.len)
      : req.inline ? decodeInline(core.u8, req.off, req.len) ?? [] : decodeMultibulk(core.u8, req.off, req.len);
    const name = args[0]!;
    // Key-value pairs (MSET): every key travels with its value.
    const kv = (i32[req.rec + ABI.REC_FLAGS]! & ABI.CF_KV) !== 0;
    const parent = new FragmentedRequest(target, seq, policy, groups, groups.reduce((n, g) => n + g.length, 0));
    const totalKeys = groups.reduce((s, g) => s + g.length, 0);
    if (policy === ABI.MG_MC_VALUES) parent.keyNames = Array.from({ length: totalKeys }, (_, k) => args[argOf(k)]!.toString('latin1'));
    // Arguments before the first key (memcached gat/gats: the exptime) go into every part.
    const prefix = args.slice(1, argOf(0));
    this.o.onFragments?.(groups.length);
    const sub = this.sub;
    for (let g = 0; g < groups.length; g++) {
      const keys = groups[g]!;
      const parts: Buffer[] = [name, ...prefix];
      for (const k of keys) {
        const a = argOf(k);
        parts.push(args[a]!);
        if (kv) parts.push(args[a + 1]!);
      }
      const bytes = this.o.protocol === 'memcache' ? Buffer.from(`${parts.map((b) => b.toString('latin1')).join(' ')}\r\n`, 'latin1') : encodeMultibulk(parts);
      // Sub-requests are forwarded from core memory like any request: stage them past the bytes
      // being dispatched right now (every target copies them before returning).
      const at = stagingScratch(core, bytes.length);
      if (at < 0) {
        parent.fail(g, 'DYN_ERR_PAYLOAD_TOO_LARGE');
        continue;
      }
      core.u8.set(bytes, at);
      sub.off = at;
      sub.len = bytes.length;
      sub.rec = req.rec;
      sub.base = req.base;
      sub.expectReply = true;
      sub.inline = false;
      sub.src = 'built';
      this.single(parent, g, sub, affinity, tokenOf(keys[0]!), isWrite, level);
    }
  }
}

/** The words of a memcached command line. */
function mcArgs(u8: Uint8Array, off: number, len: number): Buffer[] {
  let end = off;
  while (end < off + len && u8[end] !== 10) end++;
  const line = Buffer.from(u8.subarray(off, end)).toString('latin1').trim();
  return line.split(/ +/).map((w) => Buffer.from(w, 'latin1'));
}
