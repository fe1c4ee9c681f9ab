// Evaluates a QNode tree over one SearchIndex: per matching document id, its hit tree (scorer.ts).
// Sets are materialised (Map doc id -> Hit): simple, and exact for totals, negation and sorting.
import type { QNode, Fields } from './query-ast.js';
import type { SearchIndex, Posting, PostingList } from './doc-index.js';
import { asciiLower } from './doc-index.js';
import { type Hit, type TermHit, idf } from './scorer.js';
import { snowballStem, STEM_PREFIX } from './stemmer.js';
import { err } from './errors.js';
import { vectorDistance, decodeQueryVector } from './vectors.js';

/** Read-only: a term's matches may be the index's own posting list (termReader). */
export type Matches = ReadonlyMap<number, Hit>;

/** Most terms a prefix or fuzzy query expands to (RediSearch's MAXEXPANSIONS default). */
export const MAX_EXPANSIONS = 200;

export class QueryExec {
  private readonly total: number;
  /** Every TEXT field's bit: a mask holding all of them needs no per-posting check. */
  private readonly allText: number;
  constructor(
    readonly ix: SearchIndex,
    /** Only these doc ids may match (INKEYS), when set. */
    readonly allowed: ReadonlySet<number> | undefined,
    /** Only these TEXT fields are searched (INFIELDS), when set. */
    readonly inFields: Fields,
  ) {
    // RediSearch's document table counts from 1 (doc id 0 is reserved): N = live docs + 1.
    this.total = ix.numDocs + 1;
    let all = 0;
    for (const b of ix.textBit.values()) all |= b;
    this.allText = all;
  }

