// One search index's in-memory structures over the documents of this node's datastore:
//
//   docs      id -> DocRecord (key, score, maxFreq, the hash as indexed)    byKey: key -> record
//   terms     term -> (doc id -> Posting {freq, field mask, positions})     "+stem" terms included
//   tags      field -> tag value -> doc ids
//   numeric   field -> doc id -> value
//   vectors   field -> doc id -> Float64Array (see vectors.ts for the search side)
//
// Doc ids grow: a document that changes is removed and added again under a new id, as RediSearch
// does, so "earlier id" means "indexed earlier" (RediSearch's tie order between equal scores).
import type { FieldDef, IndexDef } from './schema.js';
import { tokenize } from './tokenizer.js';
import { STEM_PREFIX } from './stemmer.js';
import { evalFilter } from './expr.js';

/** Share of the field weight a stem occurrence counts for. */
export const STEM_TOKEN_FACTOR = 0.2;

/**
 * One term's documents, in indexing order (doc ids only grow, and Map keeps insertion order).
 * `idf` is set by each query before it reads the list (it depends on the live document count),
 * so a posting can serve as that query's term hit as it is, with no per-document copy.
 */
export class PostingList extends Map<number, Posting> {
  idf = 0;
}

/** A term in one document; also its TermHit (scorer.ts) under the list's current idf. */
export class Posting {
  readonly k = 'term' as const;
  readonly weight = 1;
  freq = 0;
  fieldMask = 0;
  readonly positions: number[] = [];
  /** The list this posting belongs to, set when the document is added. */
  list: PostingList | undefined;

  get idf(): number {
    return this.list!.idf;
  }
}

export interface DocRecord {
  id: number;
  key: string;
  score: number;
  maxFreq: number;
  /** Weighted token count (TFIDF.DOCNORM's norm). */
  len: number;
  /** The hash as indexed: field (latin1) -> value. */
  fields: Map<string, Buffer>;
  terms: string[];
}

export class SearchIndex {
  readonly docs = new Map<number, DocRecord>();
  readonly byKey = new Map<string, DocRecord>();
  readonly terms = new Map<string, PostingList>();
  readonly tags = new Map<string, Map<string, Set<number>>>();
  readonly numeric = new Map<string, Map<number, number>>();
  readonly vectors = new Map<string, Map<number, Float64Array>>();
  private nextId = 1;
  /** Hashes matching the index whose values did not parse for their field type. */
  indexingFailures = 0;
  private failedKeys = new Set<string>();
  /** Text fields' bit in a posting's field mask. */
  readonly textBit = new Map<string, number>();
  stopwords: Set<string>;
  /** Background scan state, for FT.INFO `indexing` / `percent_indexed`. */
  scanning = false;
  scanProgress = 1;

  constructor(readonly def: IndexDef) {
    this.stopwords = new Set(def.stopwords);
    this.refreshFields();
  }

  /** Recomputes per-field structures after FT.ALTER added fields. */
  refreshFields(): void {
    let bit = 0;
    for (const f of this.def.fields) {
      if (f.type === 'TEXT' && !this.textBit.has(f.name)) this.textBit.set(f.name, bit < 31 ? 1 << bit : 0);
      if (f.type === 'TEXT') bit++;
      if (f.type === 'TAG' && !this.tags.has(f.name)) this.tags.set(f.name, new Map());
      if (f.type === 'NUMERIC' && !this.numeric.has(f.name)) this.numeric.set(f.name, new Map());
      if (f.type === 'VECTOR' && !this.vectors.has(f.name)) this.vectors.set(f.name, new Map());
    }
  }

  field(name: string): FieldDef | undefined {
    return this.def.fields.find((f) => f.name === name);
  }

  /** Whether a key belongs to this index (PREFIX; no prefix = every hash). */
  matchesKey(key: string): boolean {
    const p = this.def.prefixes;
    if (p.length === 0) return true;
    for (const x of p) if (key.startsWith(x)) return true;
    return false;
  }

  get numDocs(): number {
    return this.docs.size;
  }

  /**
   * The hash at `key` is now `fields` (null: gone or not a hash). Re-indexes it under a new id, or
   * removes it. Returns whether the key is indexed afterwards.
   */
  update(key: string, fields: Map<string, Buffer> | null): boolean {
    if (!this.matchesKey(key)) return false;
    this.remove(key);
    if (fields === null) {
      this.failedKeys.delete(key);
      return false;
    }
    if (this.def.filter !== undefined && !evalFilter(this.def.filter, fields)) return false;
    const ok = this.add(key, fields);
    if (!ok && !this.failedKeys.has(key)) {
      this.failedKeys.add(key);
      this.indexingFailures++;
    } else if (ok) this.failedKeys.delete(key);
    return ok;
  }

  remove(key: string): void {
    const d = this.byKey.get(key);
    if (d === undefined) return;
    this.byKey.delete(key);
    this.docs.delete(d.id);
    for (const t of d.terms) {
      const p = this.terms.get(t);
      if (p === undefined) continue;
      p.delete(d.id);
      if (p.size === 0) this.terms.delete(t);
    }
    for (const m of this.numeric.values()) m.delete(d.id);
    for (const m of this.vectors.values()) m.delete(d.id);
    for (const f of this.def.fields) {
      if (f.type !== 'TAG') continue;
      const v = d.fields.get(f.path);
      if (v === undefined) continue;
      const byTag = this.tags.get(f.name)!;
      for (const t of splitTags(v.toString('latin1'), f)) {
        const s = byTag.get(t);
        if (s === undefined) continue;
        s.delete(d.id);
        if (s.size === 0) byTag.delete(t);
      }
    }
  }

