// FT.AGGREGATE: the query's matches as rows, then the steps in the order given — LOAD, GROUPBY
// with REDUCE, APPLY, FILTER, SORTBY [MAX], LIMIT — and WITHCURSOR paging (FT.CURSOR READ / DEL).
// Reducers keep mergeable partial state (sum and count for AVG, the exact value set for
// COUNT_DISTINCT), which is what a cluster merge combines.
import type { SearchIndex, DocRecord } from './doc-index.js';
import { parseNumeric } from './doc-index.js';
import { parseQuery } from './query-parser.js';
import { QueryExec } from './query-exec.js';
import { err } from './errors.js';
import { parseDialect, readParams } from './common-args.js';
import { type Value, evaluate, isTruthy, toNum, toStr, formatNumber, exprProps } from './expr.js';
import type { Reply } from './reply.js';
import { score } from './scorer.js';

export interface ReducerSpec {
  fn: string;
  args: string[];
  as: string;
}

export type Step =
  | { k: 'groupby'; props: string[]; reducers: ReducerSpec[] }
  | { k: 'apply'; expr: string; as: string }
  | { k: 'filter'; expr: string }
  | { k: 'sortby'; keys: { prop: string; asc: boolean }[]; max: number }
  | { k: 'limit'; offset: number; num: number };

export interface AggregateRequest {
  query: string;
  verbatim: boolean;
  load: string[] | '*';
  steps: Step[];
  params: Map<string, Buffer>;
  dialect: number;
  cursor: { count: number } | undefined;
  /** Set when a coordinator asked this node for its part: answer the matched rows, no steps. */
  shard: boolean;
  /** Cluster: accept the answer of the reachable nodes (see docs/search.md). */
  partial: boolean;
}

type Row = Map<string, Value>;

const upper = (s: string | undefined): string => (s ?? '').toUpperCase();
const prop = (s: string): string => {
  if (!s.startsWith('@')) throw err(`Bad arguments: property \`${s}\` must start with @`);
  return s.slice(1);
};

const REDUCERS = new Set(['COUNT', 'COUNT_DISTINCT', 'COUNT_DISTINCTISH', 'SUM', 'MIN', 'MAX', 'AVG', 'STDDEV', 'QUANTILE', 'TOLIST', 'FIRST_VALUE', 'RANDOM_SAMPLE']);

