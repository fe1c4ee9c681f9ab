// Replica reply coalescing: one CoalesceTracker per fanned-out request picks the reply the client
// gets and names the replicas that disagreed (read-repair candidates). A port of the
// CoalesceTracker of dynomite-engine 0.0.2 (called "the original" below), whose rules are the
// contract (test/coalesce.test.ts replays them against a model):
//
//   DC_ONE               the first reply wins; nothing is divergent.
//   DC_QUORUM            a reply class with floor(L/2)+1 identical votes among the L local-DC targets
//                        wins; once every local target has replied and none has a quorum, the
//                        plurality wins (ties: the class whose lowest voter index is lowest).
//   DC_SAFE_QUORUM       every local reply must agree; then the winner, else DYN_ERR_QUORUM.
//   DC_EACH_SAFE_QUORUM  the same per DC, for every DC; the local DC's value wins.
//   all levels           error replies never equal success replies; the tracker decides once, and
//                        replies after the decision are drained (never a second decision).
//                        Divergent = every target that replied with a class other than the
//                        winner's, any DC, ascending index. The winner's handle is the one of the
//                        lowest-index target in the winning class (the original's deterministic pick).
//   no local target      every target counts as local (the original's fallback).
//
// What the original does not model or gets wrong, and how this port decides it:
//   onFailure(t, kind)   t will not reply (peer down, refused, ...). A failed target never votes.
//                        A level that can no longer succeed decides at once with an error:
//                        DYN_ERR_QUORUM when at least a quorum of replies came in but disagree,
//                        else the first failure's kind (Netflix answers `-ERR Peer: Peer Node is
//                        not connected` when dead replicas leave no quorum). DC_QUORUM's plurality
//                        fallback needs every local reply, so a local failure rules it out.
//                        DC_SAFE_QUORUM and DC_EACH_SAFE_QUORUM succeed when at least a quorum
//                        (per DC) replied and all replies agree: Netflix answers a SAFE_QUORUM read
//                        when one local datastore is dead.
//   onTimeout()          every target still pending fails with DYN_ERR_TIMEOUT, then the tracker
//                        decides (it always can: every target is settled).
//   early error          SAFE levels decide DYN_ERR_QUORUM as soon as two replies of one DC
//                        disagree (the original waits for the DC's last reply; the answer is the same).
//   plurality trigger    "every local target replied" counts local replies only (the original
//                        counts every reply, so with remote write targets it could fall back to
//                        plurality before the local replies were in; the quorum is a local one).
//   duplicate replies    a second reply from a target replaces its first (the original's overwrite);
//                        the displaced handle is left in `replacedHandle` for the caller to free.
//
// Equivalence key: the reply framer's XXH64 of the reply bytes, passed as two int32 words (lo, hi)
// exactly as the record table holds them (REC_DIGEST_LO/HI): no BigInt is created per reply. Two
// replies are in the same class when lo, hi and isError are equal and, if the caller supplied a
// `sameReply(a, b)` callback, it confirms the bytes are equal. The original compares bytes, so exactness
// needs the callback; without it a digest collision (2^-64 per pair for natural data, but XXH64 is
// not collision-resistant against crafted values) would merge two different replies. The callback
// is consulted only for equal digests, i.e. once per agreeing reply, and should be one long-lived
// function (e.g. wrapping the core's memEqual), never a per-request closure.
//
// Per-target state: one flat array of small integers (SMIs: cheaper to allocate than a typed array
// when a tracker is created per request, as fast to index), STRIDE words per target, reused by
// reset(); handles and failure kinds sit in two parallel arrays.
//
//   w[t*8 + 0] STATE    PENDING | REPLIED | FAILED | DRAINED (settled after the decision)
//          + 1 CLS      reply class (small int, first-seen order), -1 until the target replies
//          + 2 LO       equivalence key, low word  (REC_DIGEST_LO)
//          + 3 HI       equivalence key, high word (REC_DIGEST_HI)
//          + 4 ERR      1 = error reply
//          + 5 DC       DC id (first-seen order of the targets' dc)
//          + 6 LOCAL    1 = votes in the local quorum
//          + 7 FAIL_AT  failure sequence number (the earliest failure names the error)
//   handles[t]          the caller's opaque reply handle, until the caller or the decision takes it
//   kinds[t]            the failure kind given to onFailure (or DYN_ERR_TIMEOUT)

