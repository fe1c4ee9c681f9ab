// Unit tests of the search modules: tokeniser, stemmer (word by word against Snowball's own
// `stemwords` when installed), query parser (both dialects), scorer and the engine's commands.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tokenize, DEFAULT_STOPWORDS, normalize } from '../src/search/tokenizer.js';
import { snowballStem, stemWord } from '../src/search/stemmer.js';
import { parseQuery } from '../src/search/query-parser.js';
import { idf, logb, slop } from '../src/search/scorer.js';
import { levenshteinWithin } from '../src/search/query-exec.js';
import { topK } from '../src/search/top-k.js';
import { Prng } from './helpers/prng.js';
import { SearchEngine } from '../src/search/engine.js';
import { encode, ReplyErr, type Reply } from '../src/search/reply.js';

const stop = new Set(DEFAULT_STOPWORDS);
const haveStemwords = (() => {
  try {
    execFileSync('stemwords', ['-l', 'english'], { input: 'running\n' });
    return true;
  } catch {
    return false;
  }
})();

describe('tokenizer', () => {
  it('splits at RediSearch separators, folds ASCII case, skips stopwords without a position', () => {
    const t = tokenize('Hello, World! The quick-brown fox_x', { stopwords: stop, stem: false });
    expect(t.map((x) => [x.term, x.pos])).toEqual([['hello', 1], ['world', 2], ['quick', 3], ['brown', 4], ['fox_x', 5]]);
  });
  it('keeps escaped separators and drops control bytes', () => {
    expect(tokenize('foo\\-bar a\nb', { stopwords: stop, stem: false }).map((x) => x.term)).toEqual(['foo-bar', 'ab']);
    // Only ASCII folds: UTF-8 bytes (latin1 chars here) pass through unchanged.
    expect(normalize(Buffer.from('ÉCOLE', 'utf8').toString('latin1'))).toBe(Buffer.from('École', 'utf8').toString('latin1').replace('É', 'É'));
  });
  it('has the 33 default stopwords', () => {
    expect(DEFAULT_STOPWORDS.length).toBe(33);
  });
  it('stems tokens of 4+ bytes only when the stem differs, under a + prefix', () => {
    expect(stemWord('running')).toBe('+run');
    expect(stemWord('run')).toBeUndefined();
    expect(stemWord('hello')).toBeUndefined();
  });
});

describe.skipIf(!haveStemwords)('stemmer vs Snowball stemwords -l english', () => {
  it('agrees word by word on the vocabulary of the repository docs and sources', () => {
    const words = new Set<string>();
    const files = ['README.md', ...readdirSync('docs').map((f) => `docs/${f}`), ...readdirSync('src/search').map((f) => `src/search/${f}`)];
    for (const f of files) for (const w of readFileSync(f, 'utf8').toLowerCase().match(/[a-z]+/g) ?? []) words.add(w);
    for (const w of ['generously', 'happily', 'connection', 'connecting', 'jumping', 'abilities', 'sky', 'news', 'dying', 'proceed']) words.add(w);
    const list = [...words];
    const out = execFileSync('stemwords', ['-l', 'english'], { input: list.join('\n') + '\n' }).toString().split('\n');
    const mismatches = list.filter((w, i) => snowballStem(w) !== out[i]);
    expect(list.length).toBeGreaterThan(1000);
    expect(mismatches).toEqual([]);
  });
});

const parse = (q: string, dialect = 1): unknown => parseQuery(q, { dialect, params: new Map([['x', Buffer.from('hello')]]), stopwords: stop, verbatim: false }).root;

describe('query parser', () => {
  it('dialect 1: a run of words is one atom and | binds tighter than adjacency', () => {
    const r = parse('hello world | "goodbye" moon') as { t: string; children: { t: string }[] };
    expect(r.t).toBe('and');
    expect(r.children.map((c) => c.t)).toEqual(['or', 'term']);
  });
  it('dialect 2: | binds loosest', () => {
    const r = parse('hello world | "goodbye" moon', 2) as { t: string; children: { t: string }[] };
    expect(r.t).toBe('or');
    expect(r.children.map((c) => c.t)).toEqual(['and', 'and']);
  });
  it('parses ranges, tags, prefixes, fuzzy, params and marks negated terms verbatim', () => {
    expect(parse('@p:[(1 +inf]')).toEqual({ t: 'numeric', field: 'p', lo: 1, hi: Infinity, loEx: true, hiEx: false });
    expect(parse('@t:{a b | c*}')).toEqual({ t: 'tag', field: 't', values: [{ value: 'a b', prefix: false }, { value: 'c', prefix: true }] });
    expect(parse('hel*')).toEqual({ t: 'prefix', prefix: 'hel', fields: null });
    expect(parse('%%helo%%', 2)).toEqual({ t: 'fuzzy', term: 'helo', dist: 2, fields: null });
    expect(parse('$x', 2)).toEqual({ t: 'term', term: 'hello', fields: null, verbatim: false });
    expect(parse('-running')).toEqual({ t: 'not', child: { t: 'term', term: 'running', fields: null, verbatim: true } });
  });
  it('reports syntax errors with an offset', () => {
    expect(() => parse('@p:[1 x]')).toThrow(/Syntax error at offset 6/);
    expect(() => parse('(foo')).toThrow(/Syntax error/);
  });
});