export function parseAggregate(args: string[], raw: Buffer[], defaultDialect: number): AggregateRequest {
  const r: AggregateRequest = { query: args[1] ?? '', verbatim: false, load: [], steps: [], params: new Map(), dialect: defaultDialect, cursor: undefined, shard: false, partial: false };
  let i = 2;
  const n = (what: string): number => {
    const x = Number(args[i]);
    if (args[i] === undefined || !Number.isInteger(x) || x < 0) throw err(`Bad arguments for ${what}: Could not convert argument to expected type`);
    if (i + 1 + x > args.length) throw err(`Bad arguments for ${what}: Expected ${x} arguments, but only ${args.length - i - 1} were provided`);
    i++;
    return x;
  };
  while (i < args.length) {
    const a = upper(args[i++]);
    switch (a) {
      case 'VERBATIM': r.verbatim = true; break;
      case 'LOAD': {
        if (args[i] === '*') {
          r.load = '*';
          i++;
          break;
        }
        const c = n('LOAD');
        const list = r.load === '*' ? [] : r.load;
        for (let k = 0; k < c; k++) {
          const p = args[i++]!;
          if (upper(p) === 'AS') {
            i++;
            k++;
            continue;
          }
          list.push(p.replace(/^@/, ''));
        }
        if (r.load !== '*') r.load = list;
        break;
      }
      case 'GROUPBY': {
        const c = n('GROUPBY');
        const props = args.slice(i, i + c).map(prop);
        i += c;
        const reducers: ReducerSpec[] = [];
        while (upper(args[i]) === 'REDUCE') {
          i++;
          const fn = upper(args[i++]);
          if (!REDUCERS.has(fn)) throw err(`No such reducer \`${args[i - 1] ?? ''}\``);
          const k = n('REDUCE');
          const rargs = args.slice(i, i + k);
          i += k;
          let as = `__generated_alias${fn.toLowerCase()}${rargs.map((x) => x.replace(/^@/, '')).join(',')}`;
          if (upper(args[i]) === 'AS') {
            as = args[i + 1] ?? as;
            i += 2;
          }
          reducers.push({ fn, args: rargs, as });
        }
        r.steps.push({ k: 'groupby', props, reducers });
        break;
      }
      case 'APPLY': {
        const expr = args[i++] ?? '';
        exprProps(expr);
        let as = expr;
        if (upper(args[i]) === 'AS') {
          as = args[i + 1] ?? expr;
          i += 2;
        }
        r.steps.push({ k: 'apply', expr, as });
        break;
      }
      case 'FILTER': {
        const expr = args[i++] ?? '';
        exprProps(expr);
        r.steps.push({ k: 'filter', expr });
        break;
      }
      case 'SORTBY': {
        const c = n('SORTBY');
        const list = args.slice(i, i + c);
        i += c;
        const keys: { prop: string; asc: boolean }[] = [];
        for (let k = 0; k < list.length; k++) {
          const p = prop(list[k]!);
          let asc = true;
          if (upper(list[k + 1]) === 'ASC') k++;
          else if (upper(list[k + 1]) === 'DESC') {
            asc = false;
            k++;
          }
          keys.push({ prop: p, asc });
        }
        let max = 0;
        if (upper(args[i]) === 'MAX') {
          max = Number(args[i + 1]);
          if (!Number.isInteger(max) || max < 0) throw err('Bad arguments for MAX: Could not convert argument to expected type');
          i += 2;
        }
        r.steps.push({ k: 'sortby', keys, max });
        break;
      }
      case 'LIMIT': {
        const off = Number(args[i]);
        const num = Number(args[i + 1]);
        if (!Number.isInteger(off) || !Number.isInteger(num) || off < 0 || num < 0) throw err('Invalid LIMIT parameters');
        i += 2;
        r.steps.push({ k: 'limit', offset: off, num });
        break;
      }
      case 'WITHCURSOR': {
        let count = 1000;
        for (;;) {
          if (upper(args[i]) === 'COUNT') {
            count = Number(args[i + 1]);
            i += 2;
          } else if (upper(args[i]) === 'MAXIDLE') i += 2;
          else break;
        }
        if (!Number.isInteger(count) || count <= 0) throw err('Bad arguments for COUNT');
        r.cursor = { count };
        break;
      }
      case 'PARAMS': {
        const c = n('PARAMS');
        readParams(args, raw, i, c, r.params);
        i += c;
        break;
      }
      case 'DIALECT': {
        r.dialect = parseDialect(args[i++]);
        break;
      }
      case 'TIMEOUT': i++; break;
      case 'ADDSCORES': break;
      case 'PARTIAL': r.partial = true; break;
      case SHARD_ROWS_FLAG: r.shard = true; break;
      default:
        throw err(`Unknown argument \`${args[i - 1] ?? ''}\` at position ${i - 1} for <main>`);
    }
  }
  return r;
}

/** A document's row: loaded hash fields and every schema field (numbers for NUMERIC fields). */
function docRow(ix: SearchIndex, d: DocRecord, load: string[] | '*', sc: number): Row {
  const row: Row = new Map();
  for (const f of ix.def.fields) {
    const v = d.fields.get(f.path);
    if (v === undefined) continue;
    const s = v.toString('latin1');
    row.set(f.name, f.type === 'NUMERIC' ? (parseNumeric(s) ?? s) : s);
  }
  if (load === '*') for (const [k, v] of d.fields) row.set(k, v.toString('latin1'));
  else for (const k of load) {
    const f = ix.field(k);
    const v = d.fields.get(f?.path ?? k);
    if (v !== undefined && !row.has(k)) row.set(k, v.toString('latin1'));
  }
  row.set('__key', d.key);
  row.set('__score', sc);
  return row;
}

/** Partial state of one reducer over one group (mergeable across shards). */
export interface ReducerState {
  count: number;
  sum: number;
  sumSq: number;
  min: number;
  max: number;
  values: Value[];
  distinct: Set<string>;
  first: { v: Value; by: Value } | undefined;
}

export function newState(): ReducerState {
  return { count: 0, sum: 0, sumSq: 0, min: Infinity, max: -Infinity, values: [], distinct: new Set(), first: undefined };
}

