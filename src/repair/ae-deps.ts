// What anti-entropy needs from the rest of the node, as structural interfaces: the write journal
// (src/repair/write-journal.ts), the version rule (src/repair/version-rule.ts) and the peer
// capability probe (src/cluster/peer-caps.ts). node-cluster.ts passes the real ones; unit tests
// and the benchmark may pass their own.

/** The last write the journal knows for a key (ts in wall-clock ms; token breaks ties). */
export interface AeClock {
  readonly ts: number;
  readonly deleted: boolean;
  readonly token: number;
}

export interface AeJournal {
  record(key: Uint8Array, ts: number, deleted: boolean, token: number): void;
  lookup(key: Uint8Array): AeClock | undefined;
  /** Deletions remembered for keys whose ring token is in [lo, hi]. */
  tombstonesIn(lo: number, hi: number): Iterable<{ readonly key: Uint8Array; readonly clock: AeClock }>;
}

/** One replica's state of a key, as the version rule compares them. */
export interface AeKeyState {
  readonly present: boolean;
  readonly valueHash: bigint;
  readonly expireAtMs: number;
  readonly clock?: AeClock;
}

/** Which replica's state wins: 'a', 'b', or 'same' (nothing to repair). */
export type AeDecide = (a: AeKeyState, b: AeKeyState) => 'a' | 'b' | 'same';

/** What a peer is: only 'dynomite-ts' peers are sent the reserved commands. */
export interface AePeerCaps {
  of(peer: number): 'dynomite-ts' | 'other' | 'unknown';
}
