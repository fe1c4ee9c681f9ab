// The version rule: which of two replicas of a key wins when they differ. Anti-entropy and hint
// replay both follow it; docs/consistency.md writes it down with its invariants.
//
//   decide(a, b):
//     1. equal states (both absent, or both present with the same value hash and expiry) ─► 'same'
//     2. a side's clock counts only when it agrees with what the side holds: a tombstone on an
//        absent side, an overwrite clock on a present side. (A present-side clock on a side that
//        holds nothing is a key lost with its datastore, or expired: it must not delete the other
//        replica's copy. A tombstone on a side that holds the key again is stale.)
//     3. both clocks count: the higher ts wins; at equal ts a tombstone beats a value, then step 5
//     4. one clock counts: it wins, unless the other side's journal forgot writes newer than it
//        (floorMs >= its ts): then nothing is known, step 5
//     5. no usable clock: present beats absent (a replica that lost its data gets it back);
//        both present: the larger value hash wins, then the later expiry (no expiry = latest).
//        Both replicas compute the same winner whichever they call `a`.
import type { KeyClock } from './write-journal.js';

/** One replica's view of one key. */
export interface ReplicaKeyState {
  /** The key exists in that replica's datastore. */
  present: boolean;
  /** Digest of the value (its DUMP payload, or the memcached item); ignored when absent. */
  valueHash: bigint;
  /** When the key expires, ms since the epoch; 0 = never. Ignored when absent. */
  expireAtMs: number;
  /** The replica's journal entry for the key, if it has one. */
  clock?: KeyClock;
  /**
   * The replica's journal floorMs: a side without a clock may have had writes up to this time
   * that its journal forgot. @default 0 (nothing forgotten)
   */
  floorMs?: number;
}

/** Expiry times closer than this are the same expiry (replicas compute them at different moments). */
export const EXPIRE_TOLERANCE_MS = 1000;

function sameState(a: ReplicaKeyState, b: ReplicaKeyState): boolean {
  if (!a.present || !b.present) return a.present === b.present;
  if (a.valueHash !== b.valueHash) return false;
  if ((a.expireAtMs === 0) !== (b.expireAtMs === 0)) return false;
  return Math.abs(a.expireAtMs - b.expireAtMs) <= EXPIRE_TOLERANCE_MS;
}

/** The clock that describes what the side holds, or undefined (rule step 2). */
function usableClock(s: ReplicaKeyState): KeyClock | undefined {
  const c = s.clock;
  if (c === undefined) return undefined;
  return c.deleted === !s.present ? c : undefined;
}

/** Which replica's state should both end with: 'a', 'b', or 'same' (nothing to repair). */
export function decide(a: ReplicaKeyState, b: ReplicaKeyState): 'a' | 'b' | 'same' {
  if (sameState(a, b)) return 'same';
  const ca = usableClock(a);
  const cb = usableClock(b);
  if (ca !== undefined && cb !== undefined) {
    if (ca.ts !== cb.ts) return ca.ts > cb.ts ? 'a' : 'b';
    if (ca.deleted !== cb.deleted) return ca.deleted ? 'a' : 'b';
  } else if (ca !== undefined) {
    if (ca.ts > (b.floorMs ?? 0)) return 'a';
  } else if (cb !== undefined) {
    if (cb.ts > (a.floorMs ?? 0)) return 'b';
  }
  return tieBreak(a, b);
}

/** Rule step 5: no clock decides. */
function tieBreak(a: ReplicaKeyState, b: ReplicaKeyState): 'a' | 'b' {
  if (a.present !== b.present) return a.present ? 'a' : 'b';
  if (a.valueHash !== b.valueHash) return BigInt.asUintN(64, a.valueHash) > BigInt.asUintN(64, b.valueHash) ? 'a' : 'b';
  const ea = a.expireAtMs === 0 ? Infinity : a.expireAtMs;
  const eb = b.expireAtMs === 0 ? Infinity : b.expireAtMs;
  return ea >= eb ? 'a' : 'b';
}
