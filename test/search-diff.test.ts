// Differential tests: the same documents and queries through our FT.* (a node over the embedded
// store, and a node over a plain redis) and through a real RediSearch 1.2.2 (Debian's
// redis-redisearch module: FT.ADD there, HSET here). Totals, ids in order and scores must agree.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../src/node.js';
import { parseResp, type RespValue } from '../src/search/resp-conn.js';
import { startTestNode } from './helpers/node.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { startRedis, type RunningServer } from './helpers/servers.js';

const MODULE = '/usr/lib/redis/modules/redisearch.so';
const haveModule = existsSync(MODULE);

const WORDS = ['running', 'runner', 'runs', 'jumped', 'jumping', 'quick', 'quickly', 'brown', 'fox', 'foxes', 'lazy', 'dog', 'dogs',
  'hello', 'world', 'worlds', 'search', 'searching', 'engine', 'engines', 'redis', 'cluster', 'clusters', 'generously', 'happily',
  'connection', 'connected', 'connecting', 'the', 'and', 'of', 'red', 'green', 'blue'];
const TAGS = ['alpha', 'beta', 'gamma', 'delta'];

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Doc { key: string; title: string; body: string; tags: string; price: string }

function corpus(n: number): Doc[] {
  const r = prng(7);
  const pick = (k: number): string => Array.from({ length: k }, () => WORDS[Math.floor(r() * WORDS.length)]!).join(' ');
  const docs: Doc[] = [];
  for (let i = 0; i < n; i++) {
    const tags = TAGS.filter(() => r() < 0.4).join(',') || 'alpha';
    docs.push({ key: `doc:${i}`, title: pick(2 + Math.floor(r() * 3)), body: pick(4 + Math.floor(r() * 10)), tags, price: String(Math.floor(r() * 100)) });
  }
  docs.push({ key: 'doc:p1', title: 'Hello, World!', body: 'quick brown fox jumped over the lazy dog', tags: 'beta', price: '5' });
  docs.push({ key: 'doc:p2', title: 'hello-world', body: 'the dog jumped over a quick brown fox', tags: 'gamma', price: '7.5' });
  return docs;
}

const QUERIES: string[][] = [
  ['hello'], ['run'], ['running'], ['runner'], ['quickly'], ['hello world'], ['hello | world'], ['hello -world'],
  ['hello ~world'], ['"quick brown fox"'], ['"brown quick"'], ['quic*'], ['conn*'], ['%dgo%'], ['%serch%'],
  ['@title:hello'], ['@title:hello world'], ['@title|body:(fox | dog)'], ['@body:(red green)'], ['-hello'],
  ['@price:[10 20]'], ['@price:[(10 (20]'], ['@price:[-inf 5]'], ['@price:[90 +inf]'], ['fox @price:[0 50]'],
  ['@tags:{beta}'], ['@tags:{beta | gamma}'], ['@tags:{delta} fox'], ['engine | cluster redis'], ['(engine | cluster) redis'],
  ['hello world | "quick brown" dog'], ['happily generously'], ['connect'], ['worlds'], ['the'], ['nosuchword'],
  ['fox', 'LIMIT', '2', '3'], ['dog', 'LIMIT', '0', '1'], ['fox', 'NOCONTENT'], ['dog', 'VERBATIM'], ['running', 'VERBATIM'],
  ['fox', 'INFIELDS', '1', 'title'], ['fox', 'INKEYS', '3', 'doc:1', 'doc:2', 'doc:p1'], ['fox', 'RETURN', '1', 'price'],
  ['fox', 'SORTBY', 'price', 'ASC'], ['fox', 'SORTBY', 'price', 'DESC', 'LIMIT', '0', '5'], ['@price:[0 100]', 'SORTBY', 'price'],
  ['dog fox', 'FILTER', 'price', '10', '60'],
  ['-(hello | world)'], ['@title:(hello) @body:(dog)'], ['"hello world"'], ['hello\\-world'], ['@tags:{alpha} @tags:{beta}'],
];

/**
 * Queries whose scores differ from 1.2.2 (union of sub-queries sharing documents, where 1.2.2 keeps
 * only some children's frequencies): totals and the matched id sets must still agree.
 */
const SCORE_DIFFERS = new Set(['fox @price:[0 50]', 'engine | cluster redis', '(engine | cluster) redis',
  'hello world | "quick brown" dog', 'happily generously']);

/** Ids grouped by equal sort key: RediSearch's order among equal keys is a heap artifact. */
function sortGroups(v: unknown[]): unknown[] {
  const total = v[0];
  const rows: { key: string; fields: unknown }[] = [];
  for (let i = 1; i < v.length; i += 2) rows.push({ key: String(v[i]), fields: v[i + 1] });
  const price = (r: { fields: unknown }): string => (r.fields as string[]).find((x) => x.startsWith('price=')) ?? '';
  const out: unknown[] = [total];
  let i = 0;
  while (i < rows.length) {
    let j = i;
    while (j < rows.length && price(rows[j]!) === price(rows[i]!)) j++;
    out.push(price(rows[i]!), rows.slice(i, j).map((r) => r.key).sort());
    i = j;
  }
  return out;
}

