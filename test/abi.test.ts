import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ABI, REQUIRED_FUNCTIONS } from '../src/wasm/abi.js';
import { createCore, wasmPath } from '../src/wasm/core.js';

// The ABI is a product of its own (other hosts embed the .wasm): these tests keep the JS mirror,
// the module and docs/wasm-abi.md in agreement.
describe('WASM ABI', () => {
  const mod = new WebAssembly.Module(readFileSync(wasmPath()));
  const exported = new Map(WebAssembly.Module.exports(mod).map((e) => [e.name, e.kind]));

  it('exports every function the host requires', () => {
    for (const name of REQUIRED_FUNCTIONS) expect(exported.get(name), name).toBe('function');
    expect(exported.get('memory')).toBe('memory');
  });

  it('has no imports (embeddable anywhere)', () => {
    expect(WebAssembly.Module.imports(mod)).toEqual([]);
  });

  it('exports every layout constant with the value JS uses', () => {
    const inst = new WebAssembly.Instance(mod, {});
    for (const [name, value] of Object.entries(ABI)) {
      const g = inst.exports[name] as WebAssembly.Global | undefined;
      expect(g, `missing global ${name}`).toBeInstanceOf(WebAssembly.Global);
      expect(g!.value, name).toBe(value);
    }
  });

  it('exports no layout constant JS does not know about', () => {
    const known = new Set(Object.keys(ABI));
    const globals = [...exported].filter(([, k]) => k === 'global').map(([n]) => n);
    const unknown = globals.filter((n) => /^(RES|REC|KEY|CONN|FRAMER|MBUF|ST|E|ERR|CF|MF|MG|MC_REPLY|DN|HASH)_/.test(n) && !known.has(n));
    expect(unknown).toEqual([]);
  });

  it('docs/wasm-abi.md names every export', () => {
    const doc = readFileSync(new URL('../docs/wasm-abi.md', import.meta.url), 'utf8');
    const missing = [...exported.keys()].filter((n) => !doc.includes(n));
    expect(missing).toEqual([]);
  });

  it('lays out regions without overlap and refuses a second init', () => {
    const core = createCore({ records: 16, keys: 64, connections: 8, stagingBytes: 4096, mbufSize: 512, mbufCount: 4 });
    const ex = core.exports;
    const regions = [
      [ex.res_ptr(), ABI.RES_SIZE],
      [ex.rec_ptr(), 16 * ABI.REC_SIZE],
      [ex.key_ptr(), 64 * ABI.KEY_SIZE],
      [ex.conn_ptr(0), 8 * ABI.CONN_SIZE],
      [ex.staging_ptr(), 4096],
      [ex.mbuf_base(), 4 * 512],
    ].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < regions.length; i++) expect(regions[i][0]).toBeGreaterThanOrEqual(regions[i - 1][0] + regions[i - 1][1]);
    const last = regions[regions.length - 1];
    expect(last[0] + last[1]).toBeLessThanOrEqual(core.memory.buffer.byteLength);
    expect(ex.rec_cap()).toBe(16);
    expect(ex.key_cap()).toBe(64);
    expect(ex.conn_cap()).toBe(8);
    expect(ex.conn_ptr(8)).toBe(0);
    expect(ex.conn_ptr(-1)).toBe(0);
    expect(ex.init(16, 64, 8, 4096, 512, 4)).toBe(ABI.ST_BADARG);
  });

  it('rejects bad sizes at init', () => {
    expect(() => createCore({ mbufSize: 1000 })).toThrow(/init refused/);
  });
});

describe('mbuf pool', () => {
  const core = createCore({ stagingBytes: 4096, mbufSize: 512, mbufCount: 4 });
  const ex = core.exports;
  const dv = new DataView(core.memory.buffer);

  it('hands out every slot once, then reports exhaustion with 0', () => {
    const got = [ex.mbufAlloc(), ex.mbufAlloc(), ex.mbufAlloc(), ex.mbufAlloc()];
    expect(new Set(got).size).toBe(4);
    expect(got).not.toContain(0);
    expect(ex.mbufAlloc()).toBe(0);
    expect(ex.mbufFreeCount()).toBe(0);
    for (const m of got) expect(ex.mbufRelease(m)).toBe(0);
    expect(ex.mbufFreeCount()).toBe(4);
  });

  it('refuses double release and foreign pointers without corrupting the free list', () => {
    const m = ex.mbufAlloc();
    expect(ex.mbufRelease(m)).toBe(0);
    expect(ex.mbufRelease(m)).toBe(ABI.ST_BADARG);
    expect(ex.mbufRelease(m + 8)).toBe(ABI.ST_BADARG);
    expect(ex.mbufRelease(12)).toBe(ABI.ST_BADARG);
    expect(ex.mbufFreeCount()).toBe(4);
  });

  it('appends across a chain and releases the chain', () => {
    const head = ex.mbufAlloc();
    const src = core.stagingPtr;
    const data = Buffer.alloc(1200);
    for (let i = 0; i < data.length; i++) data[i] = i & 0xff;
    core.u8.set(data, src);
    const tail = ex.mbufAppend(head, src, data.length);
    expect(tail).not.toBe(0);
    // Walk the chain and reassemble.
    const parts: Buffer[] = [];
    for (let m = head; m !== 0; m = dv.getInt32(m + ABI.MBUF_NEXT, true)) {
      const pos = dv.getInt32(m + ABI.MBUF_POS, true);
      const last = dv.getInt32(m + ABI.MBUF_LAST, true);
      parts.push(Buffer.from(core.u8.subarray(m + pos, m + last)));
    }
    expect(parts.length).toBe(3); // 496 B of data per 512 B slot
    expect(Buffer.concat(parts).equals(data)).toBe(true);
    expect(ex.mbufReleaseChain(head)).toBe(3);
    expect(ex.mbufFreeCount()).toBe(4);
  });

  it('returns 0 when a chain runs out of slots', () => {
    const head = ex.mbufAlloc();
    expect(ex.mbufAppend(head, core.stagingPtr, 4000)).toBe(0);
    expect(ex.mbufFreeCount()).toBe(0);
    ex.mbufReleaseChain(head);
    expect(ex.mbufFreeCount()).toBe(4);
  });
});
