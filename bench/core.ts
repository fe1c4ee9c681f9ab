// Core benchmark: the WASM framers, token hashes, reply digests and ring lookups against their
// plain-JS baselines, in one run, as aligned tables.
//
//   npm run bench:core                       (builds the WASM first; DYNOMITE_WASM picks a build)
//   tsx bench/core.ts [--time 400] [--only GET]   (ms per task after a 100 ms warm-up; groups)
//   --report <dir>    where the Markdown report + SVG charts go (bench/results); progress on stderr
//
// One table of named samples (SAMPLES) drives every framer row, as llhttp's bench/wasm.ts does.
// Each tinybench task runs a whole batch per iteration (a 1000-message pipeline, 1000 keys ...) and
// the figures are per item: tinybench's per-sample timer overhead would swamp sub-microsecond
// tasks. Figures are medians (p50) of the iteration times.
// Every row prints its ratio to the group's baseline (> 1 = faster than the baseline).
//
// Before anything is timed, every implementation's output is checked once against the WASM
// framer's records (boundaries, argc, key spans, tokens); the bench refuses to print figures if
// any of them differ.
import os from 'node:os';
import RedisParser from 'redis-parser';
import { Bench } from 'tinybench';
import { ABI } from '../src/wasm/abi.js';
import { loadCommandTable } from '../src/wasm/commands.js';
import { createCore, wasmPath } from '../src/wasm/core.js';
import { Framer, type FrameSink } from '../src/wasm/framer.js';
import { decodeMcRequests } from '../test/oracles/memcache.js';
import { decodeRequests, encodeCommand, type OracleOptions } from '../test/oracles/resp.js';
import { jsMurmur } from './js-hash.js';
import { TsRespFramer } from './ts-framer.js';
import { Progress, writeReport, type ReportTable } from './report.js';

const argAfter = (flag: string): string | undefined => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const TASK_MS = Number(argAfter('--time')) || 400;
/** --only <text>: run only the groups whose title contains it (targets are then skipped). */
const ONLY = argAfter('--only');
const PIPELINE = 1000;

const core = createCore({ connections: 8, stagingBytes: 16 << 20, mbufCount: 16 });
const ex = core.exports;
const { u8, i32 } = core;
const table = loadCommandTable(core);
const tsFramer = new TsRespFramer(table.all());
const CONN_RESP = 1;
const CONN_MC = 2;
const CONN_REPLY = 3;
ex.connReset(CONN_RESP, ABI.FRAMER_RESP_REQ);
ex.connReset(CONN_MC, ABI.FRAMER_MC_REQ);
ex.connReset(CONN_REPLY, ABI.FRAMER_RESP_REP);

// ---------------------------------------------------------------- inputs

/** Deterministic xorshift32, so every run frames and hashes the same bytes. */
let seed = 0x9e3779b9;
function rand(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}
const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const randomText = (len: number): string => Array.from({ length: len }, () => ALNUM[rand(ALNUM.length)]).join('');
const key = (i: number): string => `key:${String(i).padStart(6, '0')}`;

/** Bump allocator over staging: every input gets its own bytes, so no task disturbs another. */
let stagingUsed = 0;
function place(bytes: Uint8Array): number {
  const ptr = core.stagingPtr + stagingUsed;
  stagingUsed += (bytes.length + 15) & ~15;
  if (stagingUsed > core.options.stagingBytes) throw new Error('bench inputs exceed staging');
  u8.set(bytes, ptr);
  return ptr;
}

interface Sample {
  name: string;
  proto: 'resp' | 'mc';
  /** Message i of the pipeline. */
  message(i: number): Buffer;
}

/** The framer samples: PIPELINE messages each, framed by one call. */
const SAMPLES: Sample[] = [
  { name: 'GET pipelined', proto: 'resp', message: (i) => encodeCommand(['GET', key(i)]) },
  { name: 'SET 100 B', proto: 'resp', message: (i) => encodeCommand(['SET', key(i), randomText(100)]) },
  { name: 'SET 4 KB', proto: 'resp', message: (i) => encodeCommand(['SET', key(i), randomText(4096)]) },
  {
    name: 'MGET 100 keys', proto: 'resp',
    message: (i) => encodeCommand(['MGET', ...Array.from({ length: 100 }, (_, k) => key(i * 100 + k))]),
  },
  { name: 'memcached get', proto: 'mc', message: (i) => Buffer.from(`get ${key(i)}\r\n`) },
];

