// Evaluates a QNode tree over one SearchIndex: per matching document id, its hit tree (scorer.ts).
// Sets are materialised (Map doc id -> Hit): simple, and exact for totals, negation and sorting.
import type { QNode, Fields } from './query-ast.js';
import type { SearchIndex, Posting } from './doc-index.js';
import { asciiLower } from './doc-index.js';
import { type Hit, type TermHit, idf } from './scorer.js';
import { snowballStem, STEM_PREFIX } from './stemmer.js';
import { err } from './errors.js';
import { vectorDistance, decodeQueryVector } from './vectors.js';

export type Matches = Map<number, Hit>;

/** Most terms a prefix or fuzzy query expands to (RediSearch's MAXEXPANSIONS default). */
export const MAX_EXPANSIONS = 200;

export class QueryExec {
  private readonly total: number;
  constructor(
    readonly ix: SearchIndex,
    /** Only these doc ids may match (INKEYS), when set. */
    readonly allowed: ReadonlySet<number> | undefined,
    /** Only these TEXT fields are searched (INFIELDS), when set. */
    readonly inFields: Fields,
  ) {
    // RediSearch's document table counts from 1 (doc id 0 is reserved): N = live docs + 1.
    this.total = ix.numDocs + 1;
  }

  run(n: QNode): Matches {
    const m = this.eval(n);
    if (this.allowed === undefined) return m;
    for (const id of m.keys()) if (!this.allowed.has(id)) m.delete(id);
    return m;
  }

  private mask(fields: Fields): number {
    const names = fields ?? this.inFields;
    if (names === null) return -1;
    let m = 0;
    for (const name of names) {
      const f = this.ix.field(name);
      if (f === undefined) continue; // an unknown field matches nothing
      if (f.type !== 'TEXT') continue;
      m |= this.ix.textBit.get(f.name) ?? 0;
    }
    if (fields !== null && this.inFields !== null && fields !== this.inFields) {
      let inM = 0;
      for (const name of this.inFields) inM |= this.ix.textBit.get(name) ?? 0;
      m &= inM;
    }
    return m;
  }

  private termReader(term: string, mask: number): Map<number, TermHit> {
    const out = new Map<number, TermHit>();
    const p = this.ix.terms.get(term);
    if (p === undefined || mask === 0) return out;
    const w = idf(this.total, p.size);
    for (const [id, h] of p as Map<number, Posting>) {
      if ((h.fieldMask & mask) === 0) continue;
      out.set(id, { k: 'term', freq: h.freq, idf: w, weight: 1, positions: h.positions });
    }
    return out;
  }

  private unionOf(readers: Map<number, Hit>[]): Matches {
    if (readers.length === 1) return readers[0]!;
    const out: Matches = new Map();
    for (const r of readers) {
      for (const [id, h] of r) {
        const cur = out.get(id);
        if (cur === undefined) out.set(id, { k: 'agg', weight: 1, children: [h] });
        else (cur as { children: Hit[] }).children.push(h);
      }
    }
    return out;
  }

  /** The index terms a query word stands for: itself, "+stem", and the stem when it differs. */
  expansions(term: string, verbatim: boolean): string[] {
    if (verbatim) return [term];
    const s = snowballStem(term);
    const out = [term, STEM_PREFIX + s];
    if (s !== term && s.length > 0) out.push(s);
    return out;
  }

