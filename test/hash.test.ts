import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { jsMurmur, jsOneAtATime } from '../bench/js-hash.js';
import { ABI, HASH_NAMES } from '../src/wasm/abi.js';
import { createCore } from '../src/wasm/core.js';
import { Prng } from './helpers/prng.js';

// The token hashes against the reference vectors (computed by Netflix's C functions), plus the
// properties the router relies on: hashToken is word 0 of hashFull, the batch path equals the
// per-key path, hash_tag spans, no reads outside the key, and the JS bench baseline agrees.

interface Vector { algo: string; key_hex: string; token_hex: string }

const REF = new URL('./fixtures/reference/', import.meta.url);
function loadVectors(file: string): Vector[] {
  return JSON.parse(readFileSync(new URL(file, REF), 'utf8')) as Vector[];
}
const TEXT_VECTORS = loadVectors('hashkit_vectors.json');
const BINARY_VECTORS = loadVectors('hashkit_vectors_binary.json');

const core = createCore({ stagingBytes: 1 << 20, records: 16, keys: 16, connections: 4, mbufCount: 0 });
const ex = core.exports;
const KEY_AT = core.stagingPtr; // key bytes
const OUT_AT = core.stagingPtr + (1 << 19); // hashFull words
const TABLE_AT = core.stagingPtr + (3 << 18); // KEY entries for hashKeys
const view = new DataView(core.u8.buffer);

function algoId(name: string): number {
  const id = (HASH_NAMES as readonly string[]).indexOf(name);
  if (id < 0) throw new Error(`unknown algo in vectors: ${name}`);
  return id;
}

function put(key: Uint8Array, at = KEY_AT): number {
  core.u8.set(key, at);
  return at;
}

/** hashFull formatted as the vectors' token_hex. */
function fullHex(algo: number, key: Uint8Array): string {
  const n = ex.hashFull(algo, put(key), key.length, OUT_AT);
  let s = '';
  for (let i = 0; i < n; i++) s += view.getUint32(OUT_AT + 4 * i, true).toString(16).padStart(8, '0');
  return s;
}

function token(algo: number, key: Uint8Array): number {
  return ex.hashToken(algo, put(key), key.length) >>> 0;
}

function routing(key: Uint8Array): number {
  return ex.routingToken(put(key), key.length) >>> 0;
}

const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');

function randomKeys(seed: number, count: number, maxLen: number, alphabet?: string): Uint8Array[] {
  const rng = new Prng(seed);
  const keys: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const k = new Uint8Array(rng.int(maxLen + 1));
    for (let j = 0; j < k.length; j++) {
      k[j] = alphabet ? alphabet.charCodeAt(rng.int(alphabet.length)) : rng.int(256);
    }
    keys.push(k);
  }
  return keys;
}

beforeEach(() => ex.configureHash(ABI.HASH_MURMUR, -1, -1));

describe('token hashes: reference vectors', () => {
  for (const [file, vectors] of [['text', TEXT_VECTORS], ['binary', BINARY_VECTORS]] as const) {
    it(`reproduces all ${vectors.length} ${file} vectors through hashFull`, () => {
      const wrong: string[] = [];
      for (const v of vectors) {
        const got = fullHex(algoId(v.algo), Buffer.from(v.key_hex, 'hex'));
        if (got !== v.token_hex) wrong.push(`${v.algo}(${v.key_hex.slice(0, 32)}) = ${got}, want ${v.token_hex}`);
      }
      expect(wrong).toEqual([]);
    });
  }

  it('covers all 1739 vectors and all 14 algorithms', () => {
    expect(TEXT_VECTORS.length + BINARY_VECTORS.length).toBe(1739);
    expect(new Set(TEXT_VECTORS.map((v) => v.algo))).toEqual(new Set(HASH_NAMES));
  });

  it('hashToken is word 0 of hashFull for every vector', () => {
    for (const v of [...TEXT_VECTORS, ...BINARY_VECTORS]) {
      const key = Buffer.from(v.key_hex, 'hex');
      expect(token(algoId(v.algo), key), `${v.algo}(${v.key_hex})`).toBe(parseInt(v.token_hex.slice(0, 8), 16));
    }
  });

  it('returns the documented word counts', () => {
    const counts = HASH_NAMES.map((_, id) => ex.hashFull(id, KEY_AT, 3, OUT_AT));
    expect(counts).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4, 2]);
  });
});

