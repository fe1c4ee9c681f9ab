// The dnode peer header codec: Netflix captures round-trip (frame, then encode the same header),
// malformed headers fail at the right byte, garbage is skipped and counted, and every input gives the
// same records fed whole, one byte at a time or at random split points. A plain-TS decoder
// (test/oracles/dnode.ts decodeDnode) is the oracle for random pipelines.
import { describe, it, expect } from 'vitest';
import { createCore, type Core } from '../src/wasm/core.js';
import { ABI } from '../src/wasm/abi.js';
import { encodeDnodeHeader, readDnodeRecord, DN_DATA_PLACEHOLDER, type DnodeFrame, type DnodeHeader } from '../src/wasm/dnode.js';
import { decodeDnode, encodeDnodeHeaderTS, DN_SEARCH_KEEP } from './oracles/dnode.js';
import { Prng } from './helpers/prng.js';

const core = createCore({ stagingBytes: 1 << 22 });
const ex = core.exports;
const RES = core.resPtr >> 2;
const SLOT = 3;

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

interface Run {
  frames: DnodeFrame[];
  error?: { pos: number; code: number };
  /** Absolute offset of the unconsumed tail, and the last RES_NEED. */
  rest: number;
  need: number;
}

/** Frames `input` as a host would, cut at `cuts`; offsets in the result are absolute. */
function run(input: Uint8Array, cuts: number[] = [], c: Core = core): Run {
  const e = c.exports;
  const res = c.resPtr >> 2;
  e.connReset(SLOT, ABI.FRAMER_DNODE);
  const connAt = e.conn_ptr(SLOT);
  let tail: Buffer = Buffer.alloc(0);
  let abs = 0;
  let need = 0;
  const frames: DnodeFrame[] = [];
  let prev = 0;
  for (const cut of [...cuts, input.length]) {
    const data = Buffer.concat([tail, input.subarray(prev, cut)]);
    prev = cut;
    c.u8.set(data, c.stagingPtr);
    let off = 0;
    for (;;) {
      const saved = c.u8.slice(connAt, connAt + ABI.CONN_SIZE);
      const n = e.dnodeFrame(SLOT, c.stagingPtr + off, data.length - off);
      const consumed = c.i32[res + (ABI.RES_CONSUMED >> 2)]!;
      if (n < 0) {
        expect(n).toBe(ABI.ST_PROTOCOL);
        const error = { pos: abs + off + c.i32[res + (ABI.RES_ERR_POS >> 2)]!, code: c.i32[res + (ABI.RES_ERR_CODE >> 2)]! };
        // The records before the error: frame the complete prefix again from the same state.
        c.u8.set(saved, connAt);
        const k = e.dnodeFrame(SLOT, c.stagingPtr + off, consumed);
        for (let i = 0; i < k; i++) frames.push(shift(readDnodeRecord(c, c.stagingPtr + off, i), abs + off));
        return { frames, error, rest: abs + off + consumed, need: 0 };
      }
      for (let i = 0; i < n; i++) frames.push(shift(readDnodeRecord(c, c.stagingPtr + off, i), abs + off));
      need = c.i32[res + (ABI.RES_NEED >> 2)]!;
      off += consumed;
      if ((c.i32[res + (ABI.RES_FLAGS >> 2)]! & ABI.RES_MORE) === 0 || consumed === 0) break;
    }
    tail = Buffer.from(data.subarray(off));
    abs += off;
  }
  return { frames, rest: abs, need };
}

function shift(f: DnodeFrame, by: number): DnodeFrame {
  return { ...f, start: f.start + by, dataOff: f.dataOff + by, payloadOff: f.payloadOff + by };
}

function oracle(input: Uint8Array): Run {
  const r = decodeDnode(input);
  return r.error ? { frames: r.frames, error: r.error, rest: r.consumed, need: 0 } : { frames: r.frames, rest: r.consumed, need: r.need };
}

function randomCuts(len: number, rng: Prng, count: number): number[] {
  const cuts = new Set<number>();
  for (let i = 0; i < count && len > 1; i++) cuts.add(1 + rng.int(len - 1));
  return [...cuts].sort((a, b) => a - b);
}

const everyByte = (len: number): number[] => Array.from({ length: Math.max(0, len - 1) }, (_, i) => i + 1);