  private eval(n: QNode): Matches {
    switch (n.t) {
      case 'null':
        return new Map();
      case 'all':
        return this.everything(1);
      case 'term': {
        const mask = this.mask(n.fields);
        const readers = this.expansions(n.term, n.verbatim).map((t) => this.termReader(t, mask));
        return readers.length === 1 ? readers[0]! : this.unionAll(readers);
      }
      case 'prefix': {
        const mask = this.mask(n.fields);
        const terms: string[] = [];
        for (const t of this.ix.dictionary()) {
          if (t.startsWith(n.prefix)) {
            terms.push(t);
            if (terms.length >= MAX_EXPANSIONS) break;
          }
        }
        return this.firstOf(terms.sort().map((t) => this.termReader(t, mask)));
      }
      case 'fuzzy': {
        const mask = this.mask(n.fields);
        const terms: string[] = [];
        for (const t of this.ix.dictionary()) {
          if (levenshteinWithin(n.term, t, n.dist)) {
            terms.push(t);
            if (terms.length >= MAX_EXPANSIONS) break;
          }
        }
        return this.firstOf(terms.sort().map((t) => this.termReader(t, mask)));
      }
      case 'phrase': {
        const mask = this.mask(n.fields);
        const readers = n.terms.map((t) => this.termReader(t, mask));
        const out: Matches = new Map();
        const first = readers[0]!;
        for (const [id, h0] of first) {
          const kids: TermHit[] = [h0];
          let ok = true;
          for (let i = 1; i < readers.length && ok; i++) {
            const h = readers[i]!.get(id);
            if (h === undefined) ok = false;
            else kids.push(h);
          }
          if (!ok || !consecutive(kids)) continue;
          out.set(id, { k: 'agg', weight: 1, children: kids });
        }
        return out;
      }
      case 'and':
        return this.intersect(n.children);
      case 'or': {
        const kids = n.children.filter((c) => c.t !== 'null');
        return this.unionAll(kids.map((c) => this.eval(c)));
      }
      case 'not': {
        const inner = this.eval(n.child);
        const out: Matches = new Map();
        for (const id of this.ix.docs.keys()) if (!inner.has(id)) out.set(id, { k: 'virt', freq: 0, weight: 1 });
        return out;
      }
      case 'opt': {
        const inner = this.eval(n.child);
        const out: Matches = new Map();
        for (const id of this.ix.docs.keys()) out.set(id, inner.get(id) ?? { k: 'virt', freq: 0, weight: 0 });
        return out;
      }
      case 'numeric': {
        const f = this.ix.field(n.field);
        if (f === undefined || f.type !== 'NUMERIC') throw err(`${n.field}: no such numeric field`);
        const out: Matches = new Map();
        for (const [id, v] of this.ix.numeric.get(f.name)!) {
          if (v < n.lo || (n.loEx && v === n.lo) || v > n.hi || (n.hiEx && v === n.hi)) continue;
          out.set(id, { k: 'virt', freq: 1, weight: 1 });
        }
        return out;
      }
      case 'tag': {
        const f = this.ix.field(n.field);
        if (f === undefined || f.type !== 'TAG') return new Map();
        const byTag = this.ix.tags.get(f.name)!;
        const readers: Map<number, Hit>[] = [];
        for (const v of n.values) {
          const want = f.caseSensitive ? v.value : asciiLower(v.value);
          const sets: Set<number>[] = [];
          if (v.prefix) {
            for (const [tag, s] of byTag) if (tag.startsWith(want)) sets.push(s);
          } else {
            const s = byTag.get(want);
            if (s !== undefined) sets.push(s);
          }
          for (const s of sets) {
            const w = idf(this.total, s.size);
            const r = new Map<number, Hit>();
            for (const id of s) r.set(id, { k: 'term', freq: 1, idf: w, weight: 1, positions: [] });
            readers.push(r);
          }
        }
        return this.unionAll(readers);
      }
      case 'vrange': {
        const f = this.ix.field(n.field);
        if (f === undefined || f.type !== 'VECTOR') throw err(`${n.field}: no such vector field`);
        const q = decodeQueryVector(n.blob, f);
        const out: Matches = new Map();
        for (const [id, v] of this.ix.vectors.get(f.name)!) {
          if (vectorDistance(f.vector!.metric, q, v) <= n.radius) out.set(id, { k: 'virt', freq: 1, weight: 1 });
        }
        return out;
      }
    }
  }

  /**
   * A "quick exit" union (RediSearch's for prefix and fuzzy expansions): a document's hit is the
   * first expansion, in dictionary order, that contains it.
   */
  private firstOf(readers: Map<number, Hit>[]): Matches {
    const out: Matches = new Map();
    for (const r of readers) {
      for (const [id, h] of r) if (!out.has(id)) out.set(id, { k: 'agg', weight: 1, children: [h] });
    }
    return out;
  }

  private everything(freq: number): Matches {
    const out: Matches = new Map();
    for (const id of this.ix.docs.keys()) out.set(id, { k: 'virt', freq, weight: 1 });
    return out;
  }

  private unionAll(readers: Map<number, Hit>[]): Matches {
    if (readers.length === 0) return new Map();
    return this.unionOf(readers);
  }

  private intersect(children: QNode[]): Matches {
    const kids = children.filter((c) => c.t !== 'null');
    if (kids.length === 0) return new Map();
    const sets = kids.map((c) => this.eval(c));
    if (sets.length === 1) return sets[0]!;
    // Drive from the smallest set.
    let smallest = 0;
    for (let i = 1; i < sets.length; i++) if (sets[i]!.size < sets[smallest]!.size) smallest = i;
    const out: Matches = new Map();
    for (const id of sets[smallest]!.keys()) {
      const hits: Hit[] = [];
      let ok = true;
      for (const s of sets) {
        const h = s.get(id);
        if (h === undefined) {
          ok = false;
          break;
        }
        hits.push(h);
      }
      if (ok) out.set(id, { k: 'agg', weight: 1, children: hits });
    }
    return out;
  }
}

/** Whether some occurrence of each term follows the previous one at the next position. */
function consecutive(kids: TermHit[]): boolean {
  for (const p0 of kids[0]!.positions) {
    let ok = true;
    for (let i = 1; i < kids.length && ok; i++) ok = kids[i]!.positions.includes(p0 + i);
    if (ok) return true;
  }
  return false;
}

/**
 * Edit distance of a and b is at most max: insertions, deletions, substitutions and adjacent
 * transpositions each count one (RediSearch's fuzzy matching finds "dog" for %dgo%).
 */
export function levenshteinWithin(a: string, b: string, max: number): boolean {
  if (Math.abs(a.length - b.length) > max) return false;
  const w = b.length + 1;
  const d = new Array<number>((a.length + 1) * w);
  for (let j = 0; j <= b.length; j++) d[j] = j;
  for (let i = 1; i <= a.length; i++) {
    d[i * w] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let v = Math.min(d[(i - 1) * w + j]! + 1, d[i * w + j - 1]! + 1, d[(i - 1) * w + j - 1]! + cost);
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) {
        v = Math.min(v, d[(i - 2) * w + j - 2]! + 1);
      }
      d[i * w + j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return false;
  }
  return d[a.length * w + b.length]! <= max;
}
