// What anti-entropy needs from the rest of the node, as the slices it uses: the write journal
// (write-journal.ts), the version rule (version-rule.ts) and the peer capability probe
// (cluster/peer-caps.ts). node-cluster.ts passes the real ones; the benchmark may pass its own.
import type { KeyClock, WriteJournal } from './write-journal.js';
import type { ReplicaKeyState } from './version-rule.js';

export type AeClock = KeyClock;
export type AeJournal = Pick<WriteJournal, 'record' | 'lookup' | 'tombstonesIn' | 'floorFor' | 'stamp'>;
export type AeKeyState = ReplicaKeyState;
/** Which replica's state wins: 'a', 'b', or 'same' (nothing to repair). */
export type AeDecide = (a: ReplicaKeyState, b: ReplicaKeyState) => 'a' | 'b' | 'same';
/** cluster/peer-caps.ts's PeerCaps as anti-entropy reads it (repair/ sits below cluster/: no import). */
export interface AePeerCaps {
  of(peer: number): 'dynomite-ts' | 'other' | 'unknown';
  has(peer: number, cap: string): boolean;
}
/** The capability a peer announces when its dnode listener answers the anti-entropy carrier. */
export const AE_CAPABILITY = 'anti-entropy';