describe('token hashes: independent checks', () => {
  it('md5 token is the first 4 digest bytes little-endian, at every padding boundary', () => {
    for (const key of randomKeys(7, 300, 200)) {
      const d = createHash('md5').update(key).digest();
      expect(token(ABI.HASH_MD5, key), `len ${key.length}`).toBe(d.readUInt32LE(0));
    }
    for (let len = 50; len <= 130; len++) {
      const key = new Uint8Array(len).fill(0x61 + (len % 26));
      expect(token(ABI.HASH_MD5, key), `len ${len}`).toBe(createHash('md5').update(key).digest().readUInt32LE(0));
    }
  });

  it('crc32a is the standard CRC-32 and crc32 its libmemcached 15-bit slice', () => {
    expect(token(ABI.HASH_CRC32A, bytes('123456789'))).toBe(0xcbf43926);
    expect(token(ABI.HASH_CRC32, bytes('123456789'))).toBe((0xcbf43926 >>> 16) & 0x7fff);
  });

  it('fnv1a_32 matches the canonical FNV-1a 32 vectors', () => {
    expect(token(ABI.HASH_FNV1A_32, bytes(''))).toBe(0x811c9dc5);
    expect(token(ABI.HASH_FNV1A_32, bytes('a'))).toBe(0xe40c292c);
    expect(token(ABI.HASH_FNV1A_32, bytes('foobar'))).toBe(0xbf9cf968);
  });

  it('fnv1_64 is the low word of the real 64-bit FNV-1', () => {
    for (const key of randomKeys(11, 50, 40)) {
      let h = 0xcbf29ce484222325n;
      for (const b of key) h = ((h * 0x100000001b3n) & 0xffffffffffffffffn) ^ BigInt(b);
      expect(token(ABI.HASH_FNV1_64, key)).toBe(Number(h & 0xffffffffn));
    }
  });

  it('one_at_a_time adds bytes >= 0x80 sign-extended', () => {
    // Unsigned bytes would give a different value for 0xff; the C code adds (uint32_t)(char)0xff.
    expect(token(ABI.HASH_ONE_AT_A_TIME, Uint8Array.of(0xff))).toBe(jsOneAtATime(Uint8Array.of(0xff), 0, 1));
    expect(token(ABI.HASH_ONE_AT_A_TIME, Uint8Array.of(0xff))).not.toBe(token(ABI.HASH_ONE_AT_A_TIME, Uint8Array.of(0x7f)));
  });

  it('empty keys: hsieh and jenkins give 0 (the C code never sets the token), the rest hash', () => {
    const empty = new Uint8Array(0);
    expect(token(ABI.HASH_HSIEH, empty)).toBe(0);
    expect(token(ABI.HASH_JENKINS, empty)).toBe(0);
    expect(token(ABI.HASH_MURMUR, empty)).toBe(0); // (0xdeadbeef * 0) ^ 0 mixed is 0
    expect(token(ABI.HASH_MD5, empty)).toBe(0xd98c1dd4);
  });
});

describe('token hashes: robustness', () => {
  it('unknown algo ids give token 0 and 0 words, writing nothing', () => {
    for (const algo of [-1, 14, 15, 1000, 0x7fffffff, -0x80000000]) {
      view.setUint32(OUT_AT, 0xa5a5a5a5, true);
      expect(ex.hashToken(algo, put(bytes('key')), 3), `algo ${algo}`).toBe(0);
      expect(ex.hashFull(algo, KEY_AT, 3, OUT_AT), `algo ${algo}`).toBe(0);
      expect(view.getUint32(OUT_AT, true)).toBe(0xa5a5a5a5);
    }
  });

  it('a negative length hashes as the empty key', () => {
    for (let id = 0; id < ABI.HASH_COUNT; id++) {
      expect(ex.hashToken(id, KEY_AT, -5) >>> 0, HASH_NAMES[id]).toBe(token(id, new Uint8Array(0)));
    }
  });

  it('reads nothing past the key: keys ending at the last byte of memory hash without trapping', () => {
    const top = core.u8.length;
    for (let len = 0; len <= 70; len++) {
      const key = Uint8Array.from({ length: len }, (_, i) => (i * 37 + len) & 0xff);
      const at = top - len;
      const saved = core.u8.slice(at, top);
      core.u8.set(key, at);
      for (let id = 0; id < ABI.HASH_COUNT; id++) {
        const atEnd = ex.hashToken(id, at, len) >>> 0;
        core.u8.set(saved, at);
        expect(atEnd, `${HASH_NAMES[id]} len ${len}`).toBe(token(id, key));
        core.u8.set(key, at);
      }
      core.u8.set(saved, at);
    }
  });

  it('depends only on the key bytes, not on the bytes around them or the alignment', () => {
    const key = bytes('netflix:dynomite:rs-0123456789');
    for (let id = 0; id < ABI.HASH_COUNT; id++) {
      const want = fullHex(id, key);
      for (let shift = 1; shift < 8; shift++) {
        core.u8.fill(0xee, KEY_AT, KEY_AT + 64);
        core.u8.set(key, KEY_AT + shift);
        const n = ex.hashFull(id, KEY_AT + shift, key.length, OUT_AT);
        let got = '';
        for (let i = 0; i < n; i++) got += view.getUint32(OUT_AT + 4 * i, true).toString(16).padStart(8, '0');
        expect(got, `${HASH_NAMES[id]} shift ${shift}`).toBe(want);
      }
    }
  });
});