/** Total and the set of ids of a WITHSCORES reply. */
function idSet(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  const ids: string[] = [];
  for (let i = 1; i < v.length; i += 3) ids.push(String(v[i]));
  return [v[0], ids.sort()];
}

let oracle: RunningServer | undefined;
let plain: RunningServer | undefined;
let memNode: RunningNode | undefined;
let redisNode: RunningNode | undefined;
const clients: RawClient[] = [];

async function call(port: number, ...args: string[]): Promise<RespValue> {
  const c = await RawClient.connect(port);
  clients.push(c);
  c.write(cmd(...args));
  const [r] = await c.replies(1);
  return parseResp(r!, 0)![0];
}

async function pipeline(port: number, cmds: string[][]): Promise<RespValue[]> {
  const c = await RawClient.connect(port);
  clients.push(c);
  c.write(Buffer.concat(cmds.map((a) => cmd(...a))));
  const rs = await c.replies(cmds.length);
  return rs.map((r) => parseResp(r, 0)![0]);
}

async function waitIndexed(port: number, index: string): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const info = plainOf(await call(port, 'FT.INFO', index)) as unknown[];
    if (info[info.indexOf('indexing') + 1] === '0') return;
    if (Date.now() > deadline) throw new Error('index still scanning after 5 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A reply as plain JS: strings for bulk/status, {err} for errors. */
function plainOf(v: RespValue): unknown {
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (Array.isArray(v)) return v.map(plainOf);
  if (v !== null && typeof v === 'object') return { err: v.message };
  return v;
}

/** Field arrays compared as sets of pairs (hash field order is the datastore's). */
function normalise(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  return v.map((x) => {
    if (!Array.isArray(x)) return x;
    const pairs: string[] = [];
    for (let i = 0; i + 1 < x.length; i += 2) pairs.push(`${String(x[i])}=${String(x[i + 1])}`);
    return pairs.sort();
  });
}

const docs = corpus(40);
const SCHEMA = ['title', 'TEXT', 'WEIGHT', '5', 'body', 'TEXT', 'tags', 'TAG', 'price', 'NUMERIC', 'SORTABLE'];

describe.skipIf(!haveModule)('FT.* against RediSearch 1.2.2', () => {
  beforeAll(async () => {
    oracle = await startRedis(['--loadmodule', MODULE]);
    plain = await startRedis();
    memNode = await startTestNode({ dataStore: 'memory' });
    redisNode = await startTestNode({ dataStore: 'redis', server: { host: '127.0.0.1', port: plain.port }, datastoreConnections: 2 });
    expect(plainOf(await call(oracle.port, 'FT.CREATE', 'idx', 'SCHEMA', ...SCHEMA))).toBe('OK');
    await pipeline(oracle.port, docs.map((d) => ['FT.ADD', 'idx', d.key, '1.0', 'FIELDS', 'title', d.title, 'body', d.body, 'tags', d.tags, 'price', d.price]));
    for (const node of [memNode, redisNode]) {
      expect(plainOf(await call(node.port, 'FT.CREATE', 'idx', 'ON', 'HASH', 'PREFIX', '1', 'doc:', 'SCHEMA', ...SCHEMA))).toBe('OK');
      // Writes after the initial scan ended get ids in write order (RediSearch's tie order).
      await waitIndexed(node.port, 'idx');
      await pipeline(node.port, docs.map((d) => ['HSET', d.key, 'title', d.title, 'body', d.body, 'tags', d.tags, 'price', d.price]));
    }
  }, 30000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await memNode?.close('test done', 100);
    await redisNode?.close('test done', 100);
    await oracle?.stop();
    await plain?.stop();
  });

  it('indexes every document written through the node', async () => {
    for (const node of [memNode!, redisNode!]) {
      const r = plainOf(await call(node.port, 'FT.SEARCH', 'idx', '*', 'LIMIT', '0', '0')) as unknown[];
      expect(r[0]).toBe(docs.length);
    }
  });

  for (const q of QUERIES) {
    it(`FT.SEARCH ${q.join(' ')}`, async () => {
      const args = ['FT.SEARCH', 'idx', ...q];
      const withScores = q.includes('NOCONTENT') || q.includes('SORTBY') || q.includes('LIMIT') ? args : [...args, 'WITHSCORES'];
      const label = q.join(' ');
      const view = (v: unknown): unknown =>
        q.includes('SORTBY') ? sortGroups(v as unknown[]) : SCORE_DIFFERS.has(label) ? idSet(v) : v;
      const want = view(normalise(plainOf(await call(oracle!.port, ...withScores))));
      for (const [name, node] of [['memory', memNode!], ['redis', redisNode!]] as const) {
        const got = view(normalise(plainOf(await call(node.port, ...withScores))));
        expect(got, name).toEqual(want);
      }
    });
  }

  it('FT.EXPLAIN agrees on the tree of dialect-1 queries', async () => {
    for (const q of ['hello world | "goodbye" moon', 'x -y | z', '@title:hello world', 'hello ~world', 'x y | z w | q']) {
      const want = plainOf(await call(oracle!.port, 'FT.EXPLAIN', 'idx', q));
      const got = plainOf(await call(memNode!.port, 'FT.EXPLAIN', 'idx', q));
      expect(got).toEqual(want);
    }
  });
});