describe('scorer', () => {
  it('idf is the binary exponent of 1 + N/df', () => {
    expect(logb(3.5)).toBe(1);
    expect(idf(6, 2)).toBe(2);
    expect(idf(4, 2)).toBe(1);
  });
  it('slop is the distance between consecutive children, 100 when a positional child has no partner', () => {
    const t = (p: number[]) => ({ k: 'term' as const, freq: 1, idf: 1, weight: 1, positions: p });
    expect(slop({ k: 'agg', weight: 1, children: [t([1]), t([4])] })).toBe(3);
    expect(slop({ k: 'agg', weight: 1, children: [t([1]), { k: 'virt', freq: 1, weight: 1 }] })).toBe(10);
    // Same position (a word and its stem): the summed gap is 0, so RediSearch's fallback 100 applies.
    expect(slop({ k: 'agg', weight: 1, children: [t([2]), t([2])] })).toBe(10);
  });
  it('fuzzy distance counts a transposition as one edit', () => {
    expect(levenshteinWithin('dgo', 'dog', 1)).toBe(true);
    expect(levenshteinWithin('serch', 'search', 1)).toBe(true);
    expect(levenshteinWithin('abc', 'xyz', 2)).toBe(false);
  });
});

describe('engine', () => {
  const b = (...a: string[]): Buffer[] => a.map((x) => Buffer.from(x, 'latin1'));
  const run = async (e: SearchEngine, ...a: string[]): Promise<Reply> => e.execute(b(...a));
  it('creates, searches, drops, and words errors as RediSearch does', async () => {
    const e = new SearchEngine();
    expect(await run(e, 'FT.CREATE', 'i', 'PREFIX', '1', 'd:', 'SCHEMA', 't', 'TEXT', 'n', 'NUMERIC', 'SORTABLE', 'g', 'TAG')).toEqual(expect.objectContaining({ text: 'OK' }));
    expect(await run(e, 'FT.CREATE', 'i', 'SCHEMA', 't', 'TEXT')).toEqual(new ReplyErr('Index already exists'));
    e.changed('d:1', new Map([['t', Buffer.from('hello world')], ['n', Buffer.from('5')], ['g', Buffer.from('A,b')]]));
    e.changed('d:2', new Map([['t', Buffer.from('hello')], ['n', Buffer.from('x')]]));
    e.changed('other', new Map([['t', Buffer.from('hello')]]));
    const r = (await run(e, 'FT.SEARCH', 'i', 'hello', 'NOCONTENT')) as Reply[];
    expect(r).toEqual([1, 'd:1']);
    expect(await run(e, 'FT.SEARCH', 'i', '@g:{a}', 'RETURN', '1', 'n')).toEqual([1, 'd:1', ['n', Buffer.from('5')]]);
    expect(await run(e, 'FT.TAGVALS', 'i', 'g')).toEqual(['a', 'b']);
    const info = (await run(e, 'FT.INFO', 'i')) as Reply[];
    expect(info[info.indexOf('hash_indexing_failures') + 1]).toBe('1');
    expect(await run(e, 'FT.SEARCH', 'nope', '*')).toEqual(new ReplyErr('Unknown Index name'));
    expect(await run(e, 'FT._LIST')).toEqual(['i']);
    expect(String(encode(await run(e, 'FT.SEARCH', 'i', 'hello', 'LIMIT', '-1', '2')))).toBe('-Invalid LIMIT parameters\r\n');
    expect(await run(e, 'FT.DROPINDEX', 'i')).toEqual(expect.objectContaining({ text: 'OK' }));
    expect(await run(e, 'FT._LIST')).toEqual([]);
  });
  it('aggregates with GROUPBY reducers, APPLY, FILTER, SORTBY and cursors', async () => {
    const e = new SearchEngine();
    await run(e, 'FT.CREATE', 'a', 'SCHEMA', 'c', 'TAG', 'p', 'NUMERIC');
    const rows: [string, string][] = [['x', '1'], ['x', '3'], ['y', '10'], ['y', '10'], ['z', '7']];
    rows.forEach(([c, p], i) => e.changed(`k${i}`, new Map([['c', Buffer.from(c)], ['p', Buffer.from(p)]])));
    const r = await run(e, 'FT.AGGREGATE', 'a', '*', 'GROUPBY', '1', '@c', 'REDUCE', 'COUNT', '0', 'AS', 'n', 'REDUCE', 'AVG', '1', '@p', 'AS', 'avg',
      'REDUCE', 'COUNT_DISTINCT', '1', '@p', 'AS', 'd', 'APPLY', '@avg * 2', 'AS', 'dbl', 'FILTER', '@n > 1', 'SORTBY', '2', '@avg', 'DESC');
    expect(r).toEqual([3, ['c', 'y', 'n', '2', 'avg', '10', 'd', '1', 'dbl', '20'], ['c', 'x', 'n', '2', 'avg', '2', 'd', '2', 'dbl', '4']]);
    const c = (await run(e, 'FT.AGGREGATE', 'a', '*', 'LOAD', '1', '@p', 'WITHCURSOR', 'COUNT', '2')) as Reply[];
    expect((c[0] as Reply[]).length).toBe(3);
    const next = (await run(e, 'FT.CURSOR', 'READ', 'a', String(c[1]))) as Reply[];
    expect((next[0] as Reply[]).length).toBe(3);
  });
});

describe('topK (the result selection of FT.SEARCH)', () => {
  it('equals a full sort then slice, ties included, for every k', () => {
    const p = new Prng(7);
    // Scores from a small range so ties are common; the id breaks them (a total order).
    const items = Array.from({ length: 500 }, (_, id) => ({ id, score: p.int(20) }));
    const cmp = (a: { id: number; score: number }, b: { id: number; score: number }): number => b.score - a.score || b.id - a.id;
    const sorted = [...items].sort(cmp);
    for (const k of [0, 1, 2, 10, 499, 500, 600]) {
      expect(topK(items, k, cmp).map((x) => x.id)).toEqual(sorted.slice(0, k).map((x) => x.id));
    }
  });
});
