// FT.SEARCH: argument parsing, execution over one index, ordering and the RESP reply. The same code
// answers a shard's part of a scattered query (shard mode: top offset+limit, with sort keys and
// scores, ties by key) and a standalone query (ties by doc id, RediSearch's order).
import type { SearchIndex, DocRecord } from './doc-index.js';
import { parseQuery } from './query-parser.js';
import type { QNode } from './query-ast.js';
import { QueryExec } from './query-exec.js';
import { type ScorerName, type Hit, SCORERS, score } from './scorer.js';
import { TopK, topK } from './top-k.js';
import { err } from './errors.js';
import { parseDialect, readParams } from './common-args.js';
import { Double, type Reply } from './reply.js';
import { decodeQueryVector, vectorDistance } from './vectors.js';
import { parseNumeric } from './doc-index.js';
import { formatNumber } from './expr.js';

export interface SearchRequest {
  query: string;
  noContent: boolean;
  withScores: boolean;
  withSortKeys: boolean;
  verbatim: boolean;
  noStopwords: boolean;
  inKeys: string[] | undefined;
  inFields: string[] | undefined;
  returns: { name: string; as: string }[] | undefined;
  sortBy: { field: string; asc: boolean } | undefined;
  offset: number;
  limit: number;
  params: Map<string, Buffer>;
  dialect: number;
  scorer: ScorerName;
  filters: { field: string; lo: number; hi: number; loEx: boolean; hiEx: boolean }[];
  timeoutMs: number | undefined;
  /** Cluster: the query may answer with the shards it could reach (see docs/search.md). */
  partial: boolean;
  /** Set when a coordinator asked this node for its part: keep this many hits, shard reply form. */
  shardKeep: number | undefined;
}

const upper = (s: string | undefined): string => (s ?? '').toUpperCase();

function count(args: string[], i: number, what: string): number {
  const n = Number(args[i]);
  if (args[i] === undefined || !Number.isInteger(n) || n < 0) throw err(`Bad arguments for ${what}: Could not convert argument to expected type`);
  if (i + 1 + n > args.length) throw err(`Bad arguments for ${what}: Expected ${n} arguments, but only ${args.length - i - 1} were provided`);
  return n;
}

function rangeBound(s: string | undefined): { v: number; ex: boolean } {
  let t = s ?? '';
  let ex = false;
  if (t.startsWith('(')) {
    ex = true;
    t = t.slice(1);
  }
  const v = parseNumeric(t);
  if (v === undefined) throw err('Bad lower range: ' + (s ?? ''));
  return { v, ex };
}

