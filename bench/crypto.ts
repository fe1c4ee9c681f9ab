// Encrypted dnode payloads: one AES-128-CBC stream over the whole payload (what we did before) against
// Netflix's framing (one stream per 16320-byte piece, src/crypto/dnode-crypto.ts), encrypt + decrypt,
// each done the way the node does it:
//
//   one stream: aesEncrypt (update + final, concatenated), copied into the out buffer; aesDecrypt
//               (concatenated) copied over the ciphertext
//   chunked:    aesEncryptTo straight into the out buffer; aesDecryptInto over the ciphertext
//
//   npx tsx bench/crypto.ts [--time 400]      (ms per task after a 100 ms warm-up; medians, p50)
//
// Before timing, both round-trip every size and the chunked output is checked piece by piece.
//
// One run (2 shared cores, load average 5, so +-5%): 1 KB 7.2 / 7.0 µs, 20 KB 29.7 / 30.7 µs,
// 1 MB 1228 / 1480 µs (one stream / chunked): the pieces cost a cipher context each, 65 for 1 MB.
import os from 'node:os';
import { Bench } from 'tinybench';
import {
  aesCipherLength, aesDecrypt, aesDecryptInto, aesEncrypt, aesEncryptChunked, aesEncryptTo, DEFAULT_AES_CHUNKING, generateAesKey,
} from '../src/crypto/dnode-crypto.js';

const argAfter = (flag: string): string | undefined => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const TASK_MS = Number(argAfter('--time')) || 400;
const SIZES = [1024, 20 * 1024, 1024 * 1024];
const ch = DEFAULT_AES_CHUNKING;
const key = generateAesKey();
const out = Buffer.alloc(2 * 1024 * 1024);

/** An append-only sink over `out`, as OutBuffer copies what it is given. */
const sink = { n: 0, appendBuffer(b: Buffer): void { this.n += b.copy(out, this.n); } };

function oneStream(plain: Buffer): number {
  const c = aesEncrypt(key, plain);
  c.copy(out, 0);
  const p = aesDecrypt(key, out.subarray(0, c.length));
  p.copy(out, 0);
  return p.length;
}

function chunked(plain: Buffer): number {
  sink.n = 0;
  aesEncryptTo(key, plain, ch, sink);
  return aesDecryptInto(key, out.subarray(0, sink.n), ch, out, 0);
}

const plains = SIZES.map((n) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
});
for (const p of plains) {
  if (oneStream(p) !== p.length || !out.subarray(0, p.length).equals(p)) throw new Error(`one stream round trip of ${p.length}`);
  if (chunked(p) !== p.length || !out.subarray(0, p.length).equals(p)) throw new Error(`chunked round trip of ${p.length}`);
  const c = aesEncryptChunked(key, p);
  if (c.length !== aesCipherLength(p.length, ch)) throw new Error(`chunked length of ${p.length}`);
  if (!c.subarray(0, Math.min(c.length, ch.cipher)).equals(aesEncrypt(key, p.subarray(0, ch.plain)))) throw new Error('first piece');
}

const bench = new Bench({ time: TASK_MS, warmupTime: 100, iterations: 10 });
for (const p of plains) {
  bench.add(`one stream ${p.length}`, () => { oneStream(p); });
  bench.add(`chunked ${p.length}`, () => { chunked(p); });
}
await bench.run();
const us = new Map<string, number>();
for (const t of bench.tasks) {
  if (t.result.state !== 'completed') throw new Error(`${t.name}: ${t.result.state}`);
  us.set(t.name, t.result.latency.p50 * 1000);
}
console.log(`AES-128-CBC encrypt + decrypt, node ${process.version}, ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`  ${'payload'.padEnd(10)}${'one stream µs'.padStart(15)}${'chunked µs'.padStart(13)}${'MB/s chunked'.padStart(14)}${'chunked/one'.padStart(13)}`);
for (const p of plains) {
  const a = us.get(`one stream ${p.length}`)!;
  const b = us.get(`chunked ${p.length}`)!;
  console.log(`  ${String(p.length).padEnd(10)}${a.toFixed(1).padStart(15)}${b.toFixed(1).padStart(13)}${(p.length / b).toFixed(0).padStart(14)}${(b / a).toFixed(2).padStart(13)}`);
}
