// The version rule (src/repair/version-rule.ts, docs/consistency.md): table-driven cases for each
// step, the invariants stated as cases, and symmetry over random states.
import { describe, expect, it } from 'vitest';
import { decide, EXPIRE_TOLERANCE_MS, type ReplicaKeyState } from '../src/repair/version-rule.js';
import type { KeyClock } from '../src/repair/write-journal.js';
import { Prng } from './helpers/prng.js';

const clock = (ts: number, deleted = false, token = 7): KeyClock => ({ ts, deleted, token });
const val = (h: bigint, c?: KeyClock, expireAtMs = 0): ReplicaKeyState => ({ present: true, valueHash: h, expireAtMs, clock: c });
const gone = (c?: KeyClock, floorMs?: number): ReplicaKeyState => ({ present: false, valueHash: 0n, expireAtMs: 0, clock: c, floorMs });

describe('decide', () => {
  const cases: [string, ReplicaKeyState, ReplicaKeyState, 'a' | 'b' | 'same'][] = [
    ['both absent', gone(), gone(), 'same'],
    ['same value, no clocks', val(5n), val(5n), 'same'],
    ['same value, different clocks', val(5n, clock(10)), val(5n, clock(20)), 'same'],
    ['same value, expiries within tolerance', val(5n, undefined, 1_000_000), val(5n, undefined, 1_000_000 + EXPIRE_TOLERANCE_MS), 'same'],
    ['newer overwrite wins', val(1n, clock(10)), val(2n, clock(20)), 'b'],
    ['newer overwrite wins (a)', val(1n, clock(30)), val(2n, clock(20)), 'a'],
    ['tombstone newer than the value: the delete wins', gone(clock(30, true)), val(2n, clock(20)), 'a'],
    ['value newer than the tombstone: the value wins', gone(clock(10, true)), val(2n, clock(20)), 'b'],
    ['equal ts: the tombstone wins', gone(clock(20, true)), val(2n, clock(20)), 'a'],
    ['tombstone against a value older than the journal', gone(clock(20, true)), val(2n), 'a'],
    ['lost data (absent with an overwrite clock) comes back', gone(clock(50)), val(2n, clock(20)), 'b'],
    ['lost data without clocks comes back', gone(), val(2n), 'b'],
    ['a stale tombstone on a side that holds the key is ignored', val(3n, clock(40, true)), gone(), 'a'],
    ['one clock against none: the clock wins', val(1n, clock(10)), val(9n, undefined, 0), 'a'],
    ['one clock older than the other side\'s floor: tie-break', val(1n, clock(10)), { ...val(9n), floorMs: 15 }, 'b'],
    ['tombstone older than the other side\'s floor: present wins', gone(clock(10, true)), { ...val(9n), floorMs: 15 }, 'b'],
    ['no clocks, both present: larger hash', val(3n), val(9n), 'b'],
    ['no clocks, same hash, later expiry', val(3n, undefined, 2_000_000), val(3n, undefined, 9_000_000), 'b'],
    ['no clocks, same hash, no expiry beats an expiry', val(3n, undefined, 0), val(3n, undefined, 9_000_000), 'a'],
    ['hash compared unsigned', val(-1n), val(1n), 'a'],
  ];
  it.each(cases)('%s', (_name, a, b, want) => {
    expect(decide(a, b)).toBe(want);
  });

  it('is symmetric: decide(b, a) is the mirror of decide(a, b)', () => {
    const rng = new Prng(11);
    const mirror = { a: 'b', b: 'a', same: 'same' } as const;
    const pick = (): ReplicaKeyState => {
      const present = rng.int(3) > 0;
      const c = rng.int(3) === 0 ? undefined : clock(rng.int(5) * 10, rng.int(2) === 0);
      return { present, valueHash: present ? BigInt(rng.int(3)) : 0n, expireAtMs: present && rng.int(2) === 0 ? 5_000_000 + rng.int(3) * 10_000 : 0, clock: c, floorMs: rng.int(3) === 0 ? rng.int(5) * 10 : undefined };
    };
    for (let i = 0; i < 5000; i++) {
      const a = pick();
      const b = pick();
      expect(decide(b, a)).toBe(mirror[decide(a, b)]);
    }
  });
});

describe('the invariants of issue 11 as cases', () => {
  it('a key one replica lost (its redis restarted empty) comes back, its journal intact or not', () => {
    expect(decide(gone(clock(100)), val(1n, clock(100)))).toBe('b');
    expect(decide(gone(), val(1n, clock(100)))).toBe('b');
  });
  it('a key deleted at quorum while a replica was away is not resurrected', () => {
    // The replica that was away still holds the old value with its old clock (or none).
    expect(decide(val(1n, clock(100)), gone(clock(200, true)))).toBe('b');
    expect(decide(val(1n), gone(clock(200, true)))).toBe('b');
  });
  it('an older value never overwrites a newer one', () => {
    expect(decide(val(1n, clock(100)), val(2n, clock(101)))).toBe('b');
  });
});