/** Whole, byte by byte and at random cuts: all identical, returns the whole-feed result. */
function runAllWays(input: Uint8Array, seed = 1): Run {
  const whole = run(input);
  expect(run(input, everyByte(input.length)), 'one byte at a time').toEqual(whole);
  const rng = new Prng(seed);
  for (let i = 0; i < 5; i++) expect(run(input, randomCuts(input.length, rng, 1 + rng.int(6))), 'random cuts').toEqual(whole);
  return whole;
}

const REQ = '   $2014$ 77 3 0 1 1 *1 d *21\r\n*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n';
const RSP = '   $2014$ 77 5 0 1 1 *1 d *8\r\n$2\r\nv1\r\n';
const SET_REQ = '   $2014$ 77 3 0 1 1 *1 d *32\r\n*3\r\n$3\r\nSET\r\n$5\r\npeerk\r\n$2\r\npv\r\n';
const SET_RSP = '   $2014$ 77 5 0 1 1 *1 d *5\r\n+OK\r\n';

describe('dnode captures from a live Netflix node', () => {
  it.each([REQ, RSP, SET_REQ, SET_RSP])('frames %j and encodes the same header back', (wire) => {
    const input = bytes(wire);
    const { frames, rest, need } = runAllWays(input);
    expect(frames).toHaveLength(1);
    const f = frames[0]!;
    const headerLen = wire.indexOf('\r\n') + 2;
    expect(f).toMatchObject({ start: 0, len: input.length, headerLen, msgId: 77n, flags: 0, version: 1, sameDc: 1, skipped: 0 });
    expect(f.type).toBe(wire.includes(' 3 0 1 1') ? ABI.DN_TYPE_REQ : ABI.DN_TYPE_RES);
    expect(Buffer.from(f.data).toString()).toBe('d');
    expect(f.payloadOff).toBe(headerLen);
    expect(f.payloadLen).toBe(input.length - headerLen);
    expect(rest).toBe(input.length);
    expect(need).toBe(0);
    const encoded = encodeDnodeHeader(core, f);
    expect(encoded.toString('latin1')).toBe(wire.slice(0, headerLen));
    expect(encodeDnodeHeaderTS(f).toString('latin1')).toBe(wire.slice(0, headerLen));
  });

  it('frames a pipeline of all four with records at their offsets', () => {
    const input = bytes(REQ + RSP + SET_REQ + SET_RSP);
    const { frames } = runAllWays(input, 7);
    expect(frames.map((f) => f.start)).toEqual([0, REQ.length, REQ.length + RSP.length, REQ.length + RSP.length + SET_REQ.length]);
    expect(frames.map((f) => f.type)).toEqual([3, 5, 3, 5]);
    const payload = frames[2]!;
    expect(input.subarray(payload.payloadOff, payload.payloadOff + payload.payloadLen).toString()).toBe('*3\r\n$3\r\nSET\r\n$5\r\npeerk\r\n$2\r\npv\r\n');
  });
});