import type { ConsistencyLevel } from '../conf/types.js';
export type { ConsistencyLevel };

/** Replicas disagree (or too few agree): `-ERR Dynomite: Failed to achieve Quorum`. */
export const DYN_ERR_QUORUM = 'DYN_ERR_QUORUM';
/** The request's deadline passed before the level could decide. */
export const DYN_ERR_TIMEOUT = 'DYN_ERR_TIMEOUT';

/** One replica the request was sent to. */
export interface CoalesceTarget {
  /** Datacenter name (or id): targets with equal `dc` form one DC for DC_EACH_SAFE_QUORUM. */
  readonly dc: string | number;
  /** True for targets in the coordinator's own DC: only they vote in the local quorum. */
  readonly isLocalDc: boolean;
}

/** The one decision a tracker makes. `ok` selects which half is meaningful. */
export interface Decision<H> {
  readonly ok: boolean;
  /** The reply to send to the client (ok only). */
  readonly winner: H | undefined;
  /** Target index whose handle is `winner`; -1 on error. */
  readonly winnerTarget: number;
  /** Error code on failure (DYN_ERR_QUORUM, DYN_ERR_TIMEOUT or a failure kind); '' when ok. */
  readonly error: string;
  /** Targets that replied with another class than the winner's, ascending (ok only). */
  readonly divergent: readonly number[];
}

/** Exact comparison of two replies' bytes, used only when their digests are equal. */
export type SameReply<H> = (a: H, b: H) => boolean;

const PENDING = 0;
const REPLIED = 1;
const FAILED = 2;
const DRAINED = 3;

const ONE = 0;
const QUORUM = 1;
const SAFE = 2;
const EACH_SAFE = 3;

// Word offsets in CoalesceTracker.w (diagram above).
const STATE = 0;
const CLS = 1;
const LO = 2;
const HI = 3;
const ERR = 4;
const DC = 5;
const LOCAL = 6;
const FAIL_AT = 7;
const STRIDE = 8;

const NO_DIVERGENCE: readonly number[] = Object.freeze([]);

function levelId(level: ConsistencyLevel): number {
  switch (level) {
    case 'DC_ONE': return ONE;
    case 'DC_QUORUM': return QUORUM;
    case 'DC_SAFE_QUORUM': return SAFE;
    case 'DC_EACH_SAFE_QUORUM': return EACH_SAFE;
    default: return -1;
  }
}

export class CoalesceTracker<H = unknown> {
  private level = ONE;
  private n = 0;
  /** Per-target words, STRIDE per target (diagram at the top). */
  private w: number[] = [];
  private handles: Array<H | undefined> = [];
  private kinds: string[] = [];
  private dcCount = 0;
  private localDc = -1;
  private localN = 0;
  private localReplied = 0;
  private localFailed = 0;
  private nextClass = 0;
  private failSeq = 0;
  private settledCount = 0;
  private result: Decision<H> | undefined = undefined;

  /** The handle displaced by the last onReply from a target that had already replied, else undefined. */
  replacedHandle: H | undefined = undefined;

  constructor(
    level: ConsistencyLevel,
    targets: readonly CoalesceTarget[],
    private readonly sameReply?: SameReply<H>,
  ) {
    this.reset(level, targets);
  }

  /** Rebinds a (pooled) tracker to a new request. Handles still held are forgotten, not freed. */
  reset(level: ConsistencyLevel, targets: readonly CoalesceTarget[]): void {
    const n = targets.length;
    const id = levelId(level);
    if (id < 0) throw new RangeError(`CoalesceTracker: unknown consistency level ${String(level)}`);
    if (n < 1) throw new RangeError('CoalesceTracker: a request needs at least one target');
    for (let i = 0; i < this.n; i++) this.handles[i] = undefined; // drop the last request's replies
    while (this.w.length < n * STRIDE) this.w.push(0);
    this.level = id;
    this.n = n;
    this.assignTargets(targets);
    this.localReplied = 0;
    this.localFailed = 0;
    this.nextClass = 0;
    this.failSeq = 0;
    this.settledCount = 0;
    this.result = undefined;
    this.replacedHandle = undefined;
  }