/** args: [index, query, ...options] as latin1 strings; binary PARAMS values from raw. */
export function parseSearch(args: string[], raw: Buffer[], defaultDialect: number): SearchRequest {
  const r: SearchRequest = {
    query: args[1] ?? '', noContent: false, withScores: false, withSortKeys: false, verbatim: false, noStopwords: false,
    inKeys: undefined, inFields: undefined, returns: undefined, sortBy: undefined, offset: 0, limit: 10,
    params: new Map(), dialect: defaultDialect, scorer: 'TFIDF', filters: [], timeoutMs: undefined, partial: false,
    shardKeep: undefined,
  };
  let i = 2;
  while (i < args.length) {
    const a = upper(args[i++]);
    switch (a) {
      case 'NOCONTENT': r.noContent = true; break;
      case 'WITHSCORES': r.withScores = true; break;
      case 'WITHSORTKEYS': r.withSortKeys = true; break;
      case 'VERBATIM': r.verbatim = true; break;
      case 'NOSTOPWORDS': r.noStopwords = true; break;
      case 'WITHPAYLOADS': case 'EXPLAINSCORE': case 'INORDER': break;
      case 'PARTIAL': r.partial = true; break;
      case '__SHARD': r.shardKeep = Number(args[i++]); break;
      case 'INKEYS': {
        const n = count(args, i, 'INKEYS');
        r.inKeys = args.slice(i + 1, i + 1 + n);
        i += 1 + n;
        break;
      }
      case 'INFIELDS': {
        const n = count(args, i, 'INFIELDS');
        r.inFields = args.slice(i + 1, i + 1 + n);
        i += 1 + n;
        break;
      }
      case 'RETURN': {
        const n = count(args, i, 'RETURN');
        const list = args.slice(i + 1, i + 1 + n);
        i += 1 + n;
        r.returns = [];
        for (let k = 0; k < list.length; k++) {
          const name = list[k]!;
          if (upper(list[k + 1]) === 'AS' && k + 2 < list.length) {
            r.returns.push({ name, as: list[k + 2]! });
            k += 2;
          } else r.returns.push({ name, as: name });
        }
        if (r.returns.length === 0) r.noContent = true;
        break;
      }
      case 'SORTBY': {
        if (i >= args.length) throw err('Bad arguments for SORTBY: Expected an argument, but none provided');
        let field = args[i++]!;
        if (field.startsWith('@')) field = field.slice(1);
        let asc = true;
        if (upper(args[i]) === 'ASC') i++;
        else if (upper(args[i]) === 'DESC') {
          asc = false;
          i++;
        }
        if (upper(args[i]) === 'WITHCOUNT') i++;
        r.sortBy = { field, asc };
        break;
      }
      case 'LIMIT': {
        const off = Number(args[i]);
        const num = Number(args[i + 1]);
        if (!Number.isInteger(off) || !Number.isInteger(num) || off < 0 || num < 0) throw err('Invalid LIMIT parameters');
        if (num > 1000000 || off > 1000000) throw err('LIMIT exceeds maximum of 1000000');
        r.offset = off;
        r.limit = num;
        i += 2;
        break;
      }
      case 'PARAMS': {
        const n = count(args, i, 'PARAMS');
        readParams(args, raw, i + 1, n, r.params);
        i += 1 + n;
        break;
      }
      case 'DIALECT': {
        r.dialect = parseDialect(args[i++]);
        break;
      }
      case 'SCORER': {
        const s = upper(args[i++]) as ScorerName;
        if (!SCORERS.includes(s)) throw err(`Invalid scorer \`${args[i - 1] ?? ''}\``);
        r.scorer = s;
        break;
      }
      case 'TIMEOUT': {
        const t = Number(args[i++]);
        if (!Number.isInteger(t) || t < 0) throw err('Bad arguments for TIMEOUT: Could not convert argument to expected type');
        r.timeoutMs = t;
        break;
      }
      case 'FILTER': {
        const field = args[i++] ?? '';
        const lo = rangeBound(args[i++]);
        const hi = rangeBound(args[i++]);
        r.filters.push({ field: field.replace(/^@/, ''), lo: lo.v, hi: hi.v, loEx: lo.ex, hiEx: hi.ex });
        break;
      }
      case 'SLOP': case 'LANGUAGE': case 'EXPANDER': case 'PAYLOAD':
        i++;
        break;
      case 'SUMMARIZE': case 'HIGHLIGHT':
        // FIELDS n f.. / FRAGS n / LEN n / SEPARATOR s / TAGS o c: skipped (content is returned whole).
        while (i < args.length && ['FIELDS', 'FRAGS', 'LEN', 'SEPARATOR', 'TAGS'].includes(upper(args[i]))) {
          const o = upper(args[i++]);
          if (o === 'FIELDS') i += 1 + Number(args[i]);
          else if (o === 'TAGS') i += 2;
          else i++;
        }
        break;
      default:
        throw err(`Unknown argument \`${args[i - 1] ?? ''}\` at position ${i - 1} for <main>`);
    }
  }
  return r;
}

/** One result row before rendering: the document, its score, and its sort key. */
export interface SearchHit {
  doc: DocRecord;
  score: number;
  sortKey: number | string | null;
  /** KNN distance, when the query has a KNN clause. */
  distance: number | undefined;
  extra: [string, string][];
}

export interface SearchResult {
  total: number;
  hits: SearchHit[];
}

/** Value of a field for sorting: numbers for NUMERIC fields, case-folded text otherwise. */
export function sortValue(ix: SearchIndex, d: DocRecord, field: string, extra?: [string, string][]): number | string | null {
  const f = ix.field(field);
  const path = f?.path ?? field;
  const ex = extra?.find(([k]) => k === field);
  if (ex) return Number(ex[1]);
  const v = d.fields.get(path);
  if (v === undefined) return null;
  const s = v.toString('latin1');
  if (f?.type === 'NUMERIC') return parseNumeric(s) ?? null;
  return s.toLowerCase();
}