// ---------------------------------------------------------------- output checks

function fail(what: string): never {
  console.error(`OUTPUT MISMATCH, no figures printed: ${what}`);
  process.exit(1);
}

const rec = (r: number, field: number): number => i32[(core.recPtr >> 2) + r * ABI.REC_WORDS + field]!;
const keyField = (k: number, field: number): number => i32[(core.keyPtr >> 2) + k * ABI.KEY_WORDS + field]!;

const oracleOptions: OracleOptions = {
  commands: {
    lookup: (name) => table.byName(name.toString('latin1'))?.id ?? 0,
    flags: (id) => table.byId(id)!.flags, arity: (id) => table.byId(id)!.arity,
    firstKey: (id) => table.byId(id)!.firstKey, lastKey: (id) => table.byId(id)!.lastKey,
    keyStep: (id) => table.byId(id)!.step,
  },
  token: (k) => jsMurmur(k, 0, k.length),
  keyCap: core.options.keys,
};

/** Frames buf once with every RESP implementation and compares them with the WASM records. */
function checkResp(s: Sample, buf: Buffer, ptr: number): void {
  const n = ex.respFrameRequests(CONN_RESP, ptr, buf.length);
  if (n !== PIPELINE) fail(`${s.name}: WASM framed ${n} of ${PIPELINE}`);
  if (tsFramer.frame(buf, buf.length) !== n) fail(`${s.name}: ts-framer count ${tsFramer.count}`);
  const oracle = decodeRequests(buf, oracleOptions);
  if (oracle.messages.length !== n) fail(`${s.name}: oracle count ${oracle.messages.length}`);
  for (let r = 0; r < n; r++) {
    const m = oracle.messages[r]!;
    const first = rec(r, ABI.REC_KEY_FIRST);
    const nk = rec(r, ABI.REC_NKEYS);
    const same = rec(r, ABI.REC_START) === tsFramer.start[r] && rec(r, ABI.REC_LEN) === tsFramer.len[r]
      && rec(r, ABI.REC_ARGC) === tsFramer.argc[r] && nk === tsFramer.nkeys[r]
      && m.start === tsFramer.start[r] && m.len === tsFramer.len[r] && m.keys.length === nk
      && (rec(r, ABI.REC_TOKEN) >>> 0) === (nk > 0 ? tsFramer.keyToken[tsFramer.keyFirst[r]!] : 0);
    if (!same) fail(`${s.name}: record ${r} differs`);
    for (let k = 0; k < nk; k++) {
      const t = tsFramer.keyFirst[r]! + k;
      const o = m.keys[k]!;
      if (keyField(first + k, ABI.KEY_OFF) !== tsFramer.keyOff[t] || o.off !== tsFramer.keyOff[t]
        || keyField(first + k, ABI.KEY_LEN) !== tsFramer.keyLen[t] || o.len !== tsFramer.keyLen[t]
        || (keyField(first + k, ABI.KEY_TOKEN) >>> 0) !== tsFramer.keyToken[t] || o.token !== tsFramer.keyToken[t]) {
        fail(`${s.name}: record ${r} key ${k} differs`);
      }
    }
  }
  let replies = 0;
  const parser = new RedisParser({ returnReply: () => { replies++; }, returnError: () => {}, returnBuffers: true });
  parser.execute(buf);
  if (replies !== n) fail(`${s.name}: redis-parser returned ${replies}`);
}

const mcOracle = { routingToken: (k: Uint8Array): number => jsMurmur(k, 0, k.length) };

function checkMc(s: Sample, buf: Buffer, ptr: number): void {
  const n = ex.mcFrameRequests(CONN_MC, ptr, buf.length);
  const d = decodeMcRequests(buf, mcOracle);
  if (n !== PIPELINE || d.records.length !== n) fail(`${s.name}: WASM ${n}, oracle ${d.records.length}`);
  for (let r = 0; r < n; r++) {
    const o = d.records[r]!;
    if (o.start !== rec(r, ABI.REC_START) || o.len !== rec(r, ABI.REC_LEN)
      || o.token >>> 0 !== rec(r, ABI.REC_TOKEN) >>> 0) fail(`${s.name}: record ${r} differs`);
  }
}