describe('hash_tag routing span', () => {
  const braces = (): void => ex.configureHash(ABI.HASH_MURMUR, '{'.charCodeAt(0), '}'.charCodeAt(0));
  const murmurOf = (s: string): number => token(ABI.HASH_MURMUR, bytes(s));

  it('without a tag the whole key is hashed', () => {
    expect(routing(bytes('{user1000}.following'))).toBe(murmurOf('{user1000}.following'));
  });

  it('keys sharing a tag share a token', () => {
    braces();
    expect(routing(bytes('{user1000}.following'))).toBe(murmurOf('user1000'));
    expect(routing(bytes('{user1000}.followers'))).toBe(routing(bytes('{user1000}.following')));
    expect(routing(bytes('x{user1000}'))).toBe(murmurOf('user1000'));
  });

  const cases: Array<[string, string]> = [
    ['foo{}{bar}', 'foo{}{bar}'], // the first tag is empty: whole key, no retry
    ['foo{{bar}}', '{bar'], // first open, first close after it
    ['foo{bar', 'foo{bar'], // no close: whole key
    ['foo}bar{', 'foo}bar{'], // close only before the open
    ['{}', '{}'],
    ['{a}', 'a'],
    ['a{b}c{d}e', 'b'],
    ['', ''],
    ['{', '{'],
    ['}{x}', 'x'],
  ];
  for (const [key, span] of cases) {
    it(`"${key}" hashes "${span}"`, () => {
      braces();
      expect(routing(bytes(key))).toBe(murmurOf(span));
    });
  }

  it('two equal tag characters delimit like quotes ("$$")', () => {
    ex.configureHash(ABI.HASH_MURMUR, 0x24, 0x24);
    expect(routing(bytes('a$b$c'))).toBe(murmurOf('b'));
    expect(routing(bytes('$user$.x'))).toBe(routing(bytes('y.$user$')));
    expect(routing(bytes('$$x$'))).toBe(murmurOf('$$x$')); // first pair is empty: whole key
    expect(routing(bytes('a$b'))).toBe(murmurOf('a$b')); // a lone $: whole key
  });

  it('finds tags beyond the SIMD chunk size and in binary keys', () => {
    braces();
    const pad = 'p'.repeat(37);
    expect(routing(bytes(`${pad}{tag}${pad}`))).toBe(murmurOf('tag'));
    expect(routing(bytes(`${pad}{${'t'.repeat(20)}}`))).toBe(murmurOf('t'.repeat(20)));
    expect(routing(Uint8Array.of(0xff, 0x7b, 0x00, 0x80, 0x7d, 0xfe))).toBe(token(ABI.HASH_MURMUR, Uint8Array.of(0x00, 0x80)));
    // 0xff must not match a tag byte through sign extension in the vector compare.
    ex.configureHash(ABI.HASH_MURMUR, 0xff, 0xfe);
    expect(routing(bytes(`${pad}\xffab\xfe`))).toBe(murmurOf('ab'));
  });

  it('routingToken uses the configured algorithm', () => {
    ex.configureHash(ABI.HASH_CRC32A, 0x7b, 0x7d);
    expect(routing(bytes('{123456789}.x'))).toBe(0xcbf43926);
    ex.configureHash(ABI.HASH_MURMUR3, -1, -1);
    expect(routing(bytes('abc'))).toBe(0x5d6701e8);
    ex.configureHash(99, -1, -1);
    expect(routing(bytes('abc'))).toBe(0);
  });

  it('a half-configured or out-of-range tag means no tag', () => {
    ex.configureHash(ABI.HASH_MURMUR, 0x7b, -1);
    expect(routing(bytes('{a}\xff'))).toBe(murmurOf('{a}\xff'));
    ex.configureHash(ABI.HASH_MURMUR, 0x17b, 0x7d);
    expect(routing(bytes('{a}'))).toBe(murmurOf('{a}'));
  });
});