  run(n: QNode): Matches {
    const m = this.eval(n);
    if (this.allowed === undefined) return m;
    const out = new Map<number, Hit>();
    for (const [id, h] of m) if (this.allowed.has(id)) out.set(id, h);
    return out;
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

  /**
   * A term's hits under a field mask: with every TEXT field in the mask, the posting list itself
   * (postings are term hits under the list's idf, set here), else the postings of those fields.
   */
  private termReader(term: string, mask: number): ReadonlyMap<number, TermHit> {
    const p = this.ix.terms.get(term);
    if (p === undefined || mask === 0) return new Map();
    p.idf = idf(this.total, p.size);
    if ((mask & this.allText) === this.allText) return p;
    const out = new Map<number, TermHit>();
    for (const [id, h] of p) if ((h.fieldMask & mask) !== 0) out.set(id, h);
    return out;
  }

  private unionOf(all: Matches[]): Matches {
    // An expansion that matches nothing (most words' "+stem" term) adds no child to any document,
    // and a union of one reader scores as that reader (one child: no slop, the same sums), so it
    // is passed through instead of wrapping every hit in a new aggregate.
    const readers = all.length === 1 ? all : all.filter((r) => r.size > 0);
    if (readers.length === 0) return new Map();
    if (readers.length === 1) return readers[0]!;
    const out = new Map<number, Hit>();
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
        const out = new Map<number, Hit>();
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
        const out = new Map<number, Hit>();
        for (const id of this.ix.docs.keys()) if (!inner.has(id)) out.set(id, { k: 'virt', freq: 0, weight: 1 });
        return out;
      }
      case 'opt': {
        const inner = this.eval(n.child);
        const out = new Map<number, Hit>();
        for (const id of this.ix.docs.keys()) out.set(id, inner.get(id) ?? { k: 'virt', freq: 0, weight: 0 });
        return out;
      }
      case 'numeric': {
        const f = this.ix.field(n.field);
        if (f === undefined || f.type !== 'NUMERIC') throw err(`${n.field}: no such numeric field`);
        const out = new Map<number, Hit>();
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
        const readers: Matches[] = [];
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
        const out = new Map<number, Hit>();
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
  private firstOf(all: Matches[]): Matches {
    const readers = all.filter((r) => r.size > 0);
    if (readers.length === 1) return readers[0]!; // as in unionOf: one child scores as itself
    const out = new Map<number, Hit>();
    for (const r of readers) {
      for (const [id, h] of r) if (!out.has(id)) out.set(id, { k: 'agg', weight: 1, children: [h] });
    }
    return out;
  }

  private everything(freq: number): Matches {
    const out = new Map<number, Hit>();
    for (const id of this.ix.docs.keys()) out.set(id, { k: 'virt', freq, weight: 1 });
    return out;
  }

  private unionAll(readers: Matches[]): Matches {
    if (readers.length === 0) return new Map();
    return this.unionOf(readers);
  }

  private intersect(children: QNode[]): Matches {
    const kids = children.filter((c) => c.t !== 'null');
    if (kids.length === 0) return new Map();
    if (kids.length === 1) return this.eval(kids[0]!);
    // Terms, tags and numeric ranges can answer "this document's hit?" from the index directly
    // (a Probe), so only the smallest operand is materialised and drives; the others are probed
    // per candidate instead of being built as sets of their own and then mostly thrown away.
    const probes = kids.map((c) => this.probe(c));
    const sets: (Matches | undefined)[] = kids.map((c, i) => (probes[i] === undefined ? this.eval(c) : undefined));
    const size = (i: number): number => sets[i]?.size ?? probes[i]!.estimate;
    let smallest = 0;
    for (let i = 1; i < kids.length; i++) if (size(i) < size(smallest)) smallest = i;
    const driver = sets[smallest] ?? this.eval(kids[smallest]!);
    sets[smallest] = driver;
    const out = new Map<number, Hit>();
    for (const id of driver.keys()) {
      const hits: Hit[] = [];
      let ok = true;
      for (let i = 0; i < kids.length; i++) {
        const h = sets[i] !== undefined ? sets[i]!.get(id) : probes[i]!.get(id);
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

  /**
   * A per-document view of a term, tag or numeric node, scoring as its eval() set does (a union
   * of one present child scores as that child), or undefined for nodes that must be evaluated.
   * `estimate` bounds how many documents match: the driver of an intersection is the smallest.
   */
  private probe(n: QNode): Probe | undefined {
    switch (n.t) {
      case 'term': {
        const mask = this.mask(n.fields);
        if (mask === 0) return undefined;
        const checkMask = (mask & this.allText) !== this.allText;
        const lists: PostingList[] = [];
        let estimate = 0;
        for (const t of this.expansions(n.term, n.verbatim)) {
          const p = this.ix.terms.get(t);
          if (p === undefined) continue;
          p.idf = idf(this.total, p.size);
          lists.push(p);
          estimate += p.size;
        }
        const one = (p: PostingList, id: number): Posting | undefined => {
          const h = p.get(id);
          return h === undefined || (checkMask && (h.fieldMask & mask) === 0) ? undefined : h;
        };
        if (lists.length === 1) return { estimate, get: (id) => one(lists[0]!, id) };
        return { estimate, get: (id) => unionHit(lists.map((p) => one(p, id))) };
      }
      case 'tag': {
        const f = this.ix.field(n.field);
        if (f === undefined || f.type !== 'TAG') return undefined;
        const byTag = this.ix.tags.get(f.name)!;
        const sets: { s: Set<number>; idf: number }[] = [];
        let estimate = 0;
        for (const v of n.values) {
          const want = f.caseSensitive ? v.value : asciiLower(v.value);
          const found: Set<number>[] = [];
          if (v.prefix) {
            for (const [tag, s] of byTag) if (tag.startsWith(want)) found.push(s);
          } else {
            const s = byTag.get(want);
            if (s !== undefined) found.push(s);
          }
          for (const s of found) {
            sets.push({ s, idf: idf(this.total, s.size) });
            estimate += s.size;
          }
        }
        return {
          estimate,
          get: (id) => unionHit(sets.map((x) => (x.s.has(id) ? { k: 'term', freq: 1, idf: x.idf, weight: 1, positions: [] } : undefined))),
        };
      }
      case 'numeric': {
        const f = this.ix.field(n.field);
        if (f === undefined || f.type !== 'NUMERIC') return undefined; // eval() raises the error
        const values = this.ix.numeric.get(f.name)!;
        return {
          estimate: values.size,
          get: (id) => {
            const v = values.get(id);
            if (v === undefined || v < n.lo || (n.loEx && v === n.lo) || v > n.hi || (n.hiEx && v === n.hi)) return undefined;
            return { k: 'virt', freq: 1, weight: 1 };
          },
        };
      }
      default:
        return undefined;
    }
  }
}

interface Probe {
  estimate: number;
  get(id: number): Hit | undefined;
}

/** The hit of a union for one document, from its children's hits (undefined: not there). */
function unionHit(hits: (Hit | undefined)[]): Hit | undefined {
  let first: Hit | undefined;
  let all: Hit[] | undefined;
  for (const h of hits) {
    if (h === undefined) continue;
    if (first === undefined) first = h;
    else (all ??= [first]).push(h);
  }
  if (all !== undefined) return { k: 'agg', weight: 1, children: all };
  return first;
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
