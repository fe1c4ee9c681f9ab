// The write journal: for every write this node applied to its LOCAL datastore (from its own
// clients, from a peer over dnode, from a hint replay, from an anti-entropy repair) the key's last
// write time, whether that write removed the key (a tombstone), and the key's ring token. It is the
// version of a key for the version rule (src/repair/version-rule.ts): hint replay and anti-entropy
// ask it which of two replicas is newer. See docs/consistency.md.
//
//   record(key, ts, deleted, token)
//     ├─ deleted ─► tombstones (Map, insertion order ~ time order): kept graceMs, at most maxTombstones
//     └─ else    ─► clocks     (Map, in first-write order):          at most maxKeys
//   evicting either (bound, grace) raises floorMs to the evicted ts: a lookup miss then means
//   "no write to this key after floorMs" (nothing newer was forgotten).
//
// Decisions:
//   - Metadata never goes into the datastore: SCAN / KEYS / DBSIZE through the proxy, and DUMP
//     digests, see exactly what clients wrote.
//   - ts is this node's wall clock made monotonic and raised by every ts it records (a hint's
//     origin time from a peer whose clock is ahead): a later write here never gets a smaller ts
//     than one recorded before it, whatever the skew (docs/consistency.md, clock skew).
//   - Keys are held as latin1 strings (one byte per char: any binary key round-trips) so the
//     maps hash them natively; one string and one small object per written key.
//   - The durable form (src/repair/journal-log.ts) is written by the owner of the journal; the
//     class itself does no I/O but reading the floors file that log wrote.

import { readFileSync } from 'node:fs';

/** A key's version: when it was last written here, and whether that write removed it. */
export interface KeyClock {
  /** ms since the epoch (this node's monotonic clock, or the origin time of a replayed hint). */
  readonly ts: number;
  /** The write removed the key (DEL, UNLINK, GETDEL, memcached delete ...). */
  readonly deleted: boolean;
  /** The key's ring token (the node's hash of the key, hash tag applied). */
  readonly token: number;
}

export interface WriteJournalOptions {
  /** Overwrite clocks kept at most (the first written are forgotten first). @default 100_000 */
  maxKeys?: number;
  /** Tombstones are kept this long, ms. @default 3 h (hints_ttl's default) */
  graceMs?: number;
  /** Tombstones kept at most (the oldest forgotten first). @default 100_000 */
  maxTombstones?: number;
  /** Wall clock. @default Date.now */
  now?: () => number;
}

export const DEFAULT_WRITE_JOURNAL = {
  maxKeys: 100_000,
  graceMs: 3 * 60 * 60 * 1000,
  maxTombstones: 100_000,
} as const;

/**
 * Heap bytes per journal entry (Node 20, x64, 16-byte keys), measured by
 * test/write-journal.test.ts ("bytes per entry"): a Map slot, the key string and a KeyClock;
 * 118 B measured after a full GC, 143 B without one. Longer keys add their length.
 */
export const JOURNAL_BYTES_PER_ENTRY = 144;

/**
 * Added to the clock when stamp() is called again within one millisecond: 2^-9 ms is exact in a
 * float64 near today's epoch ms (2^41: 11 fraction bits), so 512 stamps fit in a millisecond before
 * the clock runs ahead of the wall clock (it then catches up when writes slow down).
 */
export const STAMP_STEP_MS = 1 / 512;

/** Buckets of the per-key floor (a Float64Array: 512 KiB). */
const FLOOR_BUCKETS = 1 << 16;

/** What the journal did since start (counters) and holds now (gauges). */
export interface JournalCounts {
  recorded: number;
  clocksEvicted: number;
  tombstonesExpired: number;
  tombstonesEvicted: number;
}

class Clock implements KeyClock {
  constructor(readonly ts: number, readonly deleted: boolean, readonly token: number, readonly hinted: boolean) {}
}

/**
 * True when the entry was recorded by a conditional hint replay (its ts is the origin node's
 * stamp, not this node's): src/repair/hint-apply.ts compares those to the sub-millisecond.
 */
export function recordedByHint(c: KeyClock): boolean {
  return c instanceof Clock && c.hinted;
}

/** True when token t lies in the ring range (lo, hi], wrapping past 2^32 - 1; lo === hi is the whole ring. */
export function tokenInRange(t: number, lo: number, hi: number): boolean {
  t >>>= 0;
  lo >>>= 0;
  hi >>>= 0;
  if (lo === hi) return true;
  return lo < hi ? t > lo && t <= hi : t > lo || t <= hi;
}

