// Search benchmark: the same corpus and queries through RediSearch (Debian's redis-redisearch module,
// the live baseline), a dynomite-ts node on its embedded store, and a dynomite-ts node over a plain
// redis-server (documents reach the index through keyspace notifications), all over sockets,
// interleaved over several rounds (A B C A B C ...). Reports indexing throughput and, per query,
// median latency at one query in flight and throughput at 16 in flight, with ratios to RediSearch.
// Before timing, every query's total must agree across targets: the bench refuses to print figures
// if any differs.
//
//   npm run bench:search [-- --docs 20000 --rounds 3 --queries 300 --report <dir>]
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseResp, type RespValue } from '../src/search/resp-conn.js';
import { Prng } from '../test/helpers/prng.js';
import { cmd, RawClient } from '../test/helpers/resp-client.js';
import { freePort, waitForPort } from '../test/helpers/servers.js';
import { Progress, writeReport, type ReportTable } from './report.js';

const MODULE = '/usr/lib/redis/modules/redisearch.so';
const argAfter = (flag: string, dflt: number): number => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const DOCS = argAfter('--docs', 20000);
const ROUNDS = argAfter('--rounds', 3);
const QUERIES_PER_RUN = argAfter('--queries', 300);
const DEPTH = 16;

const WORDS = ['running', 'runner', 'jumped', 'quick', 'brown', 'fox', 'lazy', 'dog', 'hello', 'world', 'search', 'engine',
  'redis', 'cluster', 'connection', 'red', 'green', 'blue', 'alpha', 'omega', 'north', 'south', 'river', 'stone', 'light',
  'shadow', 'market', 'garden', 'winter', 'summer', 'silver', 'golden', 'ocean', 'forest', 'mountain', 'valley'];
const TAGS = ['alpha', 'beta', 'gamma', 'delta'];

interface Doc { key: string; title: string; body: string; tags: string; price: string }

function corpus(n: number): Doc[] {
  // The tests' seeded generator, so every run indexes the same documents.
  const p = new Prng(11);
  const r = (): number => p.float();
  const pick = (k: number): string => Array.from({ length: k }, () => WORDS[Math.floor(r() * WORDS.length)]!).join(' ');
  return Array.from({ length: n }, (_, i) => ({
    key: `doc:${i}`, title: pick(2 + Math.floor(r() * 3)), body: pick(8 + Math.floor(r() * 24)),
    tags: TAGS.filter(() => r() < 0.4).join(',') || 'alpha', price: String(Math.floor(r() * 1000)),
  }));
}

/** The queries: name and FT.SEARCH arguments after the index name. */
const QUERIES: { name: string; args: string[] }[] = [
  { name: 'one term', args: ['fox', 'LIMIT', '0', '10'] },
  { name: 'two terms (AND)', args: ['quick fox', 'LIMIT', '0', '10'] },
  { name: 'union', args: ['river | ocean', 'LIMIT', '0', '10'] },
  { name: 'exact phrase', args: ['"brown fox"', 'LIMIT', '0', '10'] },
  { name: 'prefix', args: ['moun*', 'LIMIT', '0', '10'] },
  { name: 'field + numeric range', args: ['@title:hello @price:[100 200]', 'LIMIT', '0', '10'] },
  { name: 'tag', args: ['@tags:{beta} dog', 'LIMIT', '0', '10'] },
  { name: 'sort by price', args: ['winter', 'SORTBY', 'price', 'ASC', 'LIMIT', '0', '10'] },
  { name: 'ids only (NOCONTENT)', args: ['summer', 'NOCONTENT', 'LIMIT', '0', '10'] },
];

const SCHEMA = ['title', 'TEXT', 'WEIGHT', '2', 'body', 'TEXT', 'tags', 'TAG', 'price', 'NUMERIC', 'SORTABLE'];

interface Target {
  name: string;
  port: number;
  /** FT.ADD into RediSearch 1.2; HSET into an index declared ON HASH for ours. */
  kind: 'redisearch' | 'dynomite';
}

const procs: ChildProcess[] = [];
function spawnProc(command: string, args: string[]): ChildProcess {
  const p = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  procs.push(p);
  return p;
}
process.on('exit', () => procs.forEach((p) => p.kill('SIGKILL')));

