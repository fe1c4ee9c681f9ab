// The write journal (src/repair/write-journal.ts): clocks, tombstones, bounds, floorMs, token
// ranges, and the heap bytes an entry costs (the figure JOURNAL_BYTES_PER_ENTRY documents).
import { describe, expect, it } from 'vitest';
import { JOURNAL_BYTES_PER_ENTRY, STAMP_STEP_MS, tokenInRange, WriteJournal } from '../src/repair/write-journal.js';

const k = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('WriteJournal', () => {
  it('records the last write of each key, overwrite or delete', () => {
    const j = new WriteJournal({ now: () => 1000 });
    j.record(k('a'), 100, false, 5);
    j.record(k('b'), 110, false, 6);
    j.record(k('a'), 120, true, 5);
    expect(j.lookup(k('a'))).toMatchObject({ ts: 120, deleted: true, token: 5 });
    expect(j.lookup(k('b'))).toMatchObject({ ts: 110, deleted: false, token: 6 });
    expect(j.lookup(k('c'))).toBeUndefined();
    j.record(k('a'), 130, false, 5);
    expect(j.lookup(k('a'))).toMatchObject({ ts: 130, deleted: false, token: 5 });
    expect(j.tombstones).toBe(0);
    expect(j.size).toBe(2);
  });

  it('keeps binary keys apart (every byte value round-trips)', () => {
    const j = new WriteJournal({ now: () => 1 });
    const key1 = Buffer.from([0, 255, 128, 10]);
    const key2 = Buffer.from([0, 255, 128, 11]);
    j.record(key1, 1, true, 1);
    expect(j.lookup(key1)?.deleted).toBe(true);
    expect(j.lookup(key2)).toBeUndefined();
    expect([...j.tombstonesIn(0, 0)].map(([key]) => [...key])).toEqual([[0, 255, 128, 10]]);
  });

  it('stamp() always rises: within one ms by STAMP_STEP_MS, above a recorded ts (a peer clock ahead)', () => {
    let now = 1_764_000_000_000;
    const j = new WriteJournal({ now: () => now });
    expect(j.stamp()).toBe(now);
    expect(j.stamp()).toBe(now + STAMP_STEP_MS);
    expect(j.stamp()).toBe(now + 2 * STAMP_STEP_MS);
    j.record(k('x'), now + 5000, false, 1);
    expect(j.stamp()).toBe(now + 5000 + STAMP_STEP_MS);
    now -= 100;
    expect(j.stamp()).toBe(now + 100 + 5000 + 2 * STAMP_STEP_MS);
    now += 6000;
    expect(j.stamp()).toBe(now);
    // 512 stamps in one millisecond stay distinct and below the next millisecond.
    const seen = new Set<number>();
    for (let i = 0; i < 511; i++) seen.add(j.stamp());
    expect(seen.size).toBe(511);
    expect(Math.max(...seen)).toBeLessThan(now + 1);
  });

  it('bounds the overwrite clocks: the first written go first and raise floorMs to their last ts', () => {
    const j = new WriteJournal({ maxKeys: 3, now: () => 0 });
    for (let i = 0; i < 3; i++) j.record(k(`k${i}`), 10 + i, false, i);
    j.record(k('k1'), 20, false, 1); // k1 written again: it keeps its place, k0 is still first
    expect(j.floorMs).toBe(0);
    j.record(k('k3'), 21, false, 3);
    expect(j.size).toBe(3);
    expect(j.lookup(k('k0'))).toBeUndefined();
    expect(j.floorMs).toBe(10);
    expect(j.lookup(k('k1'))?.ts).toBe(20);
    j.record(k('k4'), 22, false, 4); // k1 goes next, with its newest ts
    expect(j.lookup(k('k1'))).toBeUndefined();
    expect(j.floorMs).toBe(20);
    expect(j.counts.clocksEvicted).toBe(2);
    // Per key: only the forgotten keys' buckets remember them.
    expect(j.floorFor(k('k0'))).toBe(10);
    expect(j.floorFor(k('k2'))).toBe(0);
  });

  it('keeps tombstones for the grace period, then forgets them and raises floorMs', () => {
    let now = 1000;
    const j = new WriteJournal({ graceMs: 500, now: () => now });
    j.record(k('d1'), 1000, true, 1);
    j.record(k('d2'), 1200, true, 2);
    now = 1499;
    expect(j.lookup(k('d1'))?.deleted).toBe(true);
    now = 1501;
    expect(j.lookup(k('d1'))).toBeUndefined();
    expect(j.floorMs).toBe(1000);
    expect(j.lookup(k('d2'))?.ts).toBe(1200);
    expect([...j.tombstonesIn(0, 0)].map(([key]) => key.toString())).toEqual(['d2']);
    expect(j.counts.tombstonesExpired).toBe(1);
  });

  it('bounds the tombstone count: the oldest go first', () => {
    const j = new WriteJournal({ maxTombstones: 2, now: () => 100 });
    j.record(k('a'), 10, true, 1);
    j.record(k('b'), 20, true, 1);
    j.record(k('c'), 30, true, 1);
    expect(j.tombstones).toBe(2);
    expect(j.lookup(k('a'))).toBeUndefined();
    expect(j.floorMs).toBe(10);
    expect(j.counts.tombstonesEvicted).toBe(1);
  });

  it('tombstonesIn(lo, hi) yields the tokens in (lo, hi], wrapping past 2^32 - 1', () => {
    const j = new WriteJournal({ now: () => 0 });
    const tokens = [0, 1, 100, 2 ** 31, 4294967295];
    tokens.forEach((t, i) => j.record(k(`t${i}`), i, true, t));
    const range = (lo: number, hi: number): number[] => [...j.tombstonesIn(lo, hi)].map(([, c]) => c.token).sort((x, y) => x - y);
    expect(range(0, 100)).toEqual([1, 100]);
    expect(range(100, 2 ** 31)).toEqual([2 ** 31]);
    expect(range(2 ** 31, 1)).toEqual([0, 1, 4294967295]);
    expect(range(5, 5)).toEqual([0, 1, 100, 2 ** 31, 4294967295]);
    expect(tokenInRange(4294967295, 4294967294, 0)).toBe(true);
    expect(tokenInRange(4294967294, 4294967294, 0)).toBe(false);
  });

  it('bytes per entry stay within JOURNAL_BYTES_PER_ENTRY (16-byte keys, measured on the heap)', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    const n = 200_000;
    gc?.();
    const before = process.memoryUsage().heapUsed;
    const j = new WriteJournal({ maxKeys: n });
    for (let i = 0; i < n; i++) j.record(k(`key:${String(i).padStart(12, '0')}`), i, false, i);
    gc?.();
    const per = (process.memoryUsage().heapUsed - before) / n;
    console.log(`write journal: ${per.toFixed(0)} heap bytes per entry (16-byte keys)${gc ? '' : ' (no --expose-gc: upper bound)'}`);
    expect(j.size).toBe(n);
    expect(per).toBeGreaterThan(16);
    expect(per).toBeLessThan(JOURNAL_BYTES_PER_ENTRY * 1.5);
  });
});
