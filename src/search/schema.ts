// FT.CREATE / FT.ALTER argument parsing into an index definition (RediSearch 2.x syntax, HASH
// documents). The definition is plain data: it is what is persisted and broadcast to other nodes,
// and SearchIndex is built from it.
import { DEFAULT_STOPWORDS } from './tokenizer.js';
import { SearchError, err } from './errors.js';

export type FieldType = 'TEXT' | 'TAG' | 'NUMERIC' | 'VECTOR';

export interface VectorParams {
  algorithm: 'FLAT' | 'HNSW';
  type: 'FLOAT32' | 'FLOAT64';
  dim: number;
  metric: 'L2' | 'IP' | 'COSINE';
  /** HNSW M / EF_CONSTRUCTION / EF_RUNTIME, FLAT/HNSW INITIAL_CAP and BLOCK_SIZE (kept as given). */
  m: number;
  efConstruction: number;
  efRuntime: number;
  initialCap: number;
}

export interface FieldDef {
  /** The hash field read. */
  path: string;
  /** The name queries use (AS alias; the path when no alias). */
  name: string;
  type: FieldType;
  weight: number;
  noStem: boolean;
  sortable: boolean;
  noIndex: boolean;
  separator: string;
  caseSensitive: boolean;
  vector?: VectorParams;
}

export interface IndexDef {
  name: string;
  prefixes: string[];
  filter: string | undefined;
  language: string;
  languageField: string | undefined;
  score: number;
  scoreField: string | undefined;
  stopwords: string[];
  skipInitialScan: boolean;
  fields: FieldDef[];
}

const upper = (s: string | undefined): string => (s ?? '').toUpperCase();

function parseNumber(s: string | undefined, what: string): number {
  const n = s === undefined ? NaN : Number(s);
  if (s === undefined || s.trim() === '' || !Number.isFinite(n)) throw err(`Bad arguments for ${what}: could not parse number`);
  return n;
}

function parseCount(s: string | undefined, what: string): number {
  const n = parseNumber(s, what);
  if (!Number.isInteger(n) || n < 0) throw err(`Bad arguments for ${what}: invalid count`);
  return n;
}

const LANGUAGES = new Set([
  'arabic', 'armenian', 'basque', 'catalan', 'danish', 'dutch', 'english', 'finnish', 'french', 'german', 'greek',
  'hindi', 'hungarian', 'indonesian', 'irish', 'italian', 'lithuanian', 'nepali', 'norwegian', 'portuguese',
  'romanian', 'russian', 'serbian', 'spanish', 'swedish', 'tamil', 'turkish', 'yiddish', 'chinese',
]);

/** FT.CREATE <args> (args[0] is the index name). */
export function parseCreate(args: string[]): IndexDef {
  const def: IndexDef = {
    name: args[0]!, prefixes: [], filter: undefined, language: 'english', languageField: undefined, score: 1,
    scoreField: undefined, stopwords: [...DEFAULT_STOPWORDS], skipInitialScan: false, fields: [],
  };
  let i = 1;
  for (;;) {
    const a = upper(args[i]);
    if (i >= args.length) throw err('No schema found');
    if (a === 'SCHEMA') {
      i++;
      break;
    }
    i++;
    switch (a) {
      case 'ON': {
        const on = upper(args[i++]);
        if (on === 'JSON') throw err('JSON documents are not supported by this server (ON HASH only)');
        if (on !== 'HASH') throw err(`Unknown argument \`${args[i - 1] ?? ''}\``);
        break;
      }
      case 'PREFIX': {
        const n = parseCount(args[i++], 'PREFIX');
        if (i + n > args.length) throw err('Bad arguments for PREFIX: not enough arguments');
        for (let k = 0; k < n; k++) def.prefixes.push(args[i++]!);
        break;
      }
      case 'FILTER':
        if (i >= args.length) throw err('Bad arguments for FILTER: missing expression');
        def.filter = args[i++];
        break;
      case 'LANGUAGE': {
        const l = (args[i++] ?? '').toLowerCase();
        if (!LANGUAGES.has(l)) throw err('Invalid Language');
        def.language = l;
        break;
      }
      case 'LANGUAGE_FIELD':
        def.languageField = args[i++];
        break;
      case 'SCORE': {
        const s = Number(args[i++]);
        if (!Number.isFinite(s) || s < 0 || s > 1) throw err('Invalid score');
        def.score = s;
        break;
      }
      case 'SCORE_FIELD':
        def.scoreField = args[i++];
        break;
      case 'STOPWORDS': {
        const n = parseCount(args[i++], 'STOPWORDS');
        if (i + n > args.length) throw err('Bad arguments for STOPWORDS: not enough arguments');
        def.stopwords = args.slice(i, i + n).map((w) => w.toLowerCase());
        i += n;
        break;
      }
      case 'SKIPINITIALSCAN':
        def.skipInitialScan = true;
        break;
      case 'PAYLOAD_FIELD':
      case 'TEMPORARY':
        i++;
        break;
      case 'MAXTEXTFIELDS':
      case 'NOOFFSETS':
      case 'NOHL':
      case 'NOFIELDS':
      case 'NOFREQS':
        break;
      default:
        throw err(`Unknown argument \`${args[i - 1] ?? ''}\``);
    }
  }
  if (i >= args.length) throw err('Fields arguments are missing');
  def.fields = parseFields(args, i, []);
  return def;
}

