// The digest tree over a snapshot, computed on demand: a node of the tree is a token range
// [lo, hi] (inclusive u32), its children the `fanout` equal parts of it, its digest the XOR of its
// keys' digests (order-independent, so one pass over the sorted slice builds a whole level) and
// its key count. Nothing is stored: both sides compute the same children of the same range.
import type { Snapshot } from './ae-snapshot.js';

/** Index of the first key whose token is >= t. */
export function firstAtOrAbove(s: Snapshot, t: number): number {
  let lo = 0;
  let hi = s.tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s.tokens[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Key indexes [from, to) of the range [lo, hi]. */
export function slice(s: Snapshot, lo: number, hi: number): [number, number] {
  return [firstAtOrAbove(s, lo), hi >= 0xFFFFFFFF ? s.tokens.length : firstAtOrAbove(s, hi + 1)];
}

/** The bounds of child j of [lo, hi] split in `fanout` parts (the last takes the rest). */
export function childRange(lo: number, hi: number, fanout: number, j: number): [number, number] {
  const width = hi - lo + 1;
  const a = lo + Math.floor((width * j) / fanout);
  const b = j === fanout - 1 ? hi : lo + Math.floor((width * (j + 1)) / fanout) - 1;
  return [a, b];
}

/** Per child of [lo, hi]: key count, digest low and high words (XOR of the keys'). */
export interface Level {
  readonly count: Uint32Array;
  readonly lo: Int32Array;
  readonly hi: Int32Array;
}

/** One pass over the range's slice; children narrower than one token are allowed (empty). */
export function children(s: Snapshot, lo: number, hi: number, fanout: number): Level {
  const out: Level = { count: new Uint32Array(fanout), lo: new Int32Array(fanout), hi: new Int32Array(fanout) };
  const [from, to] = slice(s, lo, hi);
  const width = hi - lo + 1;
  for (let i = from; i < to; i++) {
    let j = Math.floor(((s.tokens[i]! - lo) * fanout) / width);
    // Integer bounds of childRange differ from the proportional estimate by at most one child.
    while (j > 0 && s.tokens[i]! < childRange(lo, hi, fanout, j)[0]) j--;
    while (j < fanout - 1 && s.tokens[i]! > childRange(lo, hi, fanout, j)[1]) j++;
    out.count[j]!++;
    out.lo[j]! ^= s.dlo[i]!;
    out.hi[j]! ^= s.dhi[i]!;
  }
  return out;
}

/** A level as bytes for the wire: per child count, lo, hi as little-endian u32 (12 bytes each). */
export function encodeLevel(l: Level): Buffer {
  const n = l.count.length;
  const b = Buffer.alloc(n * 12);
  for (let j = 0; j < n; j++) {
    b.writeUInt32LE(l.count[j]!, j * 12);
    b.writeInt32LE(l.lo[j]!, j * 12 + 4);
    b.writeInt32LE(l.hi[j]!, j * 12 + 8);
  }
  return b;
}

export function decodeLevel(b: Buffer, fanout: number): Level {
  if (b.length !== fanout * 12) throw new Error(`anti-entropy: a tree level of ${b.length} bytes for ${fanout} children`);
  const out: Level = { count: new Uint32Array(fanout), lo: new Int32Array(fanout), hi: new Int32Array(fanout) };
  for (let j = 0; j < fanout; j++) {
    out.count[j] = b.readUInt32LE(j * 12);
    out.lo[j] = b.readInt32LE(j * 12 + 4);
    out.hi[j] = b.readInt32LE(j * 12 + 8);
  }
  return out;
}

/** The 64-bit digest of key i as a bigint (the version rule's valueHash). */
export function valueHash(s: Snapshot, i: number): bigint {
  return (BigInt(s.dhi[i]! >>> 0) << 32n) | BigInt(s.dlo[i]! >>> 0);
}
