// One replicated request: sent to every target of its Plan, replies coalesced by a CoalesceTracker,
// exactly one reply (or error) to the client, stragglers drained (its place in the chain:
// src/dispatch/request.ts). A target's replies come back with child seq = request id * 64 + target
// index; a write's skipped or unreachable peers are also hinted (HintSink).
//
// A request lives in `inflight` (a Map in creation order, so the coarse deadline sweep stops at the
// first request still in time) until every target answered or its deadline passed.
import { ABI } from '../wasm/abi.js';
import type { Core } from '../wasm/core.js';
import { stagingScratchHigh } from '../wasm/framer.js';
import type { ConsistencyLevel } from '../conf/types.js';
import { DYN_ERRORS, isProxyErrorReply, type DynErrorCode } from '../errors.js';
import { type Plan } from '../route/planner.js';
import { PEER_SEND_NOREPLY, PEER_SEND_WRITE, type Backend, type FramedRequest, type Peer, type PeerRequestType, type ReplyTarget } from './request.js';
import { CoalesceTracker, DYN_ERR_QUORUM, DYN_ERR_TIMEOUT, type Decision } from './coalesce.js';

/** What happens next to a decided request's divergent replicas (read repair). */
export interface DivergenceSink {
  onDivergence(req: FanoutRequest, divergent: readonly number[], winner: Buffer | undefined): void;
}

/**
 * Hinted handoff (src/repair/hints.ts HintStore fits): writes a replica did not get. Hints never
 * count toward a quorum: the tracker still sees those replicas fail.
 */
export interface HintSink {
  /** A write target skipped at plan time (its peer is down): keep a copy of u8[off, off+len). */
  add(node: number, type: PeerRequestType, u8: Uint8Array, off: number, len: number, flags: number): void;
  /** The ReplyTarget to send a write with: a connection failure also keeps a hint. */
  guard(target: ReplyTarget, node: number, type: PeerRequestType, u8: Uint8Array, off: number, len: number, flags: number): ReplyTarget;
  /** After the send with a guard returned: the guard keeps the sender's copy, or copies the bytes now. */
  sealGuard(guard: ReplyTarget): void;
}

export interface FanoutHooks {
  onNonQuorum?(isWrite: boolean): void;
  /** The local datastore (node 0) answered / failed one of its targets (its health, for the planner). */
  onLocalReply?(): void;
  onLocalFailure?(code: DynErrorCode): void;
}

const MAX_TARGETS = 64;

/** A request in flight (exported for read repair, which needs its targets and key). */
export class FanoutRequest {
  id = 0;
  target: ReplyTarget | undefined;
  seq = 0;
  isWrite = false;
  deadline = 0;
  remaining = 0;
  decided = false;
  /** Awaited slot of each plan target (-1 = not awaited). */
  readonly slotOf: number[] = [];
  /** Node index of each plan target. */
  readonly nodeOf: number[] = [];
  /** Copies of replies held until the decision, by awaited slot. */
  readonly held: (Buffer | undefined)[] = [];
  /** Node index of each awaited slot. */
  readonly slotNode: number[] = [];
  /**
   * Replies are compared by their XXH64 digests alone (no exact-compare callback): a collision
   * between two different replies of one key is a 2^-64 event, and held copies are not kept for
   * replies the tracker decides on at once.
   */
  readonly tracker = new CoalesceTracker<number>('DC_ONE', [{ dc: 0, isLocalDc: true }]);
  /** Set by the dispatcher for read repair: the request's key and original bytes. */
  key: Buffer | undefined;
  /** Digest words of each awaited slot's reply (for comparing replies that arrive after the decision). */
  readonly digLo: number[] = [];
  readonly digHi: number[] = [];
  winLo = 0;
  winHi = 0;
}

export class Fanout implements ReplyTarget {
  /** Replies are coalesced on their digests: datastore connections frame them with one. */
  readonly readsDigests = true;
  private nextId = 1;
  private readonly inflight = new Map<number, FanoutRequest>();
  private readonly pool: FanoutRequest[] = [];
  private timer: NodeJS.Timeout | undefined;
  divergence: DivergenceSink | undefined;
  hints: HintSink | undefined;

