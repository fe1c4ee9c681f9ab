// The exports the Node host never calls (docs/wasm-abi.md, "For other hosts"): the page marks
// exactly these, src/ calls none of them, and each is held here, through the raw exports (no TS
// wrapper), to the golden hash vectors or to a plain-TS oracle.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ABI, HASH_NAMES } from '../src/wasm/abi.js';
import { loadCommandTable } from '../src/wasm/commands.js';
import { createCore } from '../src/wasm/core.js';
import { MC_COMMAND_FLAGS, MC_CMD_COUNT } from '../src/wasm/memcache.js';
import { Ring } from '../src/route/ring.js';
import { encodeDnodeHeaderTS } from './oracles/dnode.js';
import { Prng } from './helpers/prng.js';

const OTHER_HOSTS = ['cmdLookup', 'mcCmdFlags', 'hashKeys', 'ringLookup', 'ringLookupBatch', 'digest64', 'memEqual', 'dnodeEncode'];

const core = createCore({ stagingBytes: 1 << 20, records: 16, keys: 4096, connections: 4, mbufCount: 0 });
const ex = core.exports;
const u32 = new Uint32Array(core.u8.buffer);
const i32 = core.i32;
const S = core.stagingPtr;

/** Every .ts file of src/ but the ABI mirror (which names every export). */
function srcFiles(dir = fileURLToPath(new URL('../src', import.meta.url))): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? srcFiles(p) : p.endsWith('.ts') && !p.endsWith(join('wasm', 'abi.ts')) ? [p] : [];
  });
}

describe('exports for other hosts', () => {
  it('docs/wasm-abi.md marks exactly these "for other hosts"', () => {
    const doc = readFileSync(new URL('../docs/wasm-abi.md', import.meta.url), 'utf8');
    const section = /^## For other hosts\n([\s\S]*?)^## /m.exec(doc)?.[1] ?? '';
    const marked = [...section.matchAll(/^- `(\w+)`/gm)].map((m) => m[1]);
    expect(marked.sort()).toEqual([...OTHER_HOSTS].sort());
  });

  it('are called nowhere in src/ (dnodeEncode only by encodeDnodeHeader, which src/ does not call)', () => {
    const calls: string[] = [];
    for (const f of srcFiles()) {
      const text = readFileSync(f, 'utf8').split('\n').filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l)).join('\n');
      for (const name of OTHER_HOSTS) {
        if (!new RegExp(`\\.${name}\\b`).test(text)) continue;
        if (name === 'dnodeEncode' && f.endsWith(join('wasm', 'dnode.ts'))) continue;
        calls.push(`${name} in ${f}`);
      }
      if (!f.endsWith(join('wasm', 'dnode.ts')) && /\bencodeDnodeHeader\(/.test(text)) calls.push(`encodeDnodeHeader in ${f}`);
    }
    expect(calls).toEqual([]);
  });
});

interface Vector { algo: string; key_hex: string; token_hex: string }
const VECTORS = JSON.parse(readFileSync(new URL('./fixtures/reference/hashkit_vectors.json', import.meta.url), 'utf8')) as Vector[];

describe('routingToken and hashKeys, against the golden vectors (Netflix hashkit)', () => {
  it('give word 0 of every vector for its hash, no hash tag', () => {
    let checked = 0;
    for (const [algo, name] of HASH_NAMES.entries()) {
      const vs = VECTORS.filter((v) => v.algo === name);
      ex.configureHash(algo, -1, -1);
      const keys = vs.map((v) => Buffer.from(v.key_hex, 'hex'));
      const want = vs.map((v) => Number.parseInt(v.token_hex.slice(0, 8), 16));
      // Keys one after another at S, one KEY entry each (KEY_OFF relative to the base) after them.
      let at = 0;
      const table = S + (1 << 19);
      keys.forEach((k, i) => {
        core.u8.set(k, S + at);
        const e = (table >> 2) + i * ABI.KEY_WORDS;
        i32[e + ABI.KEY_OFF] = at;
        i32[e + ABI.KEY_LEN] = k.length;
        at += k.length;
      });
      ex.hashKeys(algo, S, table, keys.length);
      const batch = keys.map((_, i) => i32[(table >> 2) + i * ABI.KEY_WORDS + ABI.KEY_TOKEN]! >>> 0);
      let off = 0;
      const single = keys.map((k) => {
        const t = ex.routingToken(S + off, k.length) >>> 0;
        off += k.length;
        return t;
      });
      expect({ name, batch }).toEqual({ name, batch: want });
      expect({ name, single }).toEqual({ name, single: want });
      checked += vs.length;
    }
    ex.configureHash(ABI.HASH_MURMUR, -1, -1);
    expect(checked).toBe(VECTORS.length);
  });

  it('routingToken hashes only the hash_tag span', () => {
    ex.configureHash(ABI.HASH_MURMUR, '{'.charCodeAt(0), '}'.charCodeAt(0));
    const put = (s: string): number => {
      core.u8.set(Buffer.from(s), S);
      return ex.routingToken(S, s.length) >>> 0;
    };
    expect(put('user:{42}:name')).toBe(put('42'));
    expect(put('user:{}:name')).toBe(put('user:{}:name'));
    ex.configureHash(ABI.HASH_MURMUR, -1, -1);
    expect(put('user:{42}:name')).not.toBe(put('42'));
  });
});

