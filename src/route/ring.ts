// One rack's continuum: which node owns a key token. Pure data, built once per topology snapshot.
//
// Netflix Dynomite (src/dyn_vnode.c) keeps, per rack, every (token, peer index) pair sorted by
// token with qsort, and dispatches a key token with `vnode_dispatch`:
//
//   if token > last point or token <= first point   -> the first point's peer      (wrap-around)
//   else bisect [left, right]: cmp == 0             -> that middle point's peer    (exact hit)
//                              cmp <  0             -> left = middle + 1
//                              cmp >  0             -> right = middle
//        end                                        -> right's peer                (lower bound)
//
// i.e. "the first point whose token is >= the key's token, wrapping to the first point", compared
// as unsigned 32-bit integers (`cmp_dyn_token`: token 0 has signum 0, every other token signum 1,
// then the magnitude compares unsigned, which is the same order as u32).
//
// Duplicate tokens inside one rack (two nodes, or one node twice, naming the same point):
//   - glibc's qsort is a stable merge sort, and `vnode_update` appends points in peer order
//     (peer 0 = the local node, then the seeds in `dyn_seeds` order), so equal tokens sit in
//     peer-index order;
//   - a key strictly between two distinct tokens lands on the *first* point of the next run of
//     equal tokens (the bisection converges on the lower bound): the lowest peer index wins;
//   - a key exactly equal to a duplicated token returns whichever point of the run the bisection
//     happens to probe first (`cmp == 0` returns at once), which depends on the run's position
//     in the array; at the first point (and on wrap-around) it is the first point of the run.
// We reproduce both rules exactly. Node indexes in a Topology are Netflix peer indexes, so the
// answer equals a Netflix node's for the same config. (Netflix nodes list themselves first, so
// two Netflix nodes can disagree about a duplicated token's owner; Topology warns about it.)
//
// Layout (one Ring per rack; n = number of DISTINCT tokens):
//
//   points       Uint32Array[n]  distinct tokens, ascending (unsigned)
//   owners       Int32Array[n]   node index for a key token in (points[i-1], points[i])
//                                (and, for i = 0, for key tokens <= points[0] or > points[n-1])
//   exactOwners  Int32Array[n]   node index for a key token == points[i] (equals owners[i] unless
//                                points[i] is duplicated and the bisection lands elsewhere)
//
// `points` is the array the WASM core's ringLookup / ringLookupBatch take (a plain lower bound
// with wrap): their index i gives owners[i], or exactOwners[i] when the key token equals points[i].

/** One ring point as configured: a token and the node (peer index) that owns it. */
export interface RingPoint {
  readonly token: number;
  readonly node: number;
}

export class Ring {
  /** Distinct tokens, ascending (u32). The array to copy into WASM memory for ringLookup. */
  readonly points: Uint32Array;
  /** Owner for key tokens in (points[i-1], points[i]) (for i = 0: <= points[0] or > the last). */
  readonly owners: Int32Array;
  /** Owner for key tokens exactly equal to points[i]. */
  readonly exactOwners: Int32Array;
  /** Number of distinct tokens (>= 1). */
  readonly size: number;
  /** True when some token is named more than once (by different nodes). */
  readonly hasDuplicates: boolean;

  private constructor(points: Uint32Array, owners: Int32Array, exactOwners: Int32Array,
    hasDuplicates: boolean) {
    this.points = points;
    this.owners = owners;
    this.exactOwners = exactOwners;
    this.size = points.length;
    this.hasDuplicates = hasDuplicates;
  }

  /**
   * Builds a ring from (token, node) pairs listed in Netflix insertion order: by node index, then
   * each node's tokens. Tokens must be integers in [0, 2^32 - 1]; at least one point.
   */
  static build(entries: readonly RingPoint[]): Ring {
    if (entries.length === 0) throw new RangeError('Ring.build: a rack needs at least one token');
    for (const e of entries) checkToken(e.token);
    const sorted = stableSortByToken(entries);
    const tokens = Uint32Array.from(sorted, (e) => e.token);
    const nodes = Int32Array.from(sorted, (e) => e.node);
    const runStarts = distinctRunStarts(tokens);
    const n = runStarts.length;
    const points = new Uint32Array(n);
    const owners = new Int32Array(n);
    const exactOwners = new Int32Array(n);
    let hasDuplicates = false;
    for (let i = 0; i < n; i++) {
      const start = runStarts[i]!;
      points[i] = tokens[start]!;
      owners[i] = nodes[start]!;
      const hit = netflixDispatch(tokens, points[i]!);
      exactOwners[i] = nodes[hit]!;
      const end = i + 1 < n ? runStarts[i + 1]! : tokens.length;
      for (let k = start + 1; k < end; k++) if (nodes[k] !== nodes[start]) hasDuplicates = true;
    }
    return new Ring(points, owners, exactOwners, hasDuplicates);
  }

  /** Index into `points` of the first point >= token (unsigned), wrapping to 0. */
  pointIndexOf(token: number): number {
    const i = lowerBound(this.points, token >>> 0);
    return i === this.size ? 0 : i;
  }

  /** The node index that owns `token` (a u32 key token; negative int32 values are read as u32). */
  ownerOf(token: number): number {
    const t = token >>> 0;
    const i = lowerBound(this.points, t);
    if (i === this.size) return this.owners[0]!;
    return this.points[i] === t ? this.exactOwners[i]! : this.owners[i]!;
  }

  /**
   * The owner for a point index returned by the WASM core's ringLookup over `points` (or by
   * pointIndexOf), given the key token that was looked up.
   */
  ownerAtPoint(index: number, token: number): number {
    return this.points[index] === token >>> 0 ? this.exactOwners[index]! : this.owners[index]!;
  }
}

/** Throws unless t is an integer in [0, 2^32 - 1]. */
export function checkToken(t: number): void {
  if (!Number.isInteger(t) || t < 0 || t > 0xFFFFFFFF) {
    throw new RangeError(`token ${String(t)} is not an unsigned 32-bit integer`);
  }
}

/** First index i with points[i] >= token, or points.length. points ascending u32, token u32. */
export function lowerBound(points: Uint32Array, token: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]! < token) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * `vnode_dispatch` over the full (duplicates kept) sorted token array: the index of the point a
 * Netflix node picks for `token`. Used at build time only, to find each duplicate run's exact-hit
 * owner. (Tokens are u32 here, so cmp_dyn_token is a plain numeric compare.)
 */
export function netflixDispatch(tokens: Uint32Array, token: number): number {
  let left = 0;
  let right = tokens.length - 1;
  if (tokens[right]! < token || tokens[left]! >= token) return left;
  while (left < right) {
    const middle = left + ((right - left) >>> 1);
    const m = tokens[middle]!;
    if (m === token) return middle;
    if (m < token) left = middle + 1;
    else right = middle;
  }
  return right;
}

/** Entries sorted by token, ties kept in input order (glibc's qsort is a stable merge sort). */
function stableSortByToken(entries: readonly RingPoint[]): RingPoint[] {
  // Array.prototype.sort is stable since ES2019.
  return entries.slice().sort((a, b) => a.token - b.token);
}

/** Start index of each run of equal tokens in an ascending array. */
function distinctRunStarts(tokens: Uint32Array): number[] {
  const starts: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (i === 0 || tokens[i] !== tokens[i - 1]) starts.push(i);
  }
  return starts;
}