/** The field list of SCHEMA (FT.CREATE) or SCHEMA ADD (FT.ALTER); `existing` are the index's fields. */
export function parseFields(args: string[], start: number, existing: readonly FieldDef[]): FieldDef[] {
  const out: FieldDef[] = [];
  const names = new Set(existing.map((f) => f.name));
  let i = start;
  while (i < args.length) {
    const path = args[i++]!;
    let name = path;
    if (upper(args[i]) === 'AS') {
      name = args[i + 1] ?? '';
      i += 2;
      if (name === '') throw err('Bad arguments for AS: missing alias');
    }
    const type = upper(args[i++]);
    if (names.has(name)) throw err(`Duplicate field in schema - ${name}`);
    names.add(name);
    const f: FieldDef = {
      path, name, type: 'TEXT', weight: 1, noStem: false, sortable: false, noIndex: false, separator: ',',
      caseSensitive: false,
    };
    if (type === 'TEXT' || type === 'TAG' || type === 'NUMERIC') f.type = type;
    else if (type === 'VECTOR') {
      f.type = 'VECTOR';
      i = parseVector(args, i, f);
    } else if (type === 'GEO' || type === 'GEOSHAPE') throw err(`Field type ${type} is not supported by this server`);
    else throw err(`Invalid field type for field \`${name}\``);
    // Per-field options, until the next field begins.
    for (;;) {
      const o = upper(args[i]);
      if (o === 'SORTABLE') {
        f.sortable = true;
        i++;
        if (upper(args[i]) === 'UNF') i++;
      } else if (o === 'NOINDEX') {
        f.noIndex = true;
        i++;
      } else if (f.type === 'TEXT' && o === 'NOSTEM') {
        f.noStem = true;
        i++;
      } else if (f.type === 'TEXT' && o === 'WEIGHT') {
        const w = Number(args[i + 1]);
        if (args[i + 1] === undefined || !Number.isFinite(w) || w < 0) throw err('Could not parse field spec');
        f.weight = w;
        i += 2;
      } else if (f.type === 'TEXT' && o === 'PHONETIC') {
        i += 2;
      } else if (f.type === 'TEXT' && o === 'WITHSUFFIXTRIE') {
        i++;
      } else if (f.type === 'TAG' && o === 'SEPARATOR') {
        const s = args[i + 1] ?? '';
        if (s.length !== 1) throw err(`Tag separator must be a single character. Got \`${s}\``);
        f.separator = s;
        i += 2;
      } else if (f.type === 'TAG' && o === 'CASESENSITIVE') {
        f.caseSensitive = true;
        i++;
      } else break;
    }
    out.push(f);
  }
  if (out.length === 0) throw err('Fields arguments are missing');
  return out;
}

function parseVector(args: string[], i: number, f: FieldDef): number {
  const algo = upper(args[i++]);
  if (algo !== 'FLAT' && algo !== 'HNSW') throw err('Bad arguments for vector similarity algorithm');
  const n = Number(args[i++]);
  if (!Number.isInteger(n) || n < 0 || n % 2 !== 0 || i + n > args.length) {
    throw err(`Bad arguments for vector similarity ${algo} index arguments`);
  }
  const v: VectorParams = { algorithm: algo, type: 'FLOAT32', dim: 0, metric: 'L2', m: 16, efConstruction: 200, efRuntime: 10, initialCap: 1024 };
  let haveType = false;
  let haveDim = false;
  let haveMetric = false;
  for (let k = 0; k < n; k += 2) {
    const key = upper(args[i + k]);
    const val = args[i + k + 1] ?? '';
    const num = (): number => {
      const x = Number(val);
      if (!Number.isInteger(x) || x <= 0) throw err(`Bad arguments for vector similarity ${algo} index ${key}`);
      return x;
    };
    if (key === 'TYPE') {
      const t = val.toUpperCase();
      if (t !== 'FLOAT32' && t !== 'FLOAT64') throw err(`Bad arguments for vector similarity ${algo} index type`);
      v.type = t;
      haveType = true;
    } else if (key === 'DIM') {
      v.dim = num();
      haveDim = true;
    } else if (key === 'DISTANCE_METRIC') {
      const m = val.toUpperCase();
      if (m !== 'L2' && m !== 'IP' && m !== 'COSINE') throw err(`Bad arguments for vector similarity ${algo} index metric`);
      v.metric = m;
      haveMetric = true;
    } else if (key === 'INITIAL_CAP') v.initialCap = num();
    else if (key === 'BLOCK_SIZE') num();
    else if (algo === 'HNSW' && key === 'M') v.m = num();
    else if (algo === 'HNSW' && key === 'EF_CONSTRUCTION') v.efConstruction = num();
    else if (algo === 'HNSW' && key === 'EF_RUNTIME') v.efRuntime = num();
    else if (algo === 'HNSW' && key === 'EPSILON') Number(val);
    else throw err(`Bad arguments for algorithm ${algo}: ${args[i + k] ?? ''}`);
  }
  const missing = !haveType ? 'TYPE' : !haveDim ? 'DIM' : !haveMetric ? 'DISTANCE_METRIC' : '';
  if (missing) throw err(`Missing mandatory parameter: cannot create ${algo} index without specifying ${missing} argument`);
  f.vector = v;
  return i + n;
}

/** FT.ALTER <index> [SKIPINITIALSCAN] SCHEMA ADD <fields> (args[0] is the index name). */
export function parseAlter(args: string[], def: IndexDef): FieldDef[] {
  let i = 1;
  if (upper(args[i]) === 'SKIPINITIALSCAN') i++;
  if (upper(args[i]) !== 'SCHEMA' || upper(args[i + 1]) !== 'ADD') throw err('Unknown action passed to ALTER SCHEMA');
  if (i + 2 >= args.length) throw err('No fields provided');
  return parseFields(args, i + 2, def.fields);
}

export { SearchError };