export function compareKeys(a: number | string | null, b: number | string | null, asc: boolean): number {
  if (a === b) return 0;
  if (a === null) return 1; // missing values sort last either way
  if (b === null) return -1;
  let c: number;
  if (typeof a === 'number' && typeof b === 'number') c = a < b ? -1 : a > b ? 1 : 0;
  else {
    const sa = String(a);
    const sb = String(b);
    c = sa < sb ? -1 : sa > sb ? 1 : 0;
  }
  return asc ? c : -c;
}

/**
 * Runs a search over one index. `tieByKey`: order equal hits by key (cluster shards and merge)
 * instead of doc id. Returns the total and the hits [0, offset+limit) in order.
 */
export function runSearch(ix: SearchIndex, req: SearchRequest, tieByKey: boolean, keep: number): SearchResult {
  const stop = req.noStopwords ? new Set<string>() : ix.stopwords;
  const parsed = parseQuery(req.query, { dialect: req.dialect, params: req.params, stopwords: stop, verbatim: req.verbatim });
  let allowed: Set<number> | undefined;
  if (req.inKeys) {
    allowed = new Set();
    for (const k of req.inKeys) {
      const d = ix.byKey.get(k);
      if (d) allowed.add(d.id);
    }
  }
  if (req.inFields) for (const f of req.inFields) void f;
  let root = parsed.root;
  for (const f of req.filters) {
    const fd = ix.field(f.field);
    if (!fd || fd.type !== 'NUMERIC') throw err(`Unknown field \`${f.field}\``);
    // RediSearch adds each FILTER as a numeric node at the front of the root intersection.
    const num: QNode = { t: 'numeric', field: fd.name, lo: f.lo, hi: f.hi, loEx: f.loEx, hiEx: f.hiEx };
    root = root.t === 'and' ? { t: 'and', children: [num, ...root.children] } : { t: 'and', children: [num, root] };
  }
  const exec = new QueryExec(ix, allowed, req.inFields ?? null);
  let matches = exec.run(root);
  if (allowed) {
    // INKEYS intersects the query with a list of ids (position-less hits), which scores as such.
    const inKeys = new Map<number, Hit>();
    for (const [id, h] of matches) inKeys.set(id, { k: 'agg', weight: 1, children: [h, { k: 'virt', freq: 0, weight: 1 }] });
    matches = inKeys;
  }
  if (req.sortBy && !ix.field(req.sortBy.field) && !(parsed.knn && req.sortBy.field === knnName(parsed.knn))) {
    throw err(`Property \`${req.sortBy.field}\` not loaded nor in schema`);
  }
  let avgLen = 0;
  if (req.scorer === 'BM25') {
    for (const d of ix.docs.values()) avgLen += d.len;
    avgLen /= Math.max(1, ix.numDocs);
  }
  if (parsed.knn) {
    const knn = parsed.knn;
    const f = ix.field(knn.field);
    if (!f || f.type !== 'VECTOR') throw err(`Expected a VECTOR field at offset 0 near ${knn.field}`);
    const q = decodeQueryVector(knn.blob, f);
    const vecs = ix.vectors.get(f.name)!;
    const cand: { id: number; dist: number; key: string }[] = [];
    for (const id of matches.keys()) {
      const v = vecs.get(id);
      if (v !== undefined) cand.push({ id, dist: vectorDistance(f.vector!.metric, q, v), key: ix.docs.get(id)!.key });
    }
    const nearest = topK(cand, knn.k, (a, b) => a.dist - b.dist || (tieByKey ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : b.id - a.id));
    const name = knnName(knn);
    const hits: SearchHit[] = nearest.map((c) => ({ doc: ix.docs.get(c.id)!, score: c.dist, sortKey: c.dist, distance: c.dist, extra: [[name, formatNumber(c.dist)]] }));
    if (req.sortBy) {
      const { field, asc } = req.sortBy;
      for (const h of hits) h.sortKey = sortValue(ix, h.doc, field, h.extra);
      hits.sort((a, b) => compareKeys(a.sortKey, b.sortKey, asc) || (tieByKey ? tie(a, b, true) : a.doc.id - b.doc.id));
    } else hits.sort((a, b) => a.distance! - b.distance! || tie(a, b, tieByKey));
    return { total: hits.length, hits: hits.slice(0, keep) };
  }
  // Only the first `keep` rows are rendered: select them (topK) rather than sort every match.
  const scored = function* (): Generator<SearchHit> {
    for (const [id, h] of matches) {
      const d = ix.docs.get(id)!;
      yield { doc: d, score: score(req.scorer, h, d, avgLen), sortKey: null, distance: undefined, extra: [] };
    }
  };
  const total = matches.size;
  if (req.sortBy) {
    const { field, asc } = req.sortBy;
    const keyOf = sortKeyReader(ix, field);
    const keyed = function* (): Generator<SearchHit> {
      for (const h of scored()) {
        h.sortKey = keyOf(h.doc);
        yield h;
      }
    };
    // Equal sort keys: earlier-indexed first (RediSearch's sorter), or by key across shards.
    return { total, hits: topK(keyed(), keep, (a, b) => compareKeys(a.sortKey, b.sortKey, asc) || (tieByKey ? tie(a, b, true) : a.doc.id - b.doc.id)) };
  }
  // By score: a hit object is built only for a document that enters the top `keep`.
  const top = new TopK<SearchHit>(keep, (a, b) => b.score - a.score || tie(a, b, tieByKey));
  for (const [id, h] of matches) {
    const d = ix.docs.get(id)!;
    const s = score(req.scorer, h, d, avgLen);
    const w = top.worst();
    if (w !== undefined && !(s > w.score || (s === w.score && tieDocs(d, w.doc, tieByKey) < 0))) continue;
    top.offer({ doc: d, score: s, sortKey: null, distance: undefined, extra: [] });
  }
  return { total, hits: top.sorted() };
}

