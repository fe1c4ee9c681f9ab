// Per-document match results and RediSearch 2.x scoring over them.
//
// A query evaluates to, per matching document, a result tree mirroring RediSearch's RSIndexResult:
// term hits (freq, idf, positions), aggregates (intersection / union children) and virtual hits
// (numeric ranges, wildcard, negation). TF-IDF is RediSearch's: the weighted sum over term hits of
// freq * idf, times the document score, divided by the document's max term frequency (TFIDF) or its
// weighted length (TFIDF.DOCNORM), divided by the "slop" (how far apart the matched terms are).
// idf = logb(1 + N / df) — logb is the binary exponent, so idf is a whole number.

export interface TermHit {
  k: 'term';
  freq: number;
  idf: number;
  weight: number;
  positions: number[];
}

export interface AggHit {
  k: 'agg';
  weight: number;
  children: Hit[];
}

export interface VirtualHit {
  k: 'virt';
  freq: number;
  weight: number;
}

export type Hit = TermHit | AggHit | VirtualHit;

export interface DocStats {
  score: number;
  maxFreq: number;
  len: number;
}

export type ScorerName = 'TFIDF' | 'TFIDF.DOCNORM' | 'BM25' | 'DISMAX' | 'DOCSCORE';
export const SCORERS: readonly ScorerName[] = ['TFIDF', 'TFIDF.DOCNORM', 'BM25', 'DISMAX', 'DOCSCORE'];

/** C's logb for positive finite x: the unbiased binary exponent, as a double. */
export function logb(x: number): number {
  if (x === 0) return -Infinity;
  if (!Number.isFinite(x)) return Infinity;
  return Math.floor(Math.log2(Math.abs(x)));
}

export function idf(totalDocs: number, termDocs: number): number {
  return logb(1 + totalDocs / (termDocs > 0 ? termDocs : 1));
}

/** RediSearch 2.x BM25 idf: log(1 + (N - df + 0.5) / (df + 0.5)). */
export function idfBm25(totalDocs: number, termDocs: number): number {
  return Math.log(1 + (totalDocs - termDocs + 0.5) / (termDocs + 0.5));
}

function hasOffsets(h: Hit): boolean {
  if (h.k === 'term') return h.positions.length > 0;
  if (h.k === 'agg') return h.children.some(hasOffsets);
  return false;
}

function offsets(h: Hit): number[] {
  if (h.k === 'term') return h.positions;
  if (h.k === 'virt') return [];
  const all: number[] = [];
  for (const c of h.children) for (const p of offsets(c)) all.push(p);
  return all.sort((a, b) => a - b);
}

/**
 * RediSearch's IndexResult_MinOffsetDelta: the integer sqrt of the summed squared minimal gaps of
 * consecutive children that have positions (100 when the last positional child has no partner and
 * nothing was summed); when that is 0, the number of children minus one.
 */
export function slop(h: Hit): number {
  if (h.k !== 'agg' || h.children.length <= 1) return 1;
  const kids = h.children;
  const num = kids.length;
  let dist = 0;
  let i = 0;
  while (i < num) {
    while (i < num && !hasOffsets(kids[i]!)) i++;
    if (i === num) break;
    const v1 = offsets(kids[i]!);
    i++;
    while (i < num && !hasOffsets(kids[i]!)) i++;
    if (i === num) {
      // A positional child followed only by position-less ones (numeric, tags, negation).
      dist = dist !== 0 ? dist : 100;
      break;
    }
    const v2 = offsets(kids[i]!);
    let a = 0;
    let b = 0;
    let p1 = v1[a]!;
    let p2 = v2[b]!;
    let cd = Math.abs(p2 - p1);
    while (cd > 1 && a < v1.length && b < v2.length) {
      cd = Math.min(Math.abs(p2 - p1), cd);
      if (p2 > p1) p1 = v1[++a] ?? Infinity;
      else p2 = v2[++b] ?? Infinity;
      if (!Number.isFinite(p1) || !Number.isFinite(p2)) break;
    }
    dist += cd * cd;
  }
  return dist !== 0 ? Math.trunc(Math.sqrt(dist)) : num - 1;
}

function tfidfRec(h: Hit): number {
  if (h.k === 'term') return h.weight * h.freq * h.idf;
  if (h.k === 'agg') {
    let s = 0;
    for (const c of h.children) s += tfidfRec(c);
    return h.weight * s;
  }
  return h.weight * h.freq;
}

function bm25Rec(h: Hit, avgLen: number): number {
  const b = 0.5;
  const k1 = 1.2;
  if (h.k === 'term') return (h.idf * h.freq) / (h.freq + k1 * (1 - b + b * avgLen));
  if (h.k === 'agg') {
    let s = 0;
    for (const c of h.children) s += bm25Rec(c, avgLen);
    return h.weight * s;
  }
  return h.freq ? (h.weight * h.freq) / (h.freq + k1 * (1 - b + b * avgLen)) : 0;
}

function dismaxRec(h: Hit): number {
  if (h.k === 'agg') {
    let s = 0;
    for (const c of h.children) s = Math.max(s, dismaxRec(c));
    return h.weight * s;
  }
  return h.weight * h.freq;
}

export function score(name: ScorerName, h: Hit, d: DocStats, avgLen: number): number {
  switch (name) {
    case 'DOCSCORE':
      return d.score;
    case 'DISMAX':
      return dismaxRec(h);
    case 'BM25': {
      const s = d.score * bm25Rec(h, avgLen);
      return s / slop(h);
    }
    default: {
      if (d.score === 0) return 0;
      const norm = name === 'TFIDF' ? d.maxFreq : d.len;
      return (d.score * tfidfRec(h)) / norm / slop(h);
    }
  }
}
