// The keyspace of the embedded datastore: one Map from key to Entry, expiry, SCAN order, sweeping.
//
// Keys are JS strings made with `buf.toString('latin1')`: latin1 maps every byte 0..255 to the char
// code of the same value and back, so the mapping is lossless and 1:1 for arbitrary binary keys,
// string comparison (`<`) orders them exactly as memcmp does, and V8 stores them as one-byte strings
// (no UTF-16 doubling). The same representation is used for hash fields, set members and zset
// members.
//
// SCAN order: every key gets a sequence number when it is created (overwrites keep it). `order`
// holds the keys by ascending sequence; a deleted key leaves a tombstone (null) in place, so the
// positions of live keys never move while a scan may be running. The cursor is the sequence number
// of the next slot to visit, found again by binary search, so compaction (dropping tombstones, done
// only when they are the majority, and never inside a scan call) does not invalidate cursors. A key
// present for the whole scan is therefore always returned; keys created during the scan are
// returned or not (they land at the end); a key is never returned twice.
//
//   order     [ "a" | null | "c" | "d" | null | "f" ]      cursor = seq of the next slot
//   orderSeq  [  1  |  2   |  3  |  5  |  6   |  9  ]      (ascending, gaps after compaction)
import type { Deque } from './deque.js';
import type { ZSet } from './skiplist.js';

export const T_STRING = 0;
export const T_LIST = 1;
export const T_HASH = 2;
export const T_SET = 3;
export const T_ZSET = 4;
export const TYPE_NAMES = ['string', 'list', 'hash', 'set', 'zset'] as const;

/** A client watching keys (MemoryStore's StoreClient). */
export interface Watcher {
  dirty: boolean;
}

export type Value = Buffer | Deque | Map<string, Buffer> | Set<string> | ZSet;

export class Entry {
  /** Absolute expiry in ms since the epoch; 0 = persistent. */
  expireAt = 0;
  /** memcached client flags (strings only). */
  flags = 0;
  /** memcached CAS unique; 0 = not assigned yet (assigned lazily by `gets`). */
  cas = 0;
  constructor(
    public type: number,
    public value: Value,
    readonly seq: number,
  ) {}
}

export class Keyspace {
  readonly map = new Map<string, Entry>();
  private readonly volatile = new Set<string>();
  private order: (string | null)[] = [];
  private orderSeq: number[] = [];
  private nextSeq = 1;
  private tombstones = 0;
  private sweepIter: Iterator<string> | null = null;
  /** Approximate bytes held by keys and string values (collections are not counted). */
  usedBytes = 0;
  /** Told of every key created, replaced by a string, or removed (deleted, expired); search indexing. */
  onTouch: ((key: string) => void) | undefined;
  /** Told when every key is gone at once (FLUSHALL / FLUSHDB). */
  onFlush: (() => void) | undefined;
  /**
   * WATCH: the clients watching each key (Redis's watched_keys). Every change to a watched key
   * marks its watchers dirty: created, replaced, removed (DEL, expiry, lazy or active), flushed
   * while it exists, and every write command naming it (MemoryStore.execute). Empty while nobody
   * watches, so the write path pays one size check.
   */
  readonly watchers = new Map<string, Set<Watcher>>();

  constructor(readonly now: () => number) {}

  get size(): number {
    return this.map.size;
  }

  /** Keys with a TTL (INFO keyspace `expires`); may count keys that expired but were not yet swept. */
  get volatileCount(): number {
    return this.volatile.size;
  }