/**
 * sortValue for every hit of one query: a NUMERIC field's value comes from the index's numeric
 * table (parsed once at indexing, the same strtod result) instead of re-parsing the hash value.
 */
function sortKeyReader(ix: SearchIndex, field: string): (d: DocRecord) => number | string | null {
  const f = ix.field(field);
  if (f?.type === 'NUMERIC') {
    const values = ix.numeric.get(f.name)!;
    return (d) => values.get(d.id) ?? null;
  }
  return (d) => sortValue(ix, d, field);
}

export function knnName(k: { field: string; as: string | undefined }): string {
  return k.as ?? `__${k.field}_score`;
}

function tie(a: SearchHit, b: SearchHit, byKey: boolean): number {
  return tieDocs(a.doc, b.doc, byKey);
}

function tieDocs(a: DocRecord, b: DocRecord, byKey: boolean): number {
  if (byKey) return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  // RediSearch ranks the later-indexed document first among equals.
  return b.id - a.id;
}

/** The fields a hit returns: every hash field, or RETURN's list (alias or hash field names). */
export function hitFields(ix: SearchIndex, h: SearchHit, req: SearchRequest): Reply[] {
  const out: Reply[] = [];
  if (req.returns) {
    for (const r of req.returns) {
      const ex = h.extra.find(([k]) => k === r.name);
      if (ex) {
        out.push(r.as, ex[1]);
        continue;
      }
      const f = ix.field(r.name);
      const v = h.doc.fields.get(f?.path ?? r.name);
      if (v !== undefined) out.push(r.as, v);
    }
    return out;
  }
  for (const [k, v] of h.doc.fields) out.push(k, v);
  for (const [k, v] of h.extra) out.push(k, v);
  return out;
}

/** A shard's part: [total, key, score, typed sort key, [fields], ...] for its top hits. */
export function renderShard(ix: SearchIndex, req: SearchRequest, res: SearchResult): Reply[] {
  const out: Reply[] = [res.total];
  for (const h of res.hits) {
    out.push(h.doc.key, new Double(h.score));
    out.push(h.sortKey === null ? null : typeof h.sortKey === 'number' ? `#${h.sortKey}` : `$${h.sortKey}`);
    out.push(hitFields(ix, h, req));
  }
  return out;
}

/** [total, key, (score), (sortkey), ([fields])...] for hits [offset, offset+limit). */
export function renderSearch(ix: SearchIndex | undefined, req: SearchRequest, total: number, hits: SearchHit[], fieldsOf?: (h: SearchHit) => Reply[]): Reply[] {
  const out: Reply[] = [total];
  if (req.limit === 0) return out;
  for (const h of hits.slice(req.offset, req.offset + req.limit)) {
    out.push(h.doc.key);
    if (req.withScores) out.push(new Double(h.score));
    if (req.withSortKeys) out.push(h.sortKey === null ? null : typeof h.sortKey === 'number' ? `#${formatNumber(h.sortKey)}` : `$${h.sortKey}`);
    if (!req.noContent) out.push(fieldsOf ? fieldsOf(h) : hitFields(ix!, h, req));
  }
  return out;
}