// ---------------------------------------------------------------- groups of timed rows

interface Row {
  name: string;
  /** One iteration: `items` items of `bytes` bytes in total. */
  fn: () => void;
  items: number;
  bytes: number;
}

interface Group {
  title: string;
  /** What one item is (msg, key, reply ...). */
  item: string;
  /** Row name every row's ratio is taken against; `alsoVs` adds a second ratio column. */
  baseline: string;
  alsoVs?: string;
  /** Show GB/s instead of MB/s. */
  gigabytes?: boolean;
  rows: Row[];
}

const groups: Group[] = [];

function framerGroup(s: Sample): Group {
  const msgs = Array.from({ length: PIPELINE }, (_, i) => s.message(i));
  const buf = Buffer.concat(msgs);
  const ptr = place(buf);
  const copyPtr = place(buf);
  const rows: Row[] = [];
  const add = (name: string, fn: () => void): void => { rows.push({ name, fn, items: PIPELINE, bytes: buf.length }); };
  if (s.proto === 'resp') {
    checkResp(s, buf, ptr);
    add('wasm respFrameRequests', () => { ex.respFrameRequests(CONN_RESP, ptr, buf.length); });
    add('wasm + copy-in from Buffer', () => { u8.set(buf, copyPtr); ex.respFrameRequests(CONN_RESP, copyPtr, buf.length); });
    add('ts-framer (fast pure TS)', () => { tsFramer.frame(buf, buf.length); });
    add('ts oracle decodeRequests', () => { decodeRequests(buf, oracleOptions); });
    const parser = new RedisParser({ returnReply: () => {}, returnError: () => {}, returnBuffers: true });
    add('redis-parser 3 returnBuffers', () => { parser.execute(buf); });
    return { title: s.name, item: 'msg', baseline: 'ts-framer (fast pure TS)', alsoVs: 'redis-parser 3 returnBuffers', rows };
  }
  checkMc(s, buf, ptr);
  add('wasm mcFrameRequests', () => { ex.mcFrameRequests(CONN_MC, ptr, buf.length); });
  add('wasm + copy-in from Buffer', () => { u8.set(buf, copyPtr); ex.mcFrameRequests(CONN_MC, copyPtr, buf.length); });
  add('ts oracle decodeMcRequests', () => { decodeMcRequests(buf, mcOracle); });
  return { title: s.name, item: 'msg', baseline: 'ts oracle decodeMcRequests', rows };
}

for (const s of SAMPLES) groups.push(framerGroup(s));

// ---- murmur of 1000 keys of 10-30 bytes: batched WASM hashKeys vs jsMurmur
{
  const n = 1000;
  const keys = Array.from({ length: n }, () => Buffer.from(randomText(10 + rand(21))));
  const all = Buffer.concat(keys);
  const base = place(all);
  const entries = place(new Uint8Array(n * ABI.KEY_SIZE));
  const offs = new Int32Array(n);
  const lens = new Int32Array(n);
  const out = new Uint32Array(n);
  for (let i = 0, off = 0; i < n; off += keys[i]!.length, i++) {
    offs[i] = off;
    lens[i] = keys[i]!.length;
    i32[(entries >> 2) + i * ABI.KEY_WORDS + ABI.KEY_OFF] = off;
    i32[(entries >> 2) + i * ABI.KEY_WORDS + ABI.KEY_LEN] = lens[i]!;
  }
  const js = (): void => { for (let i = 0; i < n; i++) out[i] = jsMurmur(all, offs[i]!, lens[i]!); };
  ex.hashKeys(ABI.HASH_MURMUR, base, entries, n);
  js();
  for (let i = 0; i < n; i++) {
    if (i32[(entries >> 2) + i * ABI.KEY_WORDS + ABI.KEY_TOKEN]! >>> 0 !== out[i]) fail(`hashKeys key ${i}`);
    if (ex.hashToken(ABI.HASH_MURMUR, base + offs[i]!, lens[i]!) >>> 0 !== out[i]) fail(`hashToken key ${i}`);
  }
  groups.push({
    title: 'murmur, 1000 keys of 10-30 B', item: 'key', baseline: 'js jsMurmur', rows: [
      { name: 'wasm hashKeys (one call)', fn: () => { ex.hashKeys(ABI.HASH_MURMUR, base, entries, n); }, items: n, bytes: all.length },
      { name: 'wasm hashToken (call per key)', fn: () => { for (let i = 0; i < n; i++) ex.hashToken(ABI.HASH_MURMUR, base + offs[i]!, lens[i]!); }, items: n, bytes: all.length },
      { name: 'js jsMurmur', fn: js, items: n, bytes: all.length },
    ],
  });
}