describe('ringLookup and ringLookupBatch, against the Node host\'s own TS ring', () => {
  it('give the point index the TS Ring picks, for random rings and tokens', () => {
    const rng = new Prng(7);
    for (let round = 0; round < 20; round++) {
      const n = 1 + rng.int(300);
      const ring = Ring.build(Array.from({ length: n }, (_, i) => ({ token: rng.next(), node: i })));
      const tokens = [0, 0xFFFFFFFF, ...Array.from({ length: 200 }, () => rng.next()), ...Array.from(ring.points.slice(0, 10))];
      u32.set(ring.points, S >> 2);
      const tp = S + (1 << 18);
      const out = S + (1 << 19);
      u32.set(tokens, tp >> 2);
      ex.ringLookupBatch(S, ring.size, tp, out, tokens.length);
      const want = tokens.map((t) => ring.pointIndexOf(t));
      expect(Array.from(i32.subarray(out >> 2, (out >> 2) + tokens.length))).toEqual(want);
      expect(tokens.map((t) => ex.ringLookup(S, ring.size, t | 0))).toEqual(want);
    }
    expect(ex.ringLookup(S, 0, 5)).toBe(-1);
  });
});

describe('digest64 and memEqual', () => {
  it('digest64 is XXH64 (seed 0): the published vectors, and digestLo/digestHi give the same 64 bits', () => {
    const xxh = (s: string): bigint => {
      core.u8.set(Buffer.from(s, 'latin1'), S);
      const d = BigInt.asUintN(64, ex.digest64(S, s.length));
      const lo = ex.digestLo(S, s.length) >>> 0;
      const hi = ex.digestHi() >>> 0;
      expect((BigInt(hi) << 32n) | BigInt(lo)).toBe(d);
      return d;
    };
    expect(xxh('')).toBe(0xEF46DB3751D8E999n);
    expect(xxh('a')).toBe(0xD24EC4F1A98C6E5Bn);
    expect(xxh('abc')).toBe(0x44BC2CF5AD770999n);
  });

  it('memEqual agrees with Buffer.equals at every length and first differing byte', () => {
    const rng = new Prng(11);
    const a = S;
    const b = S + 4096;
    for (let len = 0; len <= 80; len++) {
      const bytes = Buffer.from(Array.from({ length: len }, () => rng.int(256)));
      core.u8.set(bytes, a);
      core.u8.set(bytes, b);
      expect(ex.memEqual(a, b, len), `len ${len}`).toBe(1);
      for (let pos = 0; pos < len; pos++) {
        core.u8[b + pos] ^= 1;
        const same = Buffer.from(core.u8.subarray(a, a + len)).equals(Buffer.from(core.u8.subarray(b, b + len)));
        expect(ex.memEqual(a, b, len), `len ${len} pos ${pos}`).toBe(same ? 1 : 0);
        core.u8[b + pos] ^= 1;
      }
    }
  });
});

describe('dnodeEncode, against the plain-TS encoder', () => {
  it('writes the header bytes Netflix writes, for edge and random headers; -2 when it does not fit', () => {
    const rng = new Prng(5);
    const headers = [
      { msgId: 0n, type: 0, flags: 0, version: 0, sameDc: 0, data: Buffer.alloc(0), payloadLen: 0 },
      { msgId: (1n << 64n) - 1n, type: ABI.DN_TYPE_GOSSIP_SHUTDOWN, flags: 9, version: 999, sameDc: 9, data: Buffer.from('d'), payloadLen: 0x7fffffff },
      ...Array.from({ length: 50 }, () => ({
        msgId: (BigInt(rng.next()) << 32n) | BigInt(rng.next()), type: rng.int(14), flags: rng.int(10), version: rng.int(1000),
        sameDc: rng.int(2), data: Buffer.from(Array.from({ length: rng.int(40) }, () => rng.int(256))), payloadLen: rng.int(1 << 30),
      })),
    ];
    const data = S;
    const out = S + 8192;
    for (const h of headers) {
      core.u8.set(h.data, data);
      const n = ex.dnodeEncode(out, 4096, Number(h.msgId & 0xffffffffn), Number(h.msgId >> 32n), h.type, h.flags, h.version, h.sameDc, data, h.data.length, h.payloadLen);
      const want = encodeDnodeHeaderTS(h);
      expect(Buffer.from(core.u8.subarray(out, out + Math.max(n, 0))).toString('latin1')).toBe(want.toString('latin1'));
      expect(ex.dnodeEncode(out, want.length - 1, Number(h.msgId & 0xffffffffn), Number(h.msgId >> 32n), h.type, h.flags, h.version, h.sameDc, data, h.data.length, h.payloadLen)).toBe(-2);
    }
    expect(ex.dnodeEncode(out, 4096, 1, 0, 14, 0, 1, 1, data, 0, 0)).toBe(-1);
  });
});

describe('cmdLookup and mcCmdFlags, against the tables the Node host reads', () => {
  it('cmdLookup finds every command by its name in any case, and nothing else', () => {
    const table = loadCommandTable(core);
    const look = (s: string): number => {
      core.u8.set(Buffer.from(s, 'latin1'), S);
      return ex.cmdLookup(S, s.length);
    };
    const wrong = table.all().filter((c) => look(c.name) !== c.id || look(c.name.toLowerCase()) !== c.id).map((c) => c.name);
    expect(wrong).toEqual([]);
    expect([look('GETX'), look('GE'), look(''), look('x'.repeat(33))]).toEqual([0, 0, 0, 0]);
  });

  it('mcCmdFlags gives the CF_* flags the JS mirror holds, for every memcached command id', () => {
    const flags = Array.from({ length: MC_CMD_COUNT }, (_, id) => ex.mcCmdFlags(id));
    expect(flags).toEqual([...MC_COMMAND_FLAGS]);
  });
});