export class WriteJournal {
  readonly counts: JournalCounts = { recorded: 0, clocksEvicted: 0, tombstonesExpired: 0, tombstonesEvicted: 0 };
  private readonly clocks = new Map<string, Clock>();
  private readonly tombs = new Map<string, Clock>();
  private readonly maxKeys: number;
  private readonly maxTombstones: number;
  readonly graceMs: number;
  private readonly wall: () => number;
  private clock = 0;
  private floor = 0;
  /** The newest forgotten ts per key-hash bucket: floorFor() is far below floorMs under churn. */
  private readonly floors = new Float64Array(FLOOR_BUCKETS);
  /** Called with each entry recorded or reverted, in order (the durable log appends it); undefined = removed. */
  onRecord: ((key: string, c: KeyClock | undefined) => void) | undefined;

  constructor(o: WriteJournalOptions = {}) {
    this.maxKeys = Math.max(0, o.maxKeys ?? DEFAULT_WRITE_JOURNAL.maxKeys);
    this.maxTombstones = Math.max(0, o.maxTombstones ?? DEFAULT_WRITE_JOURNAL.maxTombstones);
    this.graceMs = Math.max(0, o.graceMs ?? DEFAULT_WRITE_JOURNAL.graceMs);
    this.wall = o.now ?? Date.now;
  }

  /** The newest ts ever forgotten: a lookup miss means no write to that key after floorMs. */
  get floorMs(): number {
    return this.floor;
  }

  /**
   * The newest ts forgotten of any key that shares key's hash bucket (<= floorMs): a lookup miss
   * means no write to key after floorFor(key). Hint replay checks this one, so a busy node that
   * forgets clocks every second still applies hints of keys it never forgot.
   */
  floorFor(key: Uint8Array): number {
    return this.floors[bucketOf(latin1(key))]!;
  }

  floorForName(k: string): number {
    return this.floors[bucketOf(k)]!;
  }

  /** The highest ts recorded or stamped so far. */
  get clockMs(): number {
    return this.clock;
  }

  /** Overwrite clocks held. */
  get size(): number {
    return this.clocks.size;
  }

  /** Tombstones held. */
  get tombstones(): number {
    return this.tombs.size;
  }

  /**
   * The ts of a write applied (or first sent) now: the wall clock, and always above every ts
   * stamped or recorded before (by STAMP_STEP_MS when the clock has not moved), so two writes of
   * one key in the same millisecond still have an order, and a hint's origin time is unique.
   */
  stamp(): number {
    const now = this.wall();
    this.clock = now > this.clock ? now : this.clock + STAMP_STEP_MS;
    return this.clock;
  }

  /** Records a write of key applied to the local datastore. Multi-key writes call it per key. */
  record(key: Uint8Array, ts: number, deleted: boolean, token: number): void {
    this.recordName(latin1(key), ts, deleted, token);
  }

  /** record() with the key already as a latin1 string; returns the entry (for revertName). */
  recordName(k: string, ts: number, deleted: boolean, token: number, hinted = false): KeyClock {
    if (ts > this.clock) this.clock = ts;
    const c = new Clock(ts, deleted, token >>> 0, hinted);
    this.counts.recorded++;
    if (deleted) {
      this.clocks.delete(k);
      this.tombs.delete(k);
      this.tombs.set(k, c);
      this.trimTombstones();
    } else {
      if (this.tombs.size > 0) this.tombs.delete(k);
      // set() on a key already held replaces its entry in place: the map is in first-write order
      // and the oldest-inserted key is forgotten first. (delete + set, for least-recently-written
      // order, cost 3x as much per write: measured 300-450 ns against ~100 ns.)
      this.clocks.set(k, c);
      if (this.clocks.size > this.maxKeys) this.evictClock();
    }
    this.onRecord?.(k, c);
    return c;
  }

  /** The key's entry as held, grace not checked (what revertName restores). */
  peekName(k: string): KeyClock | undefined {
    return (this.tombs.size > 0 ? this.tombs.get(k) : undefined) ?? this.clocks.get(k);
  }

  /**
   * Undoes record(): a write recorded when it was sent that the datastore then refused. Only while
   * `mine` is still the key's entry (a later write keeps its own); `prev` (peekName before) returns.
   */
  revertName(k: string, mine: KeyClock, prev: KeyClock | undefined): void {
    if (this.peekName(k) !== mine) return;
    this.tombs.delete(k);
    this.clocks.delete(k);
    if (prev === undefined) {
      this.onRecord?.(k, undefined);
      return;
    }
    (prev.deleted ? this.tombs : this.clocks).set(k, prev as Clock);
    this.onRecord?.(k, prev);
  }