async function startRedisServer(extra: string[] = []): Promise<number> {
  const port = await freePort();
  spawnProc('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra]);
  await waitForPort(port, 10_000);
  return port;
}

async function startDynomite(dir: string, name: string, dataStore: string[]): Promise<number> {
  const port = await freePort();
  const conf = join(dir, `${name}.yml`);
  writeFileSync(conf, ['dyn_o_mite:', `  listen: 127.0.0.1:${port}`, `  dyn_listen: 127.0.0.1:${await freePort()}`,
    `  stats_listen: 127.0.0.1:${await freePort()}`, "  tokens: '101134286'", ...dataStore, ''].join('\n'));
  spawnProc(process.execPath, [new URL('../bin/dynomite.js', import.meta.url).pathname, '-c', conf, '-v', '3']);
  await waitForPort(port, 15_000);
  return port;
}

async function send(c: RawClient, cmds: readonly (readonly string[])[]): Promise<RespValue[]> {
  c.write(Buffer.concat(cmds.map((a) => cmd(...a))));
  return (await c.replies(cmds.length, 120_000)).map((r) => parseResp(r, 0)![0]);
}

const text = (v: RespValue): string => (Buffer.isBuffer(v) ? v.toString('latin1') : String(v));

/** Loads the corpus; returns documents per second, the index complete (FT.INFO num_docs). */
async function load(t: Target, docs: readonly Doc[]): Promise<number> {
  const c = await RawClient.connect(t.port);
  try {
    const create = t.kind === 'redisearch'
      ? ['FT.CREATE', 'idx', 'SCHEMA', ...SCHEMA]
      : ['FT.CREATE', 'idx', 'ON', 'HASH', 'PREFIX', '1', 'doc:', 'SCHEMA', ...SCHEMA];
    const [created] = await send(c, [create]);
    if (text(created!) !== 'OK') throw new Error(`${t.name}: FT.CREATE answered ${text(created!)}`);
    const started = process.hrtime.bigint();
    for (let i = 0; i < docs.length; i += 500) {
      const batch = docs.slice(i, i + 500).map((d) => (t.kind === 'redisearch'
        ? ['FT.ADD', 'idx', d.key, '1.0', 'FIELDS', 'title', d.title, 'body', d.body, 'tags', d.tags, 'price', d.price]
        : ['HSET', d.key, 'title', d.title, 'body', d.body, 'tags', d.tags, 'price', d.price]));
      const replies = await send(c, batch);
      const bad = replies.find((r) => r instanceof Error);
      if (bad) throw new Error(`${t.name}: loading failed: ${(bad as Error).message}`);
    }
    // Ours index after the write is acknowledged: wait until the index holds every document.
    for (;;) {
      const [info] = await send(c, [['FT.INFO', 'idx']]);
      const fields = (info as RespValue[]).map(text);
      if (Number(fields[fields.indexOf('num_docs') + 1]) >= docs.length) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const s = Number(process.hrtime.bigint() - started) / 1e9;
    return docs.length / s;
  } finally {
    c.close();
  }
}

async function total(t: Target, q: { args: string[] }): Promise<number> {
  const c = await RawClient.connect(t.port);
  try {
    const [r] = await send(c, [['FT.SEARCH', 'idx', ...q.args]]);
    if (r instanceof Error) throw new Error(`${t.name}: FT.SEARCH ${q.args.join(' ')}: ${r.message}`);
    // RediSearch 1.2 answers LIMIT 0 0 with the bare count; 2.x and ours with [count].
    return Number(Array.isArray(r) ? r[0] : r);
  } finally {
    c.close();
  }
}

interface Sample { p50us: number; qps: number }

/** Median latency with one query in flight, then throughput with DEPTH in flight. */
async function run(t: Target, q: { args: string[] }): Promise<Sample> {
  const c = await RawClient.connect(t.port);
  try {
    const one = ['FT.SEARCH', 'idx', ...q.args];
    const lat: number[] = [];
    for (let i = 0; i < QUERIES_PER_RUN; i++) {
      const t0 = process.hrtime.bigint();
      await send(c, [one]);
      lat.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < QUERIES_PER_RUN; i += DEPTH) await send(c, Array.from({ length: Math.min(DEPTH, QUERIES_PER_RUN - i) }, () => one));
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    return { p50us: median(lat), qps: QUERIES_PER_RUN / s };
  } finally {
    c.close();
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  if (!existsSync(MODULE)) throw new Error(`${MODULE} is missing: apt-get install redis-redisearch (the RediSearch baseline)`);
  const dir = mkdtempSync(join(os.tmpdir(), 'dyn-bench-search-'));
  const loadAtStart = os.loadavg();
  try {
    const plainRedis = await startRedisServer();
    const targets: Target[] = [
      { name: 'RediSearch 1.2 (module)', port: await startRedisServer(['--loadmodule', MODULE]), kind: 'redisearch' },
      { name: 'dynomite-ts, embedded store', port: await startDynomite(dir, 'memory', ['  data_store: memory']), kind: 'dynomite' },
      { name: 'dynomite-ts over redis', port: await startDynomite(dir, 'redis', ['  data_store: 0', `  servers:\n  - 127.0.0.1:${plainRedis}:1`]), kind: 'dynomite' },
    ];
    const docs = corpus(DOCS);
    const progress = new Progress('bench:search', targets.length + targets.length * QUERIES.length * (1 + ROUNDS));
    const loadRate = new Map<string, number>();
    for (const t of targets) {
      progress.step(`loading ${DOCS} documents into ${t.name}`);
      loadRate.set(t.name, await load(t, docs));
    }
    const mismatches: string[] = [];
    const totals = new Map<string, number>();
    for (const q of QUERIES) {
      for (const t of targets) {
        progress.step(`checking ${q.name} on ${t.name}`);
        const n = await total(t, q);
        totals.set(q.name, totals.get(q.name) ?? n);
        if (n !== totals.get(q.name)) mismatches.push(`${q.name}: ${t.name} counts ${n}, ${targets[0]!.name} ${totals.get(q.name)}`);
      }
    }
    if (mismatches.length > 0) throw new Error(`totals differ, refusing to print figures:\n  ${mismatches.join('\n  ')}`);
    const samples = new Map<string, Sample[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const q of QUERIES) {
        for (const t of targets) {
          progress.step(`round ${round + 1}, ${q.name}, ${t.name}`);
          const key = `${q.name}|${t.name}`;
          samples.set(key, [...(samples.get(key) ?? []), await run(t, q)]);
        }
      }
    }
    progress.finish();

    const base = targets[0]!;
    const header = ['query', 'target', 'hits', `p50 us (1 in flight)`, `q/s (${DEPTH} in flight)`, 'x RediSearch q/s'];
    const tables: ReportTable[] = [];
    for (const q of QUERIES) {
      const med = (t: Target, f: (s: Sample) => number): number => median((samples.get(`${q.name}|${t.name}`) ?? []).map(f));
      const rows = targets.map((t) => [q.name, t.name, String(totals.get(q.name)), med(t, (s) => s.p50us).toFixed(0),
        med(t, (s) => s.qps).toFixed(0), (med(t, (s) => s.qps) / med(base, (s) => s.qps)).toFixed(2)]);
      tables.push({ title: `${q.name}: FT.SEARCH idx ${q.args.join(' ')}`, header, rows, chart: { label: 1, value: 4, unit: 'q/s', better: 'higher' } });
    }
    const loadRows = targets.map((t) => [t.name, loadRate.get(t.name)!.toFixed(0), (loadRate.get(t.name)! / loadRate.get(base.name)!).toFixed(2)]);
    tables.unshift({ title: `indexing ${DOCS} documents (pipelined by 500, until FT.INFO num_docs has them all)`,
      header: ['target', 'docs/s', 'x RediSearch'], rows: loadRows, chart: { label: 0, value: 1, unit: 'docs/s', better: 'higher' } });

    const notes = [
      `${DOCS} documents (title, body, tags, price), ${QUERIES_PER_RUN} queries per run, medians of ${ROUNDS} interleaved rounds`,
      `node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} x ${os.cpus().length}, load average ${loadAtStart.map((l) => l.toFixed(2)).join(' / ')} at start`,
      'RediSearch 1.2.2 indexes FT.ADD documents; ours index HSETs through the datastore (embedded store or keyspace notifications of a plain redis)',
      'hits: the total each target answered (checked equal across targets before timing)',
    ];
    console.log(`bench:search: ${notes[0]}`);
    for (const t of tables) {
      console.log(`\n${t.title}`);
      const widths = t.header.map((h, i) => Math.max(h.length, ...t.rows.map((r) => r[i]!.length)));
      const line = (r: readonly string[]): string => r.map((c, i) => (i < 2 && t.header[i] !== 'docs/s' ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
      console.log(`  ${line(t.header)}`);
      for (const r of t.rows) console.log(`  ${line(r)}`);
    }
    console.log(`\nreport: ${writeReport({ name: 'search', title: 'bench:search', notes, tables })}`);
  } finally {
    procs.forEach((p) => p.kill('SIGKILL'));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