// ---- reply digests: digest64 (XXH64) vs the fastest plain-JS hash we have (32-bit murmur2)
{
  const rows: Row[] = [];
  const labels: string[] = [];
  for (const [label, size, reps] of [['20 B', 20, 1000], ['1 KB', 1024, 200], ['64 KB', 65536, 4]] as const) {
    const bytes = Buffer.from(randomText(size));
    const ptr = place(bytes);
    labels.push(label);
    rows.push({ name: `wasm digest64 ${label}`, fn: () => { for (let i = 0; i < reps; i++) ex.digest64(ptr, size); }, items: reps, bytes: reps * size });
    rows.push({ name: `js jsMurmur ${label}`, fn: () => { for (let i = 0; i < reps; i++) jsMurmur(bytes, 0, size); }, items: reps, bytes: reps * size });
  }
  if (BigInt.asUintN(64, ex.digest64(0, 0)) !== 0xef46db3751d8e999n) fail('digest64 of the empty input');
  // Each size is its own comparison: split into one group per size so ratios pair the same size.
  for (let g = 0; g < rows.length; g += 2) {
    groups.push({ title: `reply digest ${labels[g / 2]}`, item: 'call', baseline: rows[g + 1]!.name, gigabytes: true, rows: rows.slice(g, g + 2) });
  }
}

// ---- ring lookups: 768 points, 1000 tokens
{
  const points = new Uint32Array(768).map(() => rand(0xffffffff)).sort();
  const tokens = new Uint32Array(1000).map(() => rand(0xffffffff));
  const pp = place(new Uint8Array(points.buffer));
  const tp = place(new Uint8Array(tokens.buffer));
  const op = place(new Uint8Array(tokens.length * 4));
  const jsOut = new Int32Array(tokens.length);
  const jsLookup = (t: number): number => {
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo === points.length ? 0 : lo;
  };
  const js = (): void => { for (let i = 0; i < tokens.length; i++) jsOut[i] = jsLookup(tokens[i]!); };
  js();
  ex.ringLookupBatch(pp, points.length, tp, op, tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    if (i32[(op >> 2) + i] !== jsOut[i] || ex.ringLookup(pp, points.length, tokens[i]!) !== jsOut[i]) fail(`ring token ${i}`);
  }
  const n = tokens.length;
  groups.push({
    title: 'ring lookup, 768 points', item: 'lookup', baseline: 'js binary search', rows: [
      { name: 'wasm ringLookupBatch', fn: () => { ex.ringLookupBatch(pp, points.length, tp, op, n); }, items: n, bytes: 0 },
      { name: 'wasm ringLookup (call each)', fn: () => { for (let i = 0; i < n; i++) ex.ringLookup(pp, points.length, tokens[i]!); }, items: n, bytes: 0 },
      { name: 'js binary search', fn: js, items: n, bytes: 0 },
    ],
  });
}

// ---- command lookup: names of mixed case and length, 1000 per iteration
{
  const names = ['GET', 'set', 'MGET', 'hgetall', 'ZRANGEBYSCORE', 'expire', 'INCRBY', 'lpush', 'EVALSHA', 'xadd']
    .map((s) => Buffer.from(s));
  const ptrs = names.map((b) => place(b));
  const lens = names.map((b) => b.length);
  const bufs = names;
  const lookupFresh = new TsRespFramer(table.all());
  for (let i = 0; i < names.length; i++) {
    const id = ex.cmdLookup(ptrs[i]!, lens[i]!);
    if (id === 0 || table.byId(id)!.name !== lookupFresh.lookup(bufs[i]!, 0, lens[i]!)?.name) fail(`cmdLookup ${names[i]}`);
  }
  const n = 1000;
  const k = names.length;
  groups.push({
    title: 'command lookup', item: 'call', baseline: 'js Map lookup (ts-framer)', rows: [
      { name: 'wasm cmdLookup (call each)', fn: () => { for (let i = 0; i < n; i++) ex.cmdLookup(ptrs[i % k]!, lens[i % k]!); }, items: n, bytes: 0 },
      { name: 'js Map lookup (ts-framer)', fn: () => { for (let i = 0; i < n; i++) lookupFresh.lookup(bufs[i % k]!, 0, lens[i % k]!); }, items: n, bytes: 0 },
    ],
  });
}

