// RESP framer properties: random pipelines (requests and replies) frame exactly as the oracle decodes
// them, whole and at random splits; random and mutated bytes never trap, never grow memory, always
// give a valid status, and still agree with the oracle.
import { describe, expect, it } from 'vitest';
import { ABI } from '../src/wasm/abi.js';
import { createCore } from '../src/wasm/core.js';
import { encodeCommand } from './oracles/resp.js';
import { feed, frameOnce, oracleFor, res, splitAt, type FeedResult } from './helpers/framing.js';
import { Prng } from './helpers/prng.js';

const core = createCore({ stagingBytes: 48 << 20, connections: 8, mbufCount: 512 });

const NAMES = ['GET', 'set', 'MGET', 'MSET', 'DEL', 'EXISTS', 'EVAL', 'EVALSHA', 'HSET', 'HGET', 'PING', 'INCR',
  'LRANGE', 'SCRIPT', 'MULTI', 'SELECT', 'NOSUCH', 'ZADD', 'TTL', 'expire', 'SUNIONSTORE', 'INFO', 'QUIT'];

function randomArg(rng: Prng, big: boolean): Buffer {
  const r = rng.int(100);
  if (r < 5) return Buffer.alloc(0);
  if (r < 10) return Buffer.from(String(rng.int(5) - 1)); // numkeys-like
  if (big && r < 12) return rng.bytes(rng.int(3 << 20)); // a few MB
  if (r < 40) return rng.bytes(1 + rng.int(40)); // binary
  return Buffer.from(`k${rng.int(1000)}{${rng.int(3) ? 't' : ''}}`);
}

/** A token that survives inline splitting: plain, or quoted without its quote char. */
function inlineToken(rng: Prng, a: Buffer): string {
  const plain = [...a.toString('latin1')].filter((c) => c > ' ' && c !== '"' && c !== "'" && c !== '\x7f').join('');
  if (rng.int(4) === 0) return `"${plain.replace(/\\/g, '')} x"`;
  if (rng.int(4) === 0) return `'${plain.replace(/\\/g, '')}'`;
  return plain || 'x';
}

function randomRequest(rng: Prng, big: boolean): Buffer {
  const name = rng.pick(NAMES);
  const nargs = rng.int(10) === 0 ? rng.int(1001) : rng.int(6);
  const args = [Buffer.from(name), ...Array.from({ length: nargs }, () => randomArg(rng, big))];
  const kind = rng.int(20);
  if (kind === 0) return Buffer.from(rng.int(2) ? '*0\r\n' : '\r\n');
  if (kind < 4 && nargs < 20) {
    const sep = () => rng.pick([' ', '  ', '\t']);
    return Buffer.from(args.map((a) => inlineToken(rng, a)).join(sep()) + (rng.int(2) ? '\r\n' : '\n'), 'latin1');
  }
  return encodeCommand(args);
}

function randomReply(rng: Prng, depth: number): string {
  const r = rng.int(depth > 6 ? 10 : 16);
  const s = () => rng.bytes(rng.int(20)).toString('latin1').replace(/\r/g, '');
  switch (r) {
    case 0: return `+${s()}\r\n`;
    case 1: return `-ERR ${s()}\r\n`;
    case 2: return `:${rng.int(1e6) - 5}\r\n`;
    case 3: return '$-1\r\n';
    case 4: return '_\r\n';
    case 5: return `,${rng.int(100)}.5\r\n`;
    case 6: return `#${rng.int(2) ? 't' : 'f'}\r\n`;
    case 7: return `(${rng.int(1e9)}\r\n`;
    case 8: case 9: { const b = rng.bytes(rng.int(100)).toString('latin1'); return `${rng.pick(['$', '!', '='])}${b.length}\r\n${b}\r\n`; }
    case 10: return '*-1\r\n';
    case 11: { const n = rng.int(5); return `*${n}\r\n` + Array.from({ length: n }, () => randomReply(rng, depth + 1)).join(''); }
    case 12: { const n = rng.int(3); return `%${n}\r\n` + Array.from({ length: 2 * n }, () => randomReply(rng, depth + 1)).join(''); }
    case 13: { const n = rng.int(4); return `${rng.pick(['~', '>'])}${n}\r\n` + Array.from({ length: n }, () => randomReply(rng, depth + 1)).join(''); }
    case 14: return `|1\r\n+a\r\n${randomReply(rng, depth + 1)}${randomReply(rng, depth)}`;
    default: return `*1\r\n`.repeat(rng.int(70)) + ':1\r\n'; // around MAX_DEPTH
  }
}

const strip = (r: FeedResult<unknown>) => ({ records: r.records, error: r.error, consumed: r.consumed, need: r.need });

function randomCuts(rng: Prng, len: number): number[] {
  return Array.from({ length: 1 + rng.int(20) }, () => rng.int(len + 1));
}