  /** True once the tracker has decided; later replies and failures are drained. */
  get isDecided(): boolean {
    return this.result !== undefined;
  }

  /** The decision, once made. */
  get decision(): Decision<H> | undefined {
    return this.result;
  }

  /** Number of targets this request was sent to. */
  get targetCount(): number {
    return this.n;
  }

  /** Targets that have neither replied nor failed (stragglers included after the decision). */
  get outstanding(): number {
    return this.n - this.settledCount;
  }

  /** The handle held for target i (a reply recorded before the decision), else undefined. */
  heldHandle(i: number): H | undefined {
    return i >= 0 && i < this.n ? this.handles[i] : undefined;
  }

  /**
   * Folds in target t's reply: equivalence key (lo, hi) as the record table's DIGEST_LO/HI words,
   * the error flag, and the caller's handle. Returns the decision when this reply makes it.
   * After the decision (or for an unknown t) the reply is drained: undefined, handle not kept.
   */
  onReply(t: number, lo: number, hi: number, isError: boolean, handle: H): Decision<H> | undefined {
    this.replacedHandle = undefined;
    if (t < 0 || t >= this.n || !Number.isInteger(t)) return undefined;
    const s = this.stateOf(t);
    if (this.result !== undefined) {
      if (s === PENDING) this.settle(t, DRAINED);
      return undefined;
    }
    if (s === REPLIED) {
      this.replacedHandle = this.handles[t];
    } else {
      if (s === FAILED) this.unfail(t); // a late reply beats an earlier failure verdict
      this.settle(t, REPLIED);
      if (this.isLocal(t)) this.localReplied++;
    }
    this.w[t * STRIDE + LO] = lo | 0;
    this.w[t * STRIDE + HI] = hi | 0;
    this.w[t * STRIDE + ERR] = isError ? 1 : 0;
    this.handles[t] = handle;
    this.w[t * STRIDE + CLS] = this.classify(t);
    if (this.level === ONE) return this.win(this.classOf(t));
    return this.evaluate(t);
  }

  /** Target t will not reply (kind: the failure's error code). Returns the decision if this makes it. */
  onFailure(t: number, kind: string): Decision<H> | undefined {
    if (t < 0 || t >= this.n || !Number.isInteger(t) || this.stateOf(t) !== PENDING) return undefined;
    if (this.result !== undefined) {
      this.settle(t, DRAINED);
      return undefined;
    }
    this.fail(t, kind);
    return this.evaluate(t);
  }

  /** The deadline passed: every pending target fails with DYN_ERR_TIMEOUT and the tracker decides. */
  onTimeout(): Decision<H> | undefined {
    if (this.result !== undefined) return undefined;
    for (let i = 0; i < this.n; i++) if (this.stateOf(i) === PENDING) this.fail(i, DYN_ERR_TIMEOUT);
    return this.evaluate(-1);
  }

  // ---- per-level rules ---------------------------------------------------------------------------

  /** Applies the level's rule to the whole state after an event on target t (-1: every target). */
  private evaluate(t: number): Decision<H> | undefined {
    switch (this.level) {
      case ONE: return this.evalOne();
      case QUORUM: return this.evalQuorum(t);
      case SAFE: return this.evalSafe();
      default: return this.evalEachSafe(t);
    }
  }

  /** DC_ONE reaches here only without a reply (a reply decides in onReply): all failed -> error. */
  private evalOne(): Decision<H> | undefined {
    if (this.settledCount < this.n) return undefined;
    return this.fault(this.firstFailure(-1));
  }