// ---- reply framer: 1000 `$64` bulk replies
{
  const one = Buffer.from(`$64\r\n${randomText(64)}\r\n`);
  const buf = Buffer.concat(Array.from({ length: PIPELINE }, () => one));
  const ptr = place(buf);
  const n = ex.respFrameReplies(CONN_REPLY, ptr, buf.length);
  let replies = 0;
  const check = new RedisParser({ returnReply: () => { replies++; }, returnError: () => {}, returnBuffers: true });
  check.execute(buf);
  if (n !== PIPELINE || replies !== PIPELINE) fail(`reply framer ${n}, redis-parser ${replies}`);
  const parser = new RedisParser({ returnReply: () => {}, returnError: () => {}, returnBuffers: true });
  groups.push({
    title: 'reply framer, 1000 x $64', item: 'reply', baseline: 'redis-parser 3 returnBuffers', rows: [
      { name: 'wasm respFrameReplies (+digest)', fn: () => { ex.respFrameReplies(CONN_REPLY, ptr, buf.length); }, items: PIPELINE, bytes: buf.length },
      { name: 'redis-parser 3 returnBuffers', fn: () => { parser.execute(buf); }, items: PIPELINE, bytes: buf.length },
    ],
  });
}

// ---- Framer.feed: one SET whose value spans socket reads (64 KiB each, as Node reads a socket),
// the host's whole per-read path: partial messages held (mbuf chain or JS chunks), staged, framed.
// One group per size; compare builds by running this file in each checkout (DYNOMITE_WASM unset).
{
  const fcore = createCore({ connections: 8 });
  const sink: FrameSink = { onFrames() {} };
  const framer = new Framer(fcore, 'resp-request');
  for (const [label, size] of [['1 KiB', 1024], ['64 KiB', 65536], ['256 KiB', 256 << 10], ['1 MiB', 1 << 20], ['4 MiB', 4 << 20]] as const) {
    const msg = encodeCommand(['SET', 'key:000001', 'v'.repeat(size)]);
    const reads: Buffer[] = [];
    for (let off = 0; off < msg.length; off += 65536) reads.push(msg.subarray(off, Math.min(msg.length, off + 65536)));
    // 1 KiB values: a pipeline of 64 of them per read, so the row measures a full read too.
    const batch = size < 65536 ? Buffer.concat(Array.from({ length: 64 }, () => msg)) : undefined;
    let framed = 0;
    const count: FrameSink = { onFrames(_f, _b, n) { framed += n; } };
    if (batch) framer.feed(batch, count);
    else for (const r of reads) framer.feed(r, count);
    if (framed !== (batch ? 64 : 1) || framer.pendingBytes !== 0) fail(`Framer.feed ${label}: ${framed} messages framed`);
    const items = batch ? 64 : 1;
    groups.push({
      title: `Framer.feed, SET of ${label} in 64 KiB reads`, item: 'msg', baseline: 'Framer.feed (this build)', gigabytes: true, rows: [
        { name: 'Framer.feed (this build)', fn: batch ? () => { framer.feed(batch, sink); } : () => { for (const r of reads) framer.feed(r, sink); }, items, bytes: items * msg.length },
      ],
    });
  }
}