describe('dnodeEncode', () => {
  const header = (o: Partial<DnodeHeader>): DnodeHeader => ({
    msgId: 1n, type: ABI.DN_TYPE_REQ, flags: 0, version: 1, sameDc: 1, data: DN_DATA_PLACEHOLDER, payloadLen: 0, ...o,
  });

  it.each([
    [header({ msgId: (1n << 64n) - 1n }), '   $2014$ 18446744073709551615 3 0 1 1 *1 d *0\r\n'],
    [header({ msgId: 0n, type: 13, flags: 3, version: 255, sameDc: 0, payloadLen: 123456789 }), '   $2014$ 0 13 3 255 0 *1 d *123456789\r\n'],
    [header({ msgId: 1n << 32n, type: 7, data: bytes('a') }), '   $2014$ 4294967296 7 0 1 1 *1 a *0\r\n'],
    // Netflix never writes an empty data field; its reader walks "*0  *" (the data sits between two spaces)
    [header({ data: new Uint8Array(0), payloadLen: 5 }), '   $2014$ 1 3 0 1 1 *0  *5\r\n'],
    [header({ data: bytes('x y\r\n*9 \r\n'), flags: 1 }), '   $2014$ 1 3 1 1 1 *10 x y\r\n*9 \r\n *0\r\n'],
  ])('writes %o as %j and frames it back', (h, wire) => {
    const encoded = encodeDnodeHeader(core, h);
    expect(encoded.toString('latin1')).toBe(wire);
    expect(encodeDnodeHeaderTS(h).toString('latin1')).toBe(wire);
    const input = Buffer.concat([encoded, Buffer.alloc(h.payloadLen > 100 ? 0 : h.payloadLen, 0x41)]);
    const { frames, need } = runAllWays(input);
    if (h.payloadLen > 100) {
      expect(frames).toEqual([]);
      expect(need).toBe(wire.length + h.payloadLen);
      return;
    }
    expect(frames).toHaveLength(1);
    const { msgId, type, flags, version, sameDc, data, payloadLen } = frames[0]!;
    expect({ msgId, type, flags, version, sameDc, data: Buffer.from(data), payloadLen }).toEqual({ ...h, data: Buffer.from(h.data) });
  });

  it('returns -2 when the header does not fit and -1 for values a Netflix reader cannot take', () => {
    const out = core.stagingPtr;
    const data = core.stagingPtr + 4096;
    core.u8[data] = 0x64;
    const wire = '   $2014$ 77 3 0 1 1 *1 d *21\r\n';
    expect(ex.dnodeEncode(out, wire.length, 77, 0, 3, 0, 1, 1, data, 1, 21)).toBe(wire.length);
    expect(ex.dnodeEncode(out, wire.length - 1, 77, 0, 3, 0, 1, 1, data, 1, 21)).toBe(-2);
    expect(ex.dnodeEncode(out, 0, 77, 0, 3, 0, 1, 1, data, 1, 21)).toBe(-2);
    expect(ex.dnodeEncode(out, 100, 77, 0, 14, 0, 1, 1, data, 1, 21)).toBe(-1); // type
    expect(ex.dnodeEncode(out, 100, 77, 0, 3, 10, 1, 1, data, 1, 21)).toBe(-1); // flags: one digit
    expect(ex.dnodeEncode(out, 100, 77, 0, 3, 0, 1, -1, data, 1, 21)).toBe(-1); // same_dc
    expect(ex.dnodeEncode(out, 100, 77, 0, 3, 0, 1, 1, data, -1, 21)).toBe(-1); // data length
    expect(ex.dnodeEncode(out, 100, 77, 0, 3, 0, 1, 1, data, 1, -5)).toBe(-1); // payload length
    const end = core.memory.buffer.byteLength;
    expect(ex.dnodeEncode(end - 10, 100, 77, 0, 3, 0, 1, 1, data, 1, 21)).toBe(-1); // out of memory
    expect(ex.dnodeEncode(out, 100, 77, 0, 3, 0, 1, 1, end - 1, 2, 21)).toBe(-1);
    expect(() => encodeDnodeHeader(core, header({ flags: 12 }))).toThrow(RangeError);
  });
});