  private evalQuorum(t: number): Decision<H> | undefined {
    const quorum = (this.localN >> 1) + 1;
    // Fast path: only the class that just got a vote can have newly reached the quorum.
    if (t >= 0 && this.isLocal(t) && this.stateOf(t) === REPLIED && this.classVotes(this.classOf(t)) >= quorum) {
      return this.win(this.classOf(t));
    }
    // Best class among local replies; ascending scan, strict '>', so a tie keeps the class with
    // the lowest voter index (the original's plurality tie-break; a quorum class is unique anyway).
    let best = -1;
    let bestVotes = 0;
    for (let i = 0; i < this.n; i++) {
      if (!this.isLocal(i) || this.stateOf(i) !== REPLIED || this.seenBefore(i)) continue;
      const votes = this.votesFrom(i);
      if (votes > bestVotes) {
        best = this.classOf(i);
        bestVotes = votes;
      }
    }
    if (bestVotes >= quorum) return this.win(best);
    if (this.localReplied === this.localN) return this.win(best); // plurality
    const pending = this.localN - this.localReplied - this.localFailed;
    if (this.localFailed > 0 && bestVotes + pending < quorum) {
      return this.fault(this.localReplied >= quorum ? DYN_ERR_QUORUM : this.firstFailure(-2));
    }
    return undefined;
  }

  private evalSafe(): Decision<H> | undefined {
    const verdict = this.judgeGroup(-2);
    if (verdict !== '') return this.fault(verdict);
    if (this.localReplied + this.localFailed < this.localN) return undefined;
    return this.win(this.firstClass(-2));
  }

  private evalEachSafe(t: number): Decision<H> | undefined {
    // Only the DC of the event can have changed; a timeout (t = -1) re-judges every DC.
    for (let d = 0; d < this.dcCount; d++) {
      if (t >= 0 && d !== this.dcOf(t)) continue;
      const verdict = this.judgeGroup(d);
      if (verdict !== '') return this.fault(verdict);
    }
    if (this.settledCount < this.n) return undefined;
    const winner = this.localDc >= 0 ? this.firstClass(this.localDc) : this.firstClass(-1);
    return winner < 0 ? this.fault(this.firstFailure(-1)) : this.win(winner);
  }

  /**
   * The SAFE rule for one group (g = DC id, -2 = the local targets): '' while it can still
   * succeed, else the error: DYN_ERR_QUORUM when two replies disagree, the first failure's kind
   * when too few targets are left to make floor(size/2)+1 replies.
   */
  private judgeGroup(g: number): string {
    let size = 0;
    let failed = 0;
    let first = -1;
    for (let i = 0; i < this.n; i++) {
      if (!this.inGroup(i, g)) continue;
      size++;
      const s = this.stateOf(i);
      if (s === FAILED) failed++;
      if (s !== REPLIED) continue;
      if (first < 0) first = this.classOf(i);
      else if (this.classOf(i) !== first) return DYN_ERR_QUORUM;
    }
    if (size - failed < (size >> 1) + 1) return this.firstFailure(g);
    return '';
  }

  // ---- decisions ---------------------------------------------------------------------------------

  /** Decides for class c: the lowest-index holder's handle wins; other classes are divergent. */
  private win(c: number): Decision<H> {
    let winnerTarget = -1;
    let divergent: number[] | undefined;
    for (let i = 0; i < this.n; i++) {
      if (this.stateOf(i) !== REPLIED) continue;
      if (this.classOf(i) === c) {
        if (winnerTarget < 0) winnerTarget = i;
      } else {
        (divergent ??= []).push(i);
      }
    }
    const winner = this.handles[winnerTarget];
    this.handles[winnerTarget] = undefined; // the winner now belongs to the decision
    this.result = { ok: true, winner, winnerTarget, error: '', divergent: divergent ?? NO_DIVERGENCE };
    return this.result;
  }

  private fault(error: string): Decision<H> {
    this.result = { ok: false, winner: undefined, winnerTarget: -1, error, divergent: NO_DIVERGENCE };
    return this.result;
  }

  // ---- state helpers -----------------------------------------------------------------------------

  private stateOf(i: number): number {
    return this.w[i * STRIDE + STATE]!;
  }

  private classOf(i: number): number {
    return this.w[i * STRIDE + CLS]!;
  }

  private isLocal(i: number): boolean {
    return this.w[i * STRIDE + LOCAL] === 1;
  }

  private dcOf(i: number): number {
    return this.w[i * STRIDE + DC]!;
  }

  /** True when targets i and j carry the same equivalence key (digest words and error flag). */
  private sameKey(i: number, j: number): boolean {
    const a = i * STRIDE;
    const b = j * STRIDE;
    const w = this.w;
    return w[a + LO] === w[b + LO] && w[a + HI] === w[b + HI] && w[a + ERR] === w[b + ERR];
  }