// ---- A payload kept past its request (a hint, a peer write queue entry): today a JS copy
// (Buffer.from of the core bytes); the alternative an mbuf chain in core memory. A chain's bytes
// must still be copied out to a JS-owned Buffer for socket.write (the socket keeps the Buffer
// until the kernel takes it, while the mbufs go back to the pool), so the third row is what a
// chain-backed queue would cost end to end.
{
  const pcore = createCore({ connections: 8, mbufCount: 128 });
  const px = pcore.exports;
  // Views over each mbuf's bytes, as a chain-backed queue would hand them to socket.write (core
  // memory never grows, so views stay valid until the chain is released after the write).
  const chainViews = (head: number, into: Uint8Array[]): number => {
    into.length = 0;
    for (let m = head; m !== 0; m = pcore.i32[(m + ABI.MBUF_NEXT) >> 2]!) {
      into.push(pcore.u8.subarray(m + pcore.i32[(m + ABI.MBUF_POS) >> 2]!, m + pcore.i32[(m + ABI.MBUF_LAST) >> 2]!));
    }
    return head;
  };
  const stage = px.staging_ptr();
  for (const [label, size] of [['1 KiB', 1024], ['16 KiB', 16384], ['256 KiB', 256 << 10], ['1 MiB', 1 << 20]] as const) {
    pcore.buf.fill(0x61, stage, stage + size);
    const at = stage;
    const probe = px.mbufChainFrom(at, size, size);
    if (probe <= 0 || px.mbufChainBytes(probe) !== size) fail(`mbufChainFrom ${label}: ${probe}`);
    px.mbufReleaseChain(probe);
    const out = stage + (2 << 20);
    const views: Uint8Array[] = [];
    groups.push({
      title: `payload kept past its request, ${label}`, item: 'payload', baseline: 'JS copy (Buffer.from)', gigabytes: true, rows: [
        { name: 'JS copy (Buffer.from)', fn: () => { Buffer.from(pcore.buf.subarray(at, at + size)); }, items: 1, bytes: size },
        { name: 'mbuf chain in, released', fn: () => { px.mbufReleaseChain(px.mbufChainFrom(at, size, size)); }, items: 1, bytes: size },
        {
          name: 'mbuf chain in, out to a Buffer', items: 1, bytes: size,
          fn: () => { const h = px.mbufChainFrom(at, size, size); px.mbufChainGather(h, out); Buffer.from(pcore.buf.subarray(out, out + size)); },
        },
        { name: 'mbuf chain in, views out (writev)', items: 1, bytes: size, fn: () => { px.mbufReleaseChain(chainViews(px.mbufChainFrom(at, size, size), views)); } },
      ],
    });
    // The rows must leave the pool as they found it, and the views must hold the payload's bytes.
    const free = px.mbufFreeCount();
    for (const r of groups[groups.length - 1]!.rows) r.fn();
    if (px.mbufFreeCount() !== free) fail(`payload rows ${label}: the pool lost mbufs`);
    views.length = 0;
    const h = chainViews(px.mbufChainFrom(at, size, size), views);
    if (Buffer.concat(views).compare(pcore.buf.subarray(at, at + size)) !== 0) fail(`payload views ${label}: bytes differ`);
    px.mbufReleaseChain(h);
  }
}

// ---------------------------------------------------------------- run and print

/** Median ns per item of every row, by group title and row name. */
const results = new Map<string, number>();
const idOf = (g: Group, row: string): string => `${g.title}\u0000${row}`;

async function measure(g: Group): Promise<void> {
  const bench = new Bench({ time: TASK_MS, warmupTime: 100, iterations: 10 });
  for (const r of g.rows) bench.add(r.name, r.fn);
  await bench.run();
  for (const t of bench.tasks) {
    const res = t.result;
    if (res.state !== 'completed') throw new Error(`${g.title} / ${t.name}: ${res.state}`);
    const row = g.rows.find((r) => r.name === t.name)!;
    results.set(idOf(g, row.name), (res.latency.p50 * 1e6) / row.items);
  }
}

const pad = (s: string, n: number): string => s.padEnd(n);
const lpad = (s: string, n: number): string => s.padStart(n);
const fmtRate = (v: number): string => (v >= 1e6 ? `${(v / 1e6).toFixed(1)} M` : `${(v / 1e3).toFixed(1)} k`);

