// The checker: judges what the replicas hold (read from each backing redis directly) against the
// history of acknowledged and attempted operations. Pure: no sockets, so its rules are unit-tested
// on hand-made histories (test/chaos-checker.test.ts) as well as used on real runs.
//
// Per key, with `reads` one value per replica (null: absent), replicas in ring order:
//   SET keys   lastAck = the highest acknowledged sequence number. A replica holding a value with
//              seq >= lastAck holds the write; seq < lastAck is older-over-newer; absent is missing.
//              Every value held must be one some writer attempted (else: phantom).
//   DEL keys   once a DEL was acknowledged, no replica may hold the key (else: resurrected). An
//              unacknowledged DEL allows either (absent, or the value it deleted).
//   counters   A acknowledged INCRs, T attempted: each replica must hold v with A <= v <= T.
//              v > A are at-least-once effects of INCRs that failed or timed out (allowed, counted).
import { familyOf, seqOf, type History, type Op } from './history.js';

export type Reads = ReadonlyMap<string, readonly (string | null)[]>;

export interface Violation {
  readonly key: string;
  readonly replicas: readonly (string | null)[];
  readonly why: string;
}

export interface Judgement {
  readonly keys: number;
  /** Acknowledged writes (SET keys and counters) held by fewer than a quorum of replicas. */
  readonly belowQuorum: Violation[];
  /** ... not held by every replica. */
  readonly notEverywhere: Violation[];
  /** ... held by no replica at all. */
  readonly lost: Violation[];
  readonly resurrected: Violation[];
  readonly olderOverNewer: Violation[];
  /** A value no writer attempted, or a counter above its attempted increments. */
  readonly phantom: Violation[];
  /** Counter increments acknowledged but missing from a replica (sum over replicas). */
  readonly counterLostIncrements: number;
  /** Counter increments present beyond the acknowledged ones (at-least-once effects; max per key). */
  readonly counterExtraIncrements: number;
  /** Keys whose replicas do not all hold the same value. */
  readonly divergent: Violation[];
}

interface KeyFacts {
  readonly family: ReturnType<typeof familyOf>;
  readonly lastAck: number;
  readonly attempted: ReadonlySet<string>;
  readonly delAcked: boolean;
  /** A DEL was sent (acknowledged or not): the key may be gone. */
  readonly delSent: boolean;
  readonly incrAcked: number;
  readonly incrAttempted: number;
}

function factsOf(key: string, ops: readonly Op[]): KeyFacts {
  let lastAck = 0;
  const attempted = new Set<string>();
  let delAcked = false;
  let delSent = false;
  let incrAcked = 0;
  let incrAttempted = 0;
  for (const o of ops) {
    if (o.kind === 'set') {
      attempted.add(o.value!);
      if (o.outcome === 'ok') lastAck = Math.max(lastAck, o.seq!);
    } else if (o.kind === 'del') {
      delSent = true;
      if (o.outcome === 'ok') delAcked = true;
    } else {
      incrAttempted++;
      if (o.outcome === 'ok') incrAcked++;
    }
  }
  return { family: familyOf(key), lastAck, attempted, delAcked, delSent, incrAcked, incrAttempted };
}

export function judge(history: History, reads: Reads, quorum: number): Judgement {
  const j: { -readonly [K in keyof Judgement]: Judgement[K] } = {
    keys: 0, belowQuorum: [], notEverywhere: [], lost: [], resurrected: [], olderOverNewer: [], phantom: [],
    counterLostIncrements: 0, counterExtraIncrements: 0, divergent: [],
  };
  for (const [key, ops] of history.byKey()) {
    const replicas = reads.get(key);
    if (!replicas) throw new Error(`checker: no replica reads for ${key}`);
    j.keys++;
    const v = (why: string): Violation => ({ key, replicas, why });
    if (replicas.some((r) => r !== replicas[0])) j.divergent.push(v('replicas differ'));
    const f = factsOf(key, ops);
    if (f.family === 'counter') {
      let holding = 0;
      let extra = 0;
      for (const r of replicas) {
        const n = r === null ? 0 : Number(r);
        if (!Number.isInteger(n) || n > f.incrAttempted) j.phantom.push(v(`counter ${r} > ${f.incrAttempted} attempted`));
        if (n >= f.incrAcked) holding++;
        else j.counterLostIncrements += f.incrAcked - n;
        extra = Math.max(extra, n - f.incrAcked);
      }
      j.counterExtraIncrements += extra;
      const why = `counter: ${f.incrAcked} acknowledged of ${f.incrAttempted} attempted INCRs`;
      if (f.incrAcked > 0 && holding < quorum) j.belowQuorum.push(v(why));
      if (holding < replicas.length) j.notEverywhere.push(v(why));
      if (f.incrAcked > 0 && holding === 0) j.lost.push(v(why));
      continue;
    }
    for (const r of replicas) {
      if (r !== null && !f.attempted.has(r)) j.phantom.push(v(`value ${JSON.stringify(r)} was never written`));
    }
    if (f.delAcked) {
      const present = replicas.filter((r) => r !== null).length;
      if (present > 0) j.resurrected.push(v(`DEL acknowledged, ${present} replica(s) hold the key`));
      continue;
    }
    if (f.lastAck === 0) continue;
    let holding = 0;
    for (const r of replicas) {
      if (r === null) continue;
      const s = seqOf(r);
      if (s >= f.lastAck) holding++;
      else j.olderOverNewer.push(v(`holds seq ${s} < last acknowledged ${f.lastAck}`));
    }
    // An unacknowledged DEL may have been applied anywhere: absence is no loss, an older value still is.
    if (f.delSent) continue;
    const why = `last acknowledged seq ${f.lastAck}`;
    if (holding < quorum) j.belowQuorum.push(v(why));
    if (holding < replicas.length) j.notEverywhere.push(v(why));
    if (holding === 0) j.lost.push(v(why));
  }
  return j;
}