export function accumulate(spec: ReducerSpec, st: ReducerState, row: Row): void {
  const get = (i: number): Value => {
    const a = spec.args[i];
    if (a === undefined) return null;
    const v = row.get(prop(a));
    return v === undefined ? null : v;
  };
  switch (spec.fn) {
    case 'COUNT':
      st.count++;
      return;
    case 'COUNT_DISTINCT':
    case 'COUNT_DISTINCTISH': {
      const v = get(0);
      if (v !== null) st.distinct.add(toStr(v));
      return;
    }
    case 'TOLIST': {
      const v = get(0);
      if (v !== null) st.distinct.add(toStr(v));
      return;
    }
    case 'FIRST_VALUE': {
      const v = get(0);
      const byIdx = spec.args.findIndex((x) => upper(x) === 'BY');
      if (byIdx < 0) {
        if (st.first === undefined) st.first = { v, by: null };
        return;
      }
      const by = row.get(prop(spec.args[byIdx + 1] ?? '@')) ?? null;
      const desc = upper(spec.args[byIdx + 2]) === 'DESC';
      if (st.first === undefined) st.first = { v, by };
      else {
        const c = cmpValues(by, st.first.by);
        if (desc ? c > 0 : c < 0) st.first = { v, by };
      }
      return;
    }
    case 'RANDOM_SAMPLE':
    case 'QUANTILE': {
      const v = get(0);
      if (v !== null) st.values.push(v);
      return;
    }
    default: {
      const v = get(0);
      const x = toNum(v);
      if (v === null || Number.isNaN(x)) return;
      st.count++;
      st.sum += x;
      st.sumSq += x * x;
      if (x < st.min) st.min = x;
      if (x > st.max) st.max = x;
    }
  }
}

export function finish(spec: ReducerSpec, st: ReducerState): Value | Value[] {
  switch (spec.fn) {
    case 'COUNT': return st.count;
    case 'COUNT_DISTINCT': case 'COUNT_DISTINCTISH': return st.distinct.size;
    case 'SUM': return st.sum;
    case 'MIN': return st.count ? st.min : Infinity;
    case 'MAX': return st.count ? st.max : -Infinity;
    case 'AVG': return st.count ? st.sum / st.count : 0;
    case 'STDDEV': {
      if (st.count < 2) return 0;
      const v = (st.sumSq - (st.sum * st.sum) / st.count) / (st.count - 1);
      return Math.sqrt(Math.max(0, v));
    }
    case 'QUANTILE': {
      const q = Number(spec.args[1]);
      const xs = st.values.map(toNum).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
      if (xs.length === 0) return 0;
      return xs[Math.min(xs.length - 1, Math.max(0, Math.floor(q * xs.length)))]!;
    }
    case 'TOLIST': return [...st.distinct];
    case 'FIRST_VALUE': return st.first?.v ?? null;
    case 'RANDOM_SAMPLE': {
      const k = Number(spec.args[1] ?? 1);
      return st.values.slice(0, k);
    }
  }
  return null;
}

function cmpValues(a: Value | undefined, b: Value | undefined): number {
  const x = a ?? null;
  const y = b ?? null;
  if (x === y) return 0;
  if (x === null) return 1;
  if (y === null) return -1;
  if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : x > y ? 1 : 0;
  const nx = toNum(x);
  const ny = toNum(y);
  if (!Number.isNaN(nx) && !Number.isNaN(ny)) return nx < ny ? -1 : nx > ny ? 1 : 0;
  const sx = toStr(x);
  const sy = toStr(y);
  return sx < sy ? -1 : sx > sy ? 1 : 0;
}

export type OutRow = Map<string, Value | Value[]>;

export interface AggregateResult {
  total: number;
  rows: OutRow[];
}

export function runAggregate(ix: SearchIndex, req: AggregateRequest): AggregateResult {
  return applySteps(ix, req, matchRows(ix, req));
}

/** The query's matches as rows (schema fields, LOAD, __key, __score), in index order. */
export function matchRows(ix: SearchIndex, req: AggregateRequest): OutRow[] {
  const parsed = parseQuery(req.query, { dialect: req.dialect, params: req.params, stopwords: ix.stopwords, verbatim: req.verbatim });
  const matches = new QueryExec(ix, undefined, null).run(parsed.root);
  const rows: OutRow[] = [];
  const ids = [...matches.keys()].sort((a, b) => a - b);
  for (const id of ids) {
    const d = ix.docs.get(id)!;
    rows.push(docRow(ix, d, req.load, score('TFIDF', matches.get(id)!, d, 0)));
  }
  return rows;
}