describe('dnodeFrame: tolerance, resync and errors', () => {
  it('takes any number of leading spaces (up to 8 belong to the message) and none', () => {
    for (const lead of [0, 1, 3, 8]) {
      const wire = ' '.repeat(lead) + RSP.trimStart();
      const { frames } = runAllWays(bytes(wire));
      expect(frames).toHaveLength(1);
      expect(frames[0]).toMatchObject({ start: 0, skipped: 0, len: wire.length, headerLen: wire.indexOf('\n') + 1 });
    }
    const { frames } = runAllWays(bytes(' '.repeat(20) + RSP.trimStart()));
    expect(frames[0]).toMatchObject({ start: 12, skipped: 12 });
  });

  it('skips garbage before a magic and counts it in the next record, across calls', () => {
    const junk = 'xx$2013$ $2014 garbage\r\n*1\r\n';
    const input = bytes(junk + REQ + 'zz' + RSP);
    const { frames, rest } = runAllWays(input, 3);
    expect(frames.map((f) => [f.start, f.skipped])).toEqual([[junk.length, junk.length], [junk.length + REQ.length + 2, 2]]);
    expect(rest).toBe(input.length);
  });

  it('keeps the last DN_SEARCH_KEEP bytes while searching, so a split magic is found', () => {
    const garbage = bytes('q'.repeat(100));
    const r = run(garbage);
    expect(r.frames).toEqual([]);
    expect(r.rest).toBe(100 - DN_SEARCH_KEEP);
    expect(run(bytes('abc')).rest).toBe(0);
    const input = Buffer.concat([garbage, bytes(RSP)]);
    for (let cut = 90; cut < 110; cut++) {
      const split = run(input, [cut]);
      expect(split.frames).toHaveLength(1);
      expect(split.frames[0]).toMatchObject({ start: 100, skipped: 100 });
    }
  });

  it('needs the header, then header + payload', () => {
    const r = run(bytes(REQ.slice(0, 20)));
    expect(r).toMatchObject({ frames: [], rest: 0, need: 0 });
    // After the data field the core knows a lower bound: data, " *", a digit, CRLF
    expect(run(bytes(REQ.slice(0, 25))).need).toBe(REQ.indexOf('d *') + 1 + 5);
    const headerLen = REQ.indexOf('\n') + 1;
    expect(run(bytes(REQ.slice(0, headerLen))).need).toBe(REQ.length);
    expect(run(bytes(REQ.slice(0, -1))).need).toBe(REQ.length);
  });

  const M = '   $2014$ ';
  it.each([
    [`${M}77x 3 0 1 1 *1 d *0\r\n`, M.length + 2, ABI.E_BAD_DNODE], // msg id
    [`${M} 77 3 0 1 1 *1 d *0\r\n`, M.length, ABI.E_BAD_DNODE], // two spaces: empty msg id
    [`${M}18446744073709551616 3 0 1 1 *1 d *0\r\n`, M.length + 19, ABI.E_BAD_DNODE], // u64 overflow
    [`${M}1 14 0 1 1 *1 d *0\r\n`, M.length + 2, ABI.E_BAD_DNODE], // type > 13
    [`${M}1 3 10 1 1 *1 d *0\r\n`, M.length + 5, ABI.E_BAD_DNODE], // flags: one digit
    [`${M}1 3 0 1 1 1 d *0\r\n`, M.length + 10, ABI.E_BAD_DNODE], // missing '*'
    [`${M}1 3 0 1 1 *1 dd *0\r\n`, M.length + 14, ABI.E_BAD_DNODE], // data longer than data_len
    [`${M}1 3 0 1 1 *1 d 0\r\n`, M.length + 15, ABI.E_BAD_DNODE], // missing '*' before payload_len
    [`${M}1 3 0 1 1 *1 d *0\n`, M.length + 17, ABI.E_BAD_DNODE], // bare LF
    [`${M}1 3 0 1 1 *1 d *0\rx`, M.length + 18, ABI.E_BAD_DNODE],
    [`${M}1 3 0 1 1 *65537 ${'d'.repeat(65537)} *0\r\n`, M.length + 11, ABI.E_BAD_DNODE], // data over DN_MAX_DATA
    [`${M}1 3 0 1 1 *1 d *536870913\r\n`, M.length + 16, ABI.E_TOO_LARGE], // payload over maxBulk
    [`${M}1 3 0 1 1 *1 d *1234567890123456789\r\n`, M.length + 16 + 18, ABI.E_TOO_LARGE],
    [`$2014$x`, 6, ABI.E_BAD_DNODE],
  ])('rejects malformed header %# at its byte with its code', (wire, pos, code) => {
    const input = bytes(RSP + wire);
    const r = wire.length < 200 ? runAllWays(input) : run(input);
    expect(r.error).toEqual({ pos: RSP.length + pos, code });
    expect(r.frames).toHaveLength(1);
    expect(r.rest).toBe(RSP.length);
    expect(oracle(input)).toEqual(r);
  });

  it('stays failed after a protocol error until the slot is reset', () => {
    ex.connReset(SLOT, ABI.FRAMER_DNODE);
    core.u8.set(bytes(`${M}x`), core.stagingPtr);
    expect(ex.dnodeFrame(SLOT, core.stagingPtr, M.length + 1)).toBe(ABI.ST_PROTOCOL);
    core.u8.set(bytes(RSP), core.stagingPtr);
    expect(ex.dnodeFrame(SLOT, core.stagingPtr, RSP.length)).toBe(ABI.ST_PROTOCOL);
    expect(core.i32[RES + (ABI.RES_ERR_CODE >> 2)]).toBe(ABI.E_BAD_DNODE);
    ex.connReset(SLOT, ABI.FRAMER_DNODE);
    expect(ex.dnodeFrame(SLOT, core.stagingPtr, RSP.length)).toBe(1);
  });

  it('refuses a slot of another mode, a bad slot and a range outside memory', () => {
    ex.connReset(SLOT, ABI.FRAMER_RESP_REQ);
    expect(ex.dnodeFrame(SLOT, core.stagingPtr, 10)).toBe(ABI.ST_BADARG);
    ex.connReset(SLOT, ABI.FRAMER_DNODE);
    expect(ex.dnodeFrame(-1, core.stagingPtr, 10)).toBe(ABI.ST_BADARG);
    expect(ex.dnodeFrame(SLOT, core.stagingPtr, -1)).toBe(ABI.ST_BADARG);
    expect(ex.dnodeFrame(SLOT, core.memory.buffer.byteLength - 4, 8)).toBe(ABI.ST_BADARG);
  });

  it('stops at a full record table with RES_MORE and resumes from RES_CONSUMED', () => {
    const small = createCore({ records: 2, keys: 4, connections: 8, stagingBytes: 1 << 16, mbufCount: 4 });
    const input = bytes('junk' + RSP + RSP + 'x' + RSP + RSP + RSP);
    const r = run(input, [], small);
    expect(r.frames).toEqual(oracle(input).frames);
    expect(r.frames.map((f) => f.skipped)).toEqual([4, 0, 1, 0, 0]);
  });
});