function print(g: Group): void {
  const base = results.get(idOf(g, g.baseline))!;
  const also = g.alsoVs !== undefined ? results.get(idOf(g, g.alsoVs)) : undefined;
  const bytesHead = g.gigabytes ? 'GB/s' : 'MB/s';
  console.log(`\n${g.title}  (baseline: ${g.baseline})`);
  console.log(`  ${pad('implementation', 34)}${lpad(`ns/${g.item}`, 11)}${lpad(`${g.item}/s`, 13)}${lpad(bytesHead, 10)}${lpad('x base', 9)}${also !== undefined ? lpad('x r-parser', 12) : ''}`);
  for (const r of g.rows) {
    const ns = results.get(idOf(g, r.name))!;
    const bytesPerSec = r.bytes > 0 ? (r.bytes / r.items) / ns * 1e9 : 0;
    const bytes = r.bytes === 0 ? '-' : g.gigabytes ? (bytesPerSec / 1e9).toFixed(2) : (bytesPerSec / 1e6).toFixed(0);
    console.log(`  ${pad(r.name, 34)}${lpad(ns.toFixed(ns < 100 ? 1 : 0), 11)}${lpad(fmtRate(1e9 / ns), 13)}${lpad(bytes, 10)}${lpad(`${(base / ns).toFixed(2)}x`, 9)}${also !== undefined ? lpad(`${(also / ns).toFixed(1)}x`, 12) : ''}`);
  }
}

function printTargets(): void {
  console.log('\ntargets');
  const line = (what: string, ratio: number, want: number): void => {
    console.log(`  ${pad(what, 58)}${lpad(`${ratio.toFixed(2)}x`, 8)}  (>= ${want}x) ${ratio >= want ? 'met' : 'MISSED'}`);
  };
  for (const g of groups.filter((x) => x.alsoVs !== undefined)) {
    const wasm = results.get(idOf(g, 'wasm respFrameRequests'))!;
    line(`${g.title}: wasm vs ts-framer`, results.get(idOf(g, g.baseline))! / wasm, 2);
    line(`${g.title}: wasm vs redis-parser`, results.get(idOf(g, g.alsoVs!))! / wasm, 10);
  }
  const h = groups.find((x) => x.title.startsWith('murmur'))!;
  line('murmur: batched hashKeys vs jsMurmur', results.get(idOf(h, 'js jsMurmur'))! / results.get(idOf(h, 'wasm hashKeys (one call)'))!, 2);
}

async function main(): Promise<void> {
  const [l1, l5] = os.loadavg();
  console.log('dynomite-ts core benchmark');
  console.log(`  node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} x ${os.cpus().length}, load average ${l1!.toFixed(2)} / ${l5!.toFixed(2)} (1 / 5 min) at start`);
  console.log(`  wasm ${wasmPath()}; ${TASK_MS} ms per task after 100 ms warm-up; medians; outputs checked equal`);
  if (l1! > 1.5) console.log('  WARNING: load average above 1.5, figures will be noisy');
  const chosen = groups.filter((g) => ONLY === undefined || g.title.includes(ONLY));
  const progress = new Progress('bench:core', chosen.length);
  for (const g of chosen) {
    progress.step(g.title);
    await measure(g);
  }
  progress.finish();
  for (const g of chosen) print(g);
  if (chosen.length === groups.length) printTargets();
  const tables: ReportTable[] = chosen.map((g) => {
    const base = results.get(idOf(g, g.baseline))!;
    return {
      title: `${g.title} (baseline: ${g.baseline})`,
      header: ['implementation', `ns/${g.item}`, 'x base'],
      rows: g.rows.map((r) => {
        const ns = results.get(idOf(g, r.name))!;
        return [r.name, ns.toFixed(ns < 100 ? 1 : 0), (base / ns).toFixed(2)];
      }),
      chart: { label: 0, value: 1, unit: `ns/${g.item}`, better: 'lower' },
    };
  });
  const report = writeReport({
    name: 'core',
    title: 'bench:core',
    notes: [
      `node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} x ${os.cpus().length}, load average ${l1!.toFixed(2)} / ${l5!.toFixed(2)} at start`,
      `${TASK_MS} ms per task after 100 ms warm-up; medians (p50) per item; outputs checked equal before timing`,
      'x base: the baseline row\'s time over this row\'s (> 1 = faster than the baseline)',
    ],
    tables,
  });
  console.log(`\nreport: ${report}`);
}

await main();