  /** The key's last recorded write, or undefined (then: no write after floorMs). */
  lookup(key: Uint8Array): KeyClock | undefined {
    return this.lookupName(latin1(key));
  }

  lookupName(k: string): KeyClock | undefined {
    const t = this.tombs.get(k);
    if (t !== undefined) {
      if (t.ts >= this.wall() - this.graceMs) return t;
      this.expire(this.wall());
      return undefined;
    }
    return this.clocks.get(k);
  }

  /** The tombstones (within their grace) whose token is in (lo, hi], wrapping; lo === hi: all. */
  *tombstonesIn(lo: number, hi: number): Iterable<[key: Buffer, clock: KeyClock]> {
    const now = this.wall();
    this.expire(now);
    const limit = now - this.graceMs;
    for (const [k, c] of this.tombs) {
      if (c.ts >= limit && tokenInRange(c.token, lo, hi)) yield [Buffer.from(k, 'latin1'), c];
    }
  }

  /** Every entry, oldest first (the durable log's compaction). */
  *entries(): Iterable<[key: string, clock: KeyClock]> {
    yield* this.tombs;
    yield* this.clocks;
  }

  /** Removes key's entry without raising any floor (a reverted write, replayed from the durable log). */
  forgetName(k: string): void {
    this.tombs.delete(k);
    this.clocks.delete(k);
  }

  /** A copy of the per-key floors (the durable log writes it). */
  floorsSnapshot(): Float64Array {
    return this.floors.slice();
  }

  /** Restores per-key floors written by floorsSnapshot; false (nothing changed) for a missing or short file. */
  loadFloors(path: string): boolean {
    let b: Buffer;
    try {
      b = readFileSync(path);
    } catch {
      return false;
    }
    if (b.length !== FLOOR_BUCKETS * 8) return false;
    for (let i = 0; i < FLOOR_BUCKETS; i++) {
      const f = b.readDoubleLE(i * 8);
      if (f > this.floors[i]!) this.floors[i] = f;
      if (f > this.floor) this.floor = f;
    }
    return true;
  }

  /** Raises floorMs alone (the per-key floors were restored and already bound every key). */
  raiseGlobalFloor(ts: number): void {
    if (ts > this.floor) this.floor = ts;
    if (ts > this.clock) this.clock = ts;
  }

  /** Raises floorMs and every key's floor (a restored journal whose newest entries may be missing). */
  raiseFloor(ts: number): void {
    if (ts > this.floor) this.floor = ts;
    for (let b = 0; b < FLOOR_BUCKETS; b++) if (ts > this.floors[b]!) this.floors[b] = ts;
    if (ts > this.clock) this.clock = ts;
  }

  /** Drops tombstones past their grace (record() and the owner's timer call it). */
  expire(now: number = this.wall()): void {
    const limit = now - this.graceMs;
    for (const [k, c] of this.tombs) {
      if (c.ts >= limit) break;
      this.tombs.delete(k);
      this.forget(k, c.ts);
      this.counts.tombstonesExpired++;
    }
  }

  private trimTombstones(): void {
    this.expire(this.wall());
    while (this.tombs.size > this.maxTombstones) {
      const [k, c] = this.tombs.entries().next().value as [string, Clock];
      this.tombs.delete(k);
      this.forget(k, c.ts);
      this.counts.tombstonesEvicted++;
    }
  }

  private evictClock(): void {
    while (this.clocks.size > this.maxKeys) {
      const [k, c] = this.clocks.entries().next().value as [string, Clock];
      this.clocks.delete(k);
      this.forget(k, c.ts);
      this.counts.clocksEvicted++;
    }
  }

  private forget(k: string, ts: number): void {
    if (ts > this.floor) this.floor = ts;
    const b = bucketOf(k);
    if (ts > this.floors[b]!) this.floors[b] = ts;
  }
}

function latin1(key: Uint8Array): string {
  return Buffer.isBuffer(key) ? key.toString('latin1') : Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/** FNV-1a over the key's latin1 chars (its bytes), folded to a floor bucket. */
function bucketOf(k: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < k.length; i++) h = Math.imul(h ^ k.charCodeAt(i), 0x01000193);
  return (h >>> 0) & (FLOOR_BUCKETS - 1);
}