  private add(key: string, fields: Map<string, Buffer>): boolean {
    // Parse every typed value first: a value that does not parse means the document is not indexed.
    const nums: [string, number][] = [];
    const vecs: [string, Float64Array][] = [];
    for (const f of this.def.fields) {
      const v = fields.get(f.path);
      if (v === undefined) continue;
      if (f.type === 'NUMERIC') {
        const n = parseNumeric(v.toString('latin1'));
        if (n === undefined) return false;
        nums.push([f.name, n]);
      } else if (f.type === 'VECTOR') {
        const vec = decodeVector(v, f);
        if (vec === undefined) return false;
        vecs.push([f.name, vec]);
      }
    }
    let score = this.def.score;
    if (this.def.scoreField !== undefined) {
      const s = fields.get(this.def.scoreField);
      const n = s === undefined ? NaN : Number(s.toString('latin1'));
      if (Number.isFinite(n) && n >= 0 && n <= 1) score = n;
    }
    const id = this.nextId++;
    const forward = new Map<string, Posting>();
    let pos = 0;
    let maxFreq = 0;
    let len = 0;
    for (const f of this.def.fields) {
      if (f.type !== 'TEXT' || f.noIndex) continue;
      const v = fields.get(f.path);
      if (v === undefined) continue;
      const bit = this.textBit.get(f.name) ?? 0;
      const inc = Math.max(1, Math.trunc(f.weight));
      // Stems count less (RediSearch's STEM_TOKEN_FACTOR, 0.2 of the field weight).
      const stemInc = Math.max(1, Math.trunc(f.weight * STEM_TOKEN_FACTOR));
      const toks = tokenize(v.toString('latin1'), { stopwords: this.stopwords, stem: !f.noStem }, pos);
      for (const t of toks) {
        pos = t.pos;
        for (const term of t.stem === undefined ? [t.term] : [t.term, t.stem]) {
          let h = forward.get(term);
          if (h === undefined) forward.set(term, (h = new Posting()));
          h.freq += term === t.term ? inc : stemInc;
          h.fieldMask |= bit;
          h.positions.push(t.pos);
          if (h.freq > maxFreq) maxFreq = h.freq;
          // RediSearch adds the running frequency here (its doc length for TFIDF.DOCNORM).
          len += h.freq;
        }
      }
    }
    const d: DocRecord = { id, key, score, maxFreq: Math.max(maxFreq, 1), len: Math.max(len, 1), fields, terms: [...forward.keys()] };
    for (const [term, h] of forward) {
      let p = this.terms.get(term);
      if (p === undefined) this.terms.set(term, (p = new PostingList()));
      h.list = p;
      p.set(id, h);
    }
    for (const [name, n] of nums) this.numeric.get(name)!.set(id, n);
    for (const [name, vec] of vecs) this.vectors.get(name)!.set(id, vec);
    for (const f of this.def.fields) {
      if (f.type !== 'TAG' || f.noIndex) continue;
      const v = fields.get(f.path);
      if (v === undefined) continue;
      const byTag = this.tags.get(f.name)!;
      for (const t of splitTags(v.toString('latin1'), f)) {
        let s = byTag.get(t);
        if (s === undefined) byTag.set(t, (s = new Set()));
        s.add(id);
      }
    }
    this.docs.set(id, d);
    this.byKey.set(key, d);
    return true;
  }

  /** Terms in the dictionary (stems excluded): what prefix and fuzzy queries expand over. */
  *dictionary(): IterableIterator<string> {
    for (const t of this.terms.keys()) if (!t.startsWith(STEM_PREFIX)) yield t;
  }

  /** Memory held, roughly (FT.INFO inverted_sz_mb and friends). */
  approxBytes(): number {
    let n = 0;
    for (const [t, p] of this.terms) n += t.length + p.size * 24;
    return n;
  }
}

/** A tag field's values: split at its separator, trimmed, lower-cased unless CASESENSITIVE. */
export function splitTags(v: string, f: FieldDef): string[] {
  const out: string[] = [];
  for (const part of v.split(f.separator)) {
    const t = part.trim();
    if (t.length === 0) continue;
    out.push(f.caseSensitive ? t : asciiLower(t));
  }
  return out;
}

export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** RediSearch parses numeric values with strtod: the whole value must be a number (inf allowed). */
export function parseNumeric(s: string): number | undefined {
  const t = s.trim();
  if (t === '') return undefined;
  const l = t.toLowerCase();
  if (l === 'inf' || l === '+inf' || l === 'infinity' || l === '+infinity') return Infinity;
  if (l === '-inf' || l === '-infinity') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t) && !/^[+-]?0x[0-9a-f]+$/i.test(t)) return undefined;
  const n = Number(t);
  return Number.isNaN(n) ? undefined : n;
}

function decodeVector(v: Buffer, f: FieldDef): Float64Array | undefined {
  const p = f.vector!;
  const width = p.type === 'FLOAT32' ? 4 : 8;
  if (v.length !== p.dim * width) return undefined;
  const out = new Float64Array(p.dim);
  for (let i = 0; i < p.dim; i++) out[i] = width === 4 ? v.readFloatLE(i * 4) : v.readDoubleLE(i * 8);
  return out;
}

export { decodeVector };