/** GROUPBY / APPLY / FILTER / SORTBY / LIMIT in the order given, over rows from one node or many. */
export function applySteps(ix: SearchIndex, req: AggregateRequest, matched: OutRow[]): AggregateResult {
  let rows = matched;
  let total = rows.length;
  for (const step of req.steps) {
    switch (step.k) {
      case 'groupby': {
        const groups = new Map<string, { key: Value[]; states: ReducerState[] }>();
        for (const row of rows) {
          const key = step.props.map((p) => {
            if (!row.has(p) && !ix.field(p)) throw err(`No such property \`${p}\``);
            const v = row.get(p);
            return v === undefined ? null : (v as Value);
          });
          const gk = JSON.stringify(key);
          let g = groups.get(gk);
          if (!g) groups.set(gk, (g = { key, states: step.reducers.map(newState) }));
          step.reducers.forEach((r, i) => accumulate(r, g!.states[i]!, row as Row));
        }
        rows = [];
        for (const g of groups.values()) {
          const out: OutRow = new Map();
          step.props.forEach((p, i) => out.set(p, g.key[i]!));
          step.reducers.forEach((r, i) => out.set(r.as, finish(r, g.states[i]!)));
          rows.push(out);
        }
        total = rows.length;
        break;
      }
      case 'apply':
        for (const row of rows) row.set(step.as, evaluate(step.expr, row as Row));
        break;
      case 'filter':
        rows = rows.filter((row) => isTruthy(evaluate(step.expr, row as Row)));
        break;
      case 'sortby':
        for (const k of step.keys) {
          if (rows.length > 0 && !rows.some((r) => r.has(k.prop)) && !ix.field(k.prop)) throw err(`Property \`${k.prop}\` not loaded nor in schema`);
        }
        rows.sort((a, b) => {
          for (const k of step.keys) {
            const c = cmpValues(a.get(k.prop) as Value, b.get(k.prop) as Value);
            if (c !== 0) return k.asc ? c : -c;
          }
          return 0;
        });
        if (step.max > 0) rows = rows.slice(0, step.max);
        break;
      case 'limit':
        rows = rows.slice(step.offset, step.offset + step.num);
        break;
    }
  }
  return { total, rows };
}

/** The argument a coordinator appends to FT.AGGREGATE: answer the matched rows in shard form. */
export const SHARD_ROWS_FLAG = '__SHARDROWS';

/**
 * A shard's matched rows: [[name, typed value, ...], ...], each value `#<number>` or `$<string>`
 * (NUMERIC fields must stay numbers through the merge) or nil.
 */
export function encodeShardRows(rows: readonly OutRow[]): Reply {
  return rows.map((row) => {
    const out: Reply[] = [];
    for (const [k, v] of row) {
      out.push(k, v === null ? null : typeof v === 'number' ? `#${v}` : `$${toStr(v as Value)}`);
    }
    return out;
  });
}

/** The inverse of encodeShardRows, over the parsed reply (strings already decoded). */
export function decodeShardRows(rows: readonly (readonly (string | null)[])[]): OutRow[] {
  return rows.map((r) => {
    const row: OutRow = new Map();
    for (let i = 0; i + 1 < r.length; i += 2) {
      const v = r[i + 1]!;
      row.set(r[i]!, v === null ? null : v.startsWith('#') ? Number(v.slice(1)) : v.slice(1));
    }
    return row;
  });
}

export function renderValue(v: Value | Value[]): Reply {
  if (Array.isArray(v)) return v.map((x) => renderValue(x));
  if (v === null) return null;
  return typeof v === 'number' ? formatNumber(v) : v;
}

export function renderRow(row: OutRow): Reply[] {
  const out: Reply[] = [];
  for (const [k, v] of row) {
    if (k === '__key' || k === '__score') continue;
    out.push(k, renderValue(v));
  }
  return out;
}

export class Cursors {
  private next = 1;
  private readonly open = new Map<number, { rows: Reply[][]; count: number; total: number }>();

  get size(): number {
    return this.open.size;
  }

  add(rows: Reply[][], count: number, total: number): number {
    const id = this.next++;
    this.open.set(id, { rows, count, total });
    return id;
  }

  read(id: number, count?: number): Reply | undefined {
    const c = this.open.get(id);
    if (!c) return undefined;
    const n = count && count > 0 ? count : c.count;
    const chunk = c.rows.splice(0, n);
    const more = c.rows.length > 0;
    if (!more) this.open.delete(id);
    return [[c.total, ...chunk], more ? id : 0];
  }

  del(id: number): boolean {
    return this.open.delete(id);
  }
}

export function renderAggregate(req: AggregateRequest, res: AggregateResult, cursors: Cursors): Reply {
  const rows = res.rows.map(renderRow);
  if (!req.cursor) return [res.total, ...rows];
  const first = rows.splice(0, req.cursor.count);
  const id = rows.length > 0 ? cursors.add(rows, req.cursor.count, res.total) : 0;
  return [[res.total, ...first], id];
}