  /** Class for target t's reply: an earlier reply's class if keys (and bytes, if checked) match. */
  private classify(t: number): number {
    let rejected = -1;
    for (let j = 0; j < this.n; j++) {
      if (j === t || this.stateOf(j) !== REPLIED) continue;
      const c = this.classOf(j);
      if (c === rejected || !this.sameKey(j, t)) continue;
      const same = this.sameReply;
      if (same === undefined || same(this.handles[j] as H, this.handles[t] as H)) return c;
      rejected = c; // same digest, different bytes: a collision, keep looking
    }
    return this.nextClass++;
  }

  /** Local replies in class c. */
  private classVotes(c: number): number {
    let v = 0;
    for (let j = 0; j < this.n; j++) {
      if (this.isLocal(j) && this.stateOf(j) === REPLIED && this.classOf(j) === c) v++;
    }
    return v;
  }

  /** Local replies in target i's class at indexes >= i (all of them when i is the first). */
  private votesFrom(i: number): number {
    const c = this.classOf(i);
    let v = 0;
    for (let j = i; j < this.n; j++) {
      if (this.isLocal(j) && this.stateOf(j) === REPLIED && this.classOf(j) === c) v++;
    }
    return v;
  }

  /** True when a lower-index local reply is in target i's class (its votes were counted there). */
  private seenBefore(i: number): boolean {
    const c = this.classOf(i);
    for (let j = 0; j < i; j++) {
      if (this.isLocal(j) && this.stateOf(j) === REPLIED && this.classOf(j) === c) return true;
    }
    return false;
  }

  /** Group membership: g >= 0 a DC id, -1 every target, -2 the local targets. */
  private inGroup(i: number, g: number): boolean {
    return g === -1 || (g === -2 ? this.isLocal(i) : this.dcOf(i) === g);
  }

  /** Class of the lowest-index reply in group g, or -1. */
  private firstClass(g: number): number {
    for (let i = 0; i < this.n; i++) {
      if (this.stateOf(i) === REPLIED && this.inGroup(i, g)) return this.classOf(i);
    }
    return -1;
  }

  /** Kind of the earliest failure in group g (DYN_ERR_QUORUM if, oddly, none failed). */
  private firstFailure(g: number): string {
    let at = -1;
    for (let i = 0; i < this.n; i++) {
      if (this.stateOf(i) !== FAILED || !this.inGroup(i, g)) continue;
      if (at < 0 || this.w[i * STRIDE + FAIL_AT]! < this.w[at * STRIDE + FAIL_AT]!) at = i;
    }
    return at < 0 ? DYN_ERR_QUORUM : this.kinds[at]!;
  }

  private fail(t: number, kind: string): void {
    this.settle(t, FAILED);
    this.w[t * STRIDE + FAIL_AT] = this.failSeq++;
    this.kinds[t] = kind;
    if (this.isLocal(t)) this.localFailed++;
  }

  private unfail(t: number): void {
    this.settledCount--;
    if (this.isLocal(t)) this.localFailed--;
  }

  private settle(t: number, s: number): void {
    this.w[t * STRIDE + STATE] = s;
    this.settledCount++;
  }

  /** Fills every target's words: PENDING, no class, DC id (first-seen order), local flag. */
  private assignTargets(targets: readonly CoalesceTarget[]): void {
    const w = this.w;
    this.localDc = -1;
    this.localN = 0;
    this.dcCount = 0;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      const at = i * STRIDE;
      let d = this.dcCount;
      for (let j = 0; j < i; j++) {
        if (targets[j]!.dc === t.dc) {
          d = w[j * STRIDE + DC]!;
          break;
        }
      }
      if (d === this.dcCount) this.dcCount++;
      w[at + STATE] = PENDING;
      w[at + CLS] = -1;
      w[at + DC] = d;
      w[at + LOCAL] = t.isLocalDc ? 1 : 0;
      if (t.isLocalDc) {
        this.localN++;
        if (this.localDc < 0) this.localDc = d;
      }
    }
    if (this.localN === 0) {
      for (let i = 0; i < targets.length; i++) w[i * STRIDE + LOCAL] = 1;
      this.localN = targets.length;
    }
  }
}