  /** The live entry of a key, deleting it first if it has expired (lazy expiry). */
  lookup(key: string): Entry | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    if (e.expireAt !== 0 && this.now() > e.expireAt) {
      this.remove(key, e);
      return undefined;
    }
    return e;
  }

  create(key: string, type: number, value: Value): Entry {
    if (this.tombstones > 64 && this.tombstones * 2 > this.order.length) this.compact();
    const e = new Entry(type, value, this.nextSeq++);
    this.map.set(key, e);
    this.order.push(key);
    this.orderSeq.push(e.seq);
    this.usedBytes += key.length + 48 + (type === T_STRING ? (value as Buffer).length : 0);
    this.onTouch?.(key);
    if (this.watchers.size > 0) this.signal(key);
    return e;
  }

  /** SET semantics: replace any value, clear the TTL unless keepTtl, reset memcached metadata. */
  setString(key: string, value: Buffer, keepTtl = false): Entry {
    const e = this.map.get(key);
    if (e === undefined) return this.create(key, T_STRING, value);
    if (e.type === T_STRING) this.usedBytes -= (e.value as Buffer).length;
    this.usedBytes += value.length;
    e.type = T_STRING;
    e.value = value;
    e.flags = 0;
    e.cas = 0;
    if (!keepTtl) this.setExpire(key, e, 0);
    this.onTouch?.(key);
    if (this.watchers.size > 0) this.signal(key);
    return e;
  }

  /** Replaces a string value in place (APPEND, INCR, SETRANGE): keeps the TTL. */
  updateString(e: Entry, value: Buffer): void {
    this.usedBytes += value.length - (e.value as Buffer).length;
    e.value = value;
    e.cas = 0;
  }

  setExpire(key: string, e: Entry, at: number): void {
    e.expireAt = at;
    if (at === 0) this.volatile.delete(key);
    else this.volatile.add(key);
  }

  remove(key: string, e: Entry): void {
    this.map.delete(key);
    this.onTouch?.(key);
    if (this.watchers.size > 0) this.signal(key);
    if (e.expireAt !== 0) this.volatile.delete(key);
    this.usedBytes -= key.length + 48 + (e.type === T_STRING ? (e.value as Buffer).length : 0);
    const pos = this.position(e.seq);
    if (pos < this.orderSeq.length && this.orderSeq[pos] === e.seq) {
      this.order[pos] = null;
      this.tombstones++;
    }
  }

  /** Deletes a key if present and live; returns whether it was. */
  delete(key: string): boolean {
    const e = this.lookup(key);
    if (e === undefined) return false;
    this.remove(key, e);
    return true;
  }

  /** Marks the watchers of key dirty (their EXEC will answer nil). */
  signal(key: string): void {
    const w = this.watchers.get(key);
    if (w !== undefined) for (const c of w) c.dirty = true;
  }

  flush(): void {
    // As Redis's touchAllWatchedKeysInDb: watchers of keys that exist (expired or not) see a change.
    for (const [key, w] of this.watchers) if (this.map.has(key)) for (const c of w) c.dirty = true;
    this.map.clear();
    this.volatile.clear();
    this.order = [];
    this.orderSeq = [];
    this.tombstones = 0;
    this.sweepIter = null;
    this.usedBytes = 0;
    this.onFlush?.();
  }

  /** First slot whose sequence is >= seq. */
  private position(seq: number): number {
    let lo = 0;
    let hi = this.orderSeq.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.orderSeq[mid]! < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private compact(): void {
    const order: string[] = [];
    const seqs: number[] = [];
    for (let i = 0; i < this.order.length; i++) {
      const k = this.order[i];
      if (k !== null && k !== undefined) {
        order.push(k);
        seqs.push(this.orderSeq[i]!);
      }
    }
    this.order = order;
    this.orderSeq = seqs;
    this.tombstones = 0;
  }

  /**
   * Visits up to `count` live keys from `cursor` (0 = start) and returns the next cursor (0 = done).
   * Bounded work: at most 10 * count slots are examined per call.
   */
  scan(cursor: number, count: number, visit: (key: string, e: Entry) => void): number {
    let pos = cursor === 0 ? 0 : this.position(cursor);
    let found = 0;
    let budget = Math.max(count, 1) * 10;
    const n = this.order.length;
    while (pos < n && found < count && budget-- > 0) {
      const key = this.order[pos++];
      if (key === null || key === undefined) continue;
      const e = this.lookup(key);
      if (e === undefined) continue;
      found++;
      visit(key, e);
    }
    return pos < n ? this.orderSeq[pos]! : 0;
  }

  randomKey(random: () => number): string | null {
    for (let tries = 0; tries < 64 && this.map.size > 0; tries++) {
      const key = this.order[Math.floor(random() * this.order.length)];
      if (key !== null && key !== undefined && this.lookup(key) !== undefined) return key;
    }
    for (const key of this.map.keys()) if (this.lookup(key) !== undefined) return key;
    return null;
  }

  /**
   * Active expiry: walks the volatile keys from where the last call stopped, deleting expired ones,
   * for at most `budgetMs` (checked every 32 keys). Returns how many keys were removed.
   */
  sweep(budgetMs: number): number {
    if (this.tombstones > 64 && this.tombstones * 2 > this.order.length) this.compact();
    const deadline = performance.now() + budgetMs;
    const now = this.now();
    let removed = 0;
    let steps = 0;
    if (this.sweepIter === null) this.sweepIter = this.volatile.values();
    for (;;) {
      const next = this.sweepIter.next();
      if (next.done) {
        this.sweepIter = null;
        break;
      }
      const e = this.map.get(next.value);
      if (e !== undefined && e.expireAt !== 0 && now > e.expireAt) {
        this.remove(next.value, e);
        removed++;
      }
      if (++steps % 32 === 0 && performance.now() >= deadline) break;
    }
    return removed;
  }
}