describe('hashKeys (batch path)', () => {
  /** Lays keys out back to back at KEY_AT and writes their KEY entries at TABLE_AT. */
  function layout(keys: Uint8Array[]): void {
    let off = 0;
    keys.forEach((k, i) => {
      core.u8.set(k, KEY_AT + off);
      const e = TABLE_AT + i * ABI.KEY_SIZE;
      view.setInt32(e, off, true);
      view.setInt32(e + 4, k.length, true);
      view.setUint32(e + 8, 0xdeadbeef, true);
      view.setInt32(e + 12, i, true);
      off += k.length + (i % 3);
    });
  }
  const tokenAt = (i: number): number => view.getUint32(TABLE_AT + i * ABI.KEY_SIZE + 8, true);

  const tags: Array<[string, number, number]> = [['no tag', -1, -1], ['{}', 0x7b, 0x7d], ['$$', 0x24, 0x24]];
  for (const [tagName, open, close] of tags) {
    it(`equals the per-key routing token for every algo (${tagName})`, () => {
      const keys = randomKeys(1234, 300, 48, 'ab{}$xyz0');
      for (let id = -1; id <= ABI.HASH_COUNT; id++) {
        ex.configureHash(id, open, close);
        layout(keys);
        ex.hashKeys(id, KEY_AT, TABLE_AT, keys.length);
        let off = 0;
        keys.forEach((k, i) => {
          const want = ex.routingToken(KEY_AT + off, k.length) >>> 0;
          expect(tokenAt(i), `${HASH_NAMES[id] ?? id} key ${i}`).toBe(want);
          expect(view.getInt32(TABLE_AT + i * ABI.KEY_SIZE + 12, true)).toBe(i); // ARG untouched
          off += k.length + (i % 3);
        });
      }
    });
  }

  it('writes only the n entries it is given', () => {
    const keys = randomKeys(5, 10, 20);
    layout(keys);
    ex.hashKeys(ABI.HASH_MURMUR, KEY_AT, TABLE_AT, 4);
    expect(tokenAt(3)).toBe(token(ABI.HASH_MURMUR, keys[3]!));
    expect(tokenAt(4)).toBe(0xdeadbeef);
    ex.hashKeys(ABI.HASH_MURMUR, KEY_AT, TABLE_AT, 0);
    ex.hashKeys(ABI.HASH_MURMUR, KEY_AT, TABLE_AT, -3);
    expect(tokenAt(4)).toBe(0xdeadbeef);
  });
});

describe('JS bench baseline (bench/js-hash.ts)', () => {
  it('reproduces the murmur and one_at_a_time vectors', () => {
    for (const v of [...TEXT_VECTORS, ...BINARY_VECTORS]) {
      const key = Buffer.from(v.key_hex, 'hex');
      const want = parseInt(v.token_hex, 16);
      if (v.algo === 'murmur') expect(jsMurmur(key, 0, key.length), v.key_hex).toBe(want);
      if (v.algo === 'one_at_a_time') expect(jsOneAtATime(key, 0, key.length), v.key_hex).toBe(want);
    }
  });

  it('equals WASM on random keys at random offsets', () => {
    const rng = new Prng(99);
    const buf = Buffer.alloc(4096);
    for (const key of randomKeys(42, 2000, 80)) {
      const off = rng.int(1000);
      buf.set(key, off);
      expect(jsMurmur(buf, off, key.length)).toBe(token(ABI.HASH_MURMUR, key));
      expect(jsOneAtATime(buf, off, key.length)).toBe(token(ABI.HASH_ONE_AT_A_TIME, key));
    }
  });
});