describe('RESP framer properties', () => {
  it('random request pipelines equal the oracle, whole and split', () => {
    const rng = new Prng(0x5eed);
    for (let round = 0; round < 60; round++) {
      const msgs = Array.from({ length: 1 + rng.int(40) }, () => randomRequest(rng, round % 10 === 0));
      const buf = Buffer.concat(msgs);
      const expected = strip(oracleFor(core, 'req', buf));
      expect(expected.error, `round ${round}`).toBeUndefined();
      expect(expected.records.length).toBeGreaterThan(0);
      expect(strip(feed(core, 'req', [buf])), `round ${round} whole`).toEqual(expected);
      expect(strip(feed(core, 'req', splitAt(buf, randomCuts(rng, buf.length)))), `round ${round} split`).toEqual(expected);
    }
  });

  it('random replies equal the oracle, whole and split', () => {
    const rng = new Prng(0xbeef);
    let deep = 0;
    for (let round = 0; round < 200; round++) {
      const buf = Buffer.from(Array.from({ length: 1 + rng.int(20) }, () => randomReply(rng, 0)).join(''), 'latin1');
      const expected = strip(oracleFor(core, 'rep', buf));
      if (expected.error) {
        expect(expected.error.code).toBe(ABI.E_TOO_DEEP);
        deep++;
      }
      expect(strip(feed(core, 'rep', [buf])), `round ${round} whole`).toEqual(expected);
      expect(strip(feed(core, 'rep', splitAt(buf, randomCuts(rng, buf.length)))), `round ${round} split`).toEqual(expected);
    }
    expect(deep).toBeGreaterThan(0);
  });
});

describe('RESP framer fuzz', () => {
  const bytesOf = (rng: Prng): Buffer => {
    const alphabet = Buffer.from('*$+-:_,#!=(%~>|\r\n0123456789-1 "\'\\ab\t');
    const n = rng.int(200);
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = rng.int(4) ? alphabet[rng.int(alphabet.length)]! : rng.int(256);
    return b;
  };
  const mutate = (rng: Prng, src: Buffer): Buffer => {
    const b = Buffer.from(src);
    for (let k = 0, n = 1 + rng.int(4); k < n && b.length; k++) {
      const i = rng.int(b.length);
      const op = rng.int(3);
      if (op === 0) b[i] = rng.int(256);
      else if (op === 1) b[i] = rng.pick([13, 10, 42, 36, 45, 48, 57, 34]);
      else return Buffer.concat([b.subarray(0, i), b.subarray(i + 1 + rng.int(8))]);
    }
    return b;
  };

  for (const mode of ['req', 'rep'] as const) {
    it(`${mode}: random and mutated bytes: valid status, no trap, no growth, same as the oracle`, () => {
      const rng = new Prng(mode === 'req' ? 7 : 11);
      const bytesBefore = core.memory.buffer.byteLength;
      const t0 = Date.now();
      let errors = 0;
      for (let round = 0; round < 3000; round++) {
        const valid = mode === 'req'
          ? Buffer.concat(Array.from({ length: 1 + rng.int(4) }, () => randomRequest(rng, false)))
          : Buffer.from(randomReply(rng, 0) + randomReply(rng, 0), 'latin1');
        const buf = round % 3 === 0 ? bytesOf(rng) : mutate(rng, valid);
        core.exports.connReset(5, 1);
        const n = frameOnce(core, mode, 5, buf);
        if (n < 0) {
          expect(n).toBe(ABI.ST_PROTOCOL);
          const pos = res(core, ABI.RES_ERR_POS);
          expect(pos).toBeGreaterThanOrEqual(0);
          expect(pos).toBeLessThanOrEqual(buf.length);
          errors++;
        } else {
          expect(res(core, ABI.RES_CONSUMED)).toBeLessThanOrEqual(buf.length);
        }
        expect(strip(feed(core, mode as 'req', [buf])), `round ${round}: ${JSON.stringify(buf.toString('latin1'))}`)
          .toEqual(strip(oracleFor(core, mode as 'req', buf)));
      }
      expect(errors).toBeGreaterThan(100);
      expect(core.memory.buffer.byteLength).toBe(bytesBefore);
      expect(Date.now() - t0).toBeLessThan(20_000);
    });
  }
});

describe('fast-path caches across calls', () => {
  // The request framer caches the last command shape, name and length headers (assembly/resp-fast.ts).
  // Repeating the same shapes call after call, with the limits changed between calls, must give
  // exactly what the oracle says for each call's own limits.
  it('repeated shapes frame as the oracle says, also when maxBulk changes between calls', () => {
    const c = createCore({ stagingBytes: 1 << 20, connections: 2, mbufCount: 4 });
    const rng = new Prng(4242);
    const shapes = [
      encodeCommand(['GET', 'key:000001']),
      encodeCommand(['SET', 'key:000001', 'x'.repeat(64)]),
      encodeCommand(['MGET', 'a', 'b', 'c', 'dd', 'eee']),
      encodeCommand(['get', 'key:000002']),
      encodeCommand(['SET', 'key:000002', 'y'.repeat(20)]),
    ];
    for (let call = 0; call < 200; call++) {
      const limit = [1 << 20, 64, 20, 10, 9][rng.int(5)]!;
      c.exports.configureMaxBulk(BigInt(limit));
      const parts: Buffer[] = [];
      for (let i = 0, n = 1 + rng.int(40); i < n; i++) parts.push(shapes[rng.int(shapes.length)]!);
      const input = Buffer.concat(parts);
      c.exports.connReset(0, ABI.FRAMER_RESP_REQ);
      const got = feed(c, 'req', [input]);
      const want = oracleFor(c, 'req', input, { maxBulk: limit });
      expect(got.records, `call ${call}, maxBulk ${limit}`).toEqual(want.records);
      expect(got.error, `call ${call}, maxBulk ${limit}`).toEqual(want.error);
    }
  });
});