  constructor(
    private readonly core: Core,
    private readonly local: Backend,
    private readonly peer: (node: number) => Peer | undefined,
    private readonly timeoutMs: () => number,
    private readonly hooks: FanoutHooks = {},
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sweep(Date.now()), 50);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const r of this.inflight.values()) this.finish(r, 'PEER_ERR_NOT_CONNECTED');
  }

  get size(): number {
    return this.inflight.size;
  }

  /**
   * Sends req to every target of plan p and answers target's slot seq once the level is met.
   * Returns the request (for the caller to attach repair data) or undefined when it was answered
   * without fan-out bookkeeping.
   */
  send(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number, p: Plan, level: ConsistencyLevel): FanoutRequest | undefined {
    const n = p.targets.length;
    if (n === 0 || n > MAX_TARGETS) {
      target.fail(seq, 'PEER_ERR_NOT_CONNECTED');
      return undefined;
    }
    const r = this.pool.pop() ?? new FanoutRequest();
    r.id = this.nextId++;
    r.target = target;
    r.seq = seq;
    r.isWrite = p.isWrite;
    r.decided = false;
    r.deadline = Date.now() + this.timeoutMs();
    r.key = undefined;
    r.slotOf.length = n;
    r.nodeOf.length = n;
    r.held.length = p.awaited.length;
    r.slotNode.length = p.awaited.length;
    r.digLo.length = p.awaited.length;
    r.digHi.length = p.awaited.length;
    r.held.fill(undefined);
    r.tracker.reset(level, p.awaited);
    let live = 0;
    for (let i = 0; i < n; i++) {
      const t = p.targets[i]!;
      r.slotOf[i] = t.awaited ? t.slot : -1;
      r.nodeOf[i] = t.node;
      if (t.awaited) r.slotNode[t.slot] = t.node;
      if (!t.skipped) live++;
    }
    // Count every send before the first one: a target may answer synchronously (the embedded
    // datastore, a peer failing fast) and must not see the request finished early.
    // One more for this loop itself: when the live targets all answer synchronously (the embedded
    // datastore) before a skipped target's failure completes the decision, the request must still
    // be there to take it (it was released early and the decision reached no one).
    r.remaining = live + 1;
    this.inflight.set(r.id, r);
    for (let i = 0; i < n; i++) {
      const t = p.targets[i]!;
      if (t.skipped) {
        if (p.isWrite && this.hints && t.kind !== 'local') {
          this.hints.add(t.node, t.kind === 'forward' ? ABI.DN_TYPE_REQ_FORWARD : ABI.DN_TYPE_REQ, this.core.u8, req.off, req.len, req.expectReply ? 0 : PEER_SEND_NOREPLY);
        }
        if (t.awaited && !r.decided) this.decide(r, r.tracker.onFailure(t.slot, 'PEER_ERR_DOWN'), undefined, 0, 0);
        continue;
      }
      const child = r.id * MAX_TARGETS + i;
      if (t.kind === 'local') {
        this.local.forward(this, child, req, affinity);
      } else {
        const link = this.peer(t.node);
        if (!link) {
          this.fail(child, 'PEER_ERR_NOT_CONNECTED');
          continue;
        }
        const flags = (p.isWrite ? PEER_SEND_WRITE : 0) | (req.expectReply ? 0 : PEER_SEND_NOREPLY);
        const type = t.kind === 'forward' ? ABI.DN_TYPE_REQ_FORWARD : ABI.DN_TYPE_REQ;
        const replyTo = p.isWrite && this.hints
          ? this.hints.guard(this, t.node, type, this.core.u8, req.off, req.len, flags & PEER_SEND_NOREPLY) : this;
        link.send(type, replyTo, child, req.off, req.len, affinity, flags);
        if (replyTo !== this) this.hints!.sealGuard(replyTo);
      }
    }
    if (--r.remaining === 0) this.finish(r, 'PEER_ERR_DOWN');
    // Every target answered synchronously: the request is already released.
    return this.inflight.has(r.id) ? r : undefined;
  }

  complete(child: number, src: Uint8Array, off: number, len: number, rec?: number): void {
    const i = child % MAX_TARGETS;
    const r = this.inflight.get((child - i) / MAX_TARGETS);
    if (!r) return; // a straggler of a request already finished (deadline passed)
    r.remaining--;
    if (r.nodeOf[i] === 0) this.hooks.onLocalReply?.();
    const slot = r.slotOf[i]!;
    if (!r.decided && slot >= 0) {
      const [lo, hi] = this.digest(src, off, len, rec);
      r.digLo[slot] = lo;
      r.digHi[slot] = hi;
      const isError = src[off] === 45; /* '-' */
      const d = r.tracker.onReply(slot, lo, hi, isError, slot);
      if (d) this.decide(r, d, src, off, len, slot);
      else r.held[slot] = Buffer.from(src.subarray(off, off + len));
    } else if (slot >= 0 && r.key !== undefined && this.divergence) {
      // A replica that answered after the decision (a stale peer behind a fast quorum) is still
      // compared with the winner, so read repair sees it too.
      const [lo, hi] = this.digest(src, off, len, rec);
      const d = r.tracker.decision;
      if (d?.ok && (lo !== r.winLo || hi !== r.winHi) && !isProxyErrorReply(src, off, len)) {
        this.divergence.onDivergence(r, [slot], undefined);
      }
    }
    if (r.remaining === 0) this.release(r);
  }

  completeBuffer(child: number, b: Buffer): void {
    this.complete(child, b, 0, b.length);
  }

  fail(child: number, code: DynErrorCode): void {
    const i = child % MAX_TARGETS;
    const r = this.inflight.get((child - i) / MAX_TARGETS);
    if (!r) return;
    r.remaining--;
    if (r.nodeOf[i] === 0) this.hooks.onLocalFailure?.(code);
    const slot = r.slotOf[i]!;
    if (!r.decided && slot >= 0) this.decide(r, r.tracker.onFailure(slot, code), undefined, 0, 0);
    if (r.remaining === 0) this.release(r);
  }

  private readonly words: [number, number] = [0, 0];

  /**
   * The reply's 64-bit equivalence key as two words, no BigInt: XXH64 of its bytes, read from its
   * frame record when the reply framer wrote one (a local datastore reply), else computed once here
   * (a peer's RES payload, the embedded datastore's reply).
   */
  private digest(src: Uint8Array, off: number, len: number, rec: number | undefined): [number, number] {
    const core = this.core;
    if (rec !== undefined) {
      this.words[0] = core.i32[rec + ABI.REC_DIGEST_LO]!;
      this.words[1] = core.i32[rec + ABI.REC_DIGEST_HI]!;
      return this.words;
    }
    const ex = core.exports;
    let at = off;
    if (src !== core.u8) {
      at = stagingScratchHigh(core, len);
      if (at < 0) {
        // Larger than the free staging: length plus an exact compare on ties keeps it correct.
        this.words[0] = len;
        this.words[1] = -1;
        return this.words;
      }
      core.u8.set(src.subarray(off, off + len), at);
    }
    this.words[0] = ex.digestLo(at, len);
    this.words[1] = ex.digestHi();
    return this.words;
  }

  private decide(r: FanoutRequest, d: Decision<number> | undefined, src: Uint8Array | undefined, off: number, len: number, slot = -1): void {
    if (!d || r.decided) return;
    r.decided = true;
    const target = r.target!;
    if (d.ok) {
      const w = d.winnerTarget;
      r.winLo = r.digLo[w] ?? 0;
      r.winHi = r.digHi[w] ?? 0;
      let winner: Buffer | undefined;
      if (w === slot && src) {
        target.complete(r.seq, src, off, len);
      } else {
        winner = r.held[w];
        if (winner) target.completeBuffer(r.seq, winner);
        else target.fail(r.seq, 'DYN_ERR_QUORUM');
      }
      if (d.divergent.length > 0 && this.divergence) {
        this.divergence.onDivergence(r, d.divergent, winner ?? (src ? Buffer.from(src.subarray(off, off + len)) : undefined));
      }
    } else {
      this.hooks.onNonQuorum?.(r.isWrite);
      target.fail(r.seq, errorCode(d.error));
    }
    r.held.fill(undefined);
  }

  /** Fails requests whose deadline passed (one coarse clock for all). */
  sweep(now: number): void {
    for (const r of this.inflight.values()) {
      if (r.deadline > now) break;
      if (!r.decided) this.decide(r, r.tracker.onTimeout(), undefined, 0, 0);
      this.release(r);
    }
  }

  private finish(r: FanoutRequest, code: DynErrorCode): void {
    if (!r.decided) {
      r.decided = true;
      r.target?.fail(r.seq, code);
    }
    this.release(r);
  }

  private release(r: FanoutRequest): void {
    if (!this.inflight.delete(r.id)) return;
    r.target = undefined;
    r.key = undefined;
    r.held.fill(undefined);
    if (this.pool.length < 1024) this.pool.push(r);
  }
}

/** Tracker error strings to the client errors of src/errors.ts. */
function errorCode(e: string): DynErrorCode {
  if (e === DYN_ERR_QUORUM) return 'DYN_ERR_QUORUM';
  if (e === DYN_ERR_TIMEOUT) return 'PEER_ERR_TIMEOUT';
  if (e === 'PEER_ERR_DOWN') return 'PEER_ERR_DOWN';
  return e in DYN_ERRORS ? (e as DynErrorCode) : 'DYN_ERR_QUORUM';
}