describe('dnodeFrame against the reference decoder', () => {
  function randomMessage(rng: Prng): Buffer {
    const h: DnodeHeader = {
      msgId: (BigInt(rng.next()) << 32n) | BigInt(rng.int(5) === 0 ? 0 : rng.next()),
      type: rng.int(14), flags: rng.int(4), version: rng.int(3), sameDc: rng.int(2),
      data: rng.int(8) === 0 ? Buffer.from(Array.from({ length: rng.int(300) }, () => rng.int(256))) : DN_DATA_PLACEHOLDER,
      payloadLen: rng.int(4) === 0 ? 0 : rng.int(200),
    };
    const payload = Buffer.from(Array.from({ length: h.payloadLen }, () => rng.int(256)));
    return Buffer.concat([encodeDnodeHeaderTS(h), payload]);
  }

  function garbage(rng: Prng): Buffer {
    const pieces = [' ', '$', '$2014', '2014$', '\r\n', 'x', '   $201'];
    const out: string[] = [];
    for (let i = rng.int(6); i > 0; i--) out.push(rng.int(2) ? pieces[rng.int(pieces.length)]! : String.fromCharCode(rng.int(256)));
    return bytes(out.join(''));
  }

  function corrupt(b: Buffer, rng: Prng): Buffer {
    const c = Buffer.from(b);
    const at = rng.int(c.length);
    c[at] = rng.int(2) ? 0x20 : rng.int(256);
    return c;
  }

  it('random pipelines with garbage, corruption and a truncated tail frame as the oracle says', () => {
    const rng = new Prng(0x5eed);
    const before = core.memory.buffer.byteLength;
    for (let iter = 0; iter < 300; iter++) {
      const parts: Buffer[] = [];
      for (let i = 1 + rng.int(6); i > 0; i--) {
        if (rng.int(4) === 0) parts.push(garbage(rng));
        const m = randomMessage(rng);
        parts.push(rng.int(25) === 0 ? corrupt(m, rng) : m);
      }
      let input = Buffer.concat(parts);
      if (rng.int(3) === 0) input = input.subarray(0, rng.int(input.length + 1));
      const want = oracle(input);
      const whole = run(input);
      expect(whole, `iteration ${iter}: ${JSON.stringify(input.toString('latin1').slice(0, 200))}`).toEqual(want);
      expect(run(input, randomCuts(input.length, rng, 1 + rng.int(8)))).toEqual(want);
    }
    expect(core.memory.buffer.byteLength).toBe(before);
  });

  it('random bytes never trap, and a valid message after them is found', () => {
    const rng = new Prng(42);
    for (let iter = 0; iter < 200; iter++) {
      const junk = Buffer.from(Array.from({ length: rng.int(200) }, () => (rng.int(3) === 0 ? 0x24 : rng.int(256))));
      const input = Buffer.concat([junk, bytes(RSP)]);
      const r = run(input);
      expect(r).toEqual(oracle(input));
      if (!r.error && !junk.toString('latin1').includes('$2014$')) {
        expect(r.frames).toHaveLength(1);
        expect(r.frames[0]!.start + r.frames[0]!.len).toBe(input.length);
      }
    }
  });
});
