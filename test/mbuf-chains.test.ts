// Partial messages held in mbuf chains (src/wasm/framer.ts): framing of messages that span many
// reads at every split point, the pool's exhaustion (fallback without a ReadFlow, waiting in order
// with one, the stall timeout), and through a real node in front of redis-server: 4 MB values
// byte-exact, alloc_mbufs / free_mbufs while a value is in flight and after, many concurrent large
// values on a pool too small for them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ABI } from '../src/wasm/abi.js';
import { createCore, type Core } from '../src/wasm/core.js';
import { CHAIN_MIN_BYTES, chainPool, Framer, POOL_WAIT_MS, type FrameSink, type FramerMode, type ReadFlow } from '../src/wasm/framer.js';
import type { RunningNode } from '../src/node.js';
import { startTestNode } from './helpers/node.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { startRedis, type RunningServer } from './helpers/servers.js';
import { until } from './helpers/until.js';
import { Prng } from './helpers/prng.js';

/** Collects the bytes of every framed message (copied out of staging, as a sink must). */
class Messages implements FrameSink {
  readonly got: Buffer[] = [];
  constructor(private readonly core: Core) {}
  onFrames(_f: Framer, base: number, count: number): void {
    const r0 = this.core.recPtr >> 2;
    for (let i = 0; i < count; i++) {
      const r = r0 + i * ABI.REC_WORDS;
      const start = base + this.core.i32[r + ABI.REC_START]!;
      this.got.push(Buffer.from(this.core.buf.subarray(start, start + this.core.i32[r + ABI.REC_LEN]!)));
    }
  }
}

/** Views of b cut at the given offsets (never written to afterwards: the framer may keep them by reference). */
function splitAt(b: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts].sort((x, y) => x - y)) {
    out.push(b.subarray(at, c));
    at = c;
  }
  out.push(b.subarray(at));
  return out;
}

const bulk = (v: Buffer): Buffer => Buffer.concat([Buffer.from(`$${v.length}\r\n`), v, Buffer.from('\r\n')]);

describe('mbuf chains in the framer', () => {
  // 64 mbufs of 1 KiB: a 40 KB value takes a 41-mbuf chain; two of them do not fit at once.
  const core = createCore({ stagingBytes: 1 << 20, connections: 64, mbufSize: 1024, mbufCount: 64 });
  const pool = chainPool(core);
  const rng = new Prng(0x6d627566);
  const free = (): number => core.exports.mbufFreeCount();

  /** Messages of one mode around a large one: small before, the large value, small after. */
  function stream(mode: FramerMode, big: Buffer): Buffer[] {
    if (mode === 'resp-request') return [cmd('GET', 'a'), cmd('SET', 'big', big), cmd('PING')];
    if (mode === 'resp-reply') return [Buffer.from('+OK\r\n'), bulk(big), Buffer.from(':1\r\n')];
    if (mode === 'mc-request') return [Buffer.from('get a\r\n'), Buffer.concat([Buffer.from(`set big 0 0 ${big.length}\r\n`), big, Buffer.from('\r\n')]), Buffer.from('version\r\n')];
    return [Buffer.from('VALUE a 0 1\r\nx\r\nEND\r\n'), Buffer.concat([Buffer.from(`VALUE big 0 ${big.length}\r\n`), big, Buffer.from('\r\nEND\r\n')]), Buffer.from('STORED\r\n')];
  }

  for (const mode of ['resp-request', 'resp-reply', 'mc-request', 'mc-reply'] as const) {
    it(`${mode}: a 40 KB message cut in two at every split point frames byte-exact, through a chain`, () => {
      const big = rng.bytes(40_000);
      const msgs = stream(mode, big);
      const all = Buffer.concat(msgs);
      const chainsBefore = pool.chains;
      const sink = new Messages(core);
      const f = new Framer(core, mode);
      // Every split point of the whole stream (it starts and ends with short messages).
      for (let cut = 1; cut < all.length; cut++) {
        for (const c of splitAt(all, [cut])) f.feed(c, sink);
        expect(f.pendingBytes).toBe(0);
      }
      f.close();
      expect(sink.got.length).toBe(3 * (all.length - 1));
      for (let i = 0; i < sink.got.length; i++) {
        if (!sink.got[i]!.equals(msgs[i % 3]!)) expect.fail(`${mode}: message ${i % 3} wrong after cut ${Math.floor(i / 3) + 1}`);
      }
      // Cuts inside the large message past its header and before the end of its payload are chained.
      expect(pool.chains - chainsBefore).toBeGreaterThan(39_000);
      expect(free()).toBe(64);
    });
  }

  it('a message spanning many reads (seeded random cuts, 2..200 reads) frames byte-exact', () => {
    for (let round = 0; round < 300; round++) {
      const mode = (['resp-request', 'resp-reply', 'mc-request', 'mc-reply'] as const)[round % 4]!;
      const big = rng.bytes(CHAIN_MIN_BYTES * 2 + rng.int(20_000));
      const msgs = stream(mode, big.subarray(0, Math.min(big.length, 60_000)));
      const all = Buffer.concat(msgs);
      const cuts = Array.from({ length: 1 + rng.int(199) }, () => 1 + rng.int(all.length - 1));
      const sink = new Messages(core);
      const f = new Framer(core, mode);
      for (const c of splitAt(all, cuts)) f.feed(c, sink);
      f.close();
      expect(sink.got.map((b) => b.length)).toEqual(msgs.map((b) => b.length));
      for (let i = 0; i < 3; i++) if (!sink.got[i]!.equals(msgs[i]!)) expect.fail(`round ${round} (${mode}, cuts ${cuts.join(',')}): message ${i} differs`);
    }
    expect(free()).toBe(64);
  });

  it('dnode: a REQ whose payload spans reads frames byte-exact', () => {
    const payload = cmd('SET', 'k', rng.bytes(30_000));
    const msg = Buffer.concat([Buffer.from(`   $2014$ 7 3 0 1 1 *1 d *${payload.length}\r\n`), payload]);
    for (const cut of [20, 40, 1000, 20_000, msg.length - 1]) {
      const sink = new Messages(core);
      const f = new Framer(core, 'dnode');
      for (const c of splitAt(msg, [cut])) f.feed(c, sink);
      f.close();
      expect(sink.got.length).toBe(1);
      expect(sink.got[0]!.equals(msg)).toBe(true);
    }
    expect(free()).toBe(64);
  });

  it('pool exhausted, no ReadFlow: the second message falls back to JS chunks (counted), nothing lost', () => {
    const a = cmd('SET', 'a', rng.bytes(40_000));
    const b = cmd('SET', 'b', rng.bytes(40_000));
    const fa = new Framer(core, 'resp-request');
    const fb = new Framer(core, 'resp-request');
    const sa = new Messages(core);
    const sb = new Messages(core);
    const fallbacks = pool.fallbacks;
    fa.feed(Buffer.from(a.subarray(0, 100)), sa);
    expect(fa.chained).toBe(true);
    expect(64 - free()).toBe(Math.ceil(a.length / (1024 - ABI.MBUF_HDR)));
    fb.feed(Buffer.from(b.subarray(0, 100)), sb);
    expect(fb.chained).toBe(false);
    expect(pool.fallbacks).toBe(fallbacks + 1);
    fb.feed(Buffer.from(b.subarray(100)), sb);
    fa.feed(Buffer.from(a.subarray(100)), sa);
    expect(sa.got).toEqual([a]);
    expect(sb.got).toEqual([b]);
    expect(free()).toBe(64);
    fa.close();
    fb.close();
  });

  class Flow implements ReadFlow {
    readonly log: string[] = [];
    pauseReading(): void { this.log.push('pause'); }
    resumeReading(): void { this.log.push('resume'); }
  }

  it('pool exhausted, with a ReadFlow: the second connection pauses, and resumes into a chain once the first is done', async () => {
    const a = cmd('SET', 'a', rng.bytes(40_000));
    const b = cmd('SET', 'b', rng.bytes(40_000));
    const flow = new Flow();
    const fa = new Framer(core, 'resp-request');
    const fb = new Framer(core, 'resp-request', core.options.stagingBytes, flow);
    const sa = new Messages(core);
    const sb = new Messages(core);
    const waits = pool.waits;
    fa.feed(Buffer.from(a.subarray(0, 100)), sa);
    fb.feed(Buffer.from(b.subarray(0, 100)), sb);
    expect(flow.log).toEqual(['pause']);
    expect(pool.waits).toBe(waits + 1);
    expect(pool.waiting).toBe(1);
    fa.feed(Buffer.from(a.subarray(100)), sa); // completes: its chain goes back
    expect(sa.got).toEqual([a]);
    await until('the waiting connection to be admitted', () => flow.log.length === 2, 2000);
    expect(flow.log).toEqual(['pause', 'resume']);
    expect(fb.chained).toBe(true); // its 100 bytes moved into the chain
    expect(fb.pendingBytes).toBe(100);
    fb.feed(Buffer.from(b.subarray(100, 20_000)), sb);
    fb.feed(Buffer.from(b.subarray(20_000)), sb);
    expect(sb.got).toEqual([b]);
    expect(free()).toBe(64);
    fa.close();
    fb.close();
  });

  it('a stalled chain holder: waiters resume with JS chunks after POOL_WAIT_MS without a release (counted)', async () => {
    const a = cmd('SET', 'a', rng.bytes(40_000));
    const b = cmd('SET', 'b', rng.bytes(40_000));
    const flow = new Flow();
    const fa = new Framer(core, 'resp-request');
    const fb = new Framer(core, 'resp-request', core.options.stagingBytes, flow);
    const sb = new Messages(core);
    const fallbacks = pool.fallbacks;
    fa.feed(Buffer.from(a.subarray(0, 100)), new Messages(core));
    fb.feed(Buffer.from(b.subarray(0, 100)), sb);
    const t0 = performance.now();
    await until('the wait to expire', () => flow.log.length === 2, POOL_WAIT_MS * 3);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(POOL_WAIT_MS - 5);
    expect(flow.log).toEqual(['pause', 'resume']);
    expect(pool.fallbacks).toBe(fallbacks + 1);
    expect(fb.chained).toBe(false);
    fb.feed(Buffer.from(b.subarray(100)), sb);
    expect(sb.got).toEqual([b]);
    fa.close(); // a closed holder gives its chain back
    fb.close();
    expect(free()).toBe(64);
  });

  it('a closed connection gives its chain back and leaves the wait list', () => {
    const flow = new Flow();
    const fa = new Framer(core, 'resp-request');
    const fb = new Framer(core, 'resp-request', core.options.stagingBytes, flow);
    fa.feed(Buffer.from(cmd('SET', 'a', rng.bytes(40_000)).subarray(0, 100)), new Messages(core));
    fb.feed(Buffer.from(cmd('SET', 'b', rng.bytes(40_000)).subarray(0, 100)), new Messages(core));
    expect(pool.waiting).toBe(1);
    fb.close();
    expect(pool.waiting).toBe(0);
    fa.close();
    expect(free()).toBe(64);
  });
});

describe('mbuf chains through a node in front of redis-server', () => {
  let redis: RunningServer;
  let node: RunningNode;
  const clients: RawClient[] = [];
  const client = async (): Promise<RawClient> => {
    const c = await RawClient.connect(node.port);
    clients.push(c);
    return c;
  };
  const gauge = (name: 'alloc_mbufs' | 'free_mbufs'): number => Number(node.stats.snapshot()[name]);

  beforeAll(async () => {
    redis = await startRedis();
    node = await startTestNode({ dataStore: 'redis', server: { host: '127.0.0.1', port: redis.port }, datastoreConnections: 2 });
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await node?.close('test done', 100);
    await redis?.stop();
  });

  it('a 4 MB value: alloc_mbufs counts its chain while it is in flight, 0 after; GET returns the same bytes', async () => {
    const total = gauge('alloc_mbufs') + gauge('free_mbufs');
    expect(total).toBe(1024);
    const value = new Prng(4).bytes(4 << 20);
    const req = cmd('SET', 'four', value);
    const c = await client();
    c.write(req.subarray(0, 2 << 20));
    const perMbuf = 16384 - ABI.MBUF_HDR;
    await until('the partial SET to be held in a chain', () => gauge('alloc_mbufs') === Math.ceil(req.length / perMbuf), 10_000);
    expect(gauge('free_mbufs')).toBe(1024 - Math.ceil(req.length / perMbuf));
    c.write(req.subarray(2 << 20));
    expect(String((await c.replies(1, 30_000))[0])).toBe('+OK\r\n');
    expect(gauge('alloc_mbufs')).toBe(0);
    expect(gauge('free_mbufs')).toBe(1024);
    c.write(cmd('GET', 'four'));
    const [got] = await c.replies(1, 30_000);
    expect(got!.length).toBe(bulk(value).length);
    expect(got!.equals(bulk(value))).toBe(true);
    expect(gauge('alloc_mbufs')).toBe(0);
  }, 60_000);

  it('40 clients x 1 MB at once (the pool holds 15 such chains): every SET lands, byte-exact, nothing left held', async () => {
    const ours = node.stats.ours as Record<string, number>;
    const waits = ours.mbuf_waits!;
    const n = 40;
    const values = Array.from({ length: n }, (_, i) => new Prng(100 + i).bytes(1 << 20));
    const cs = await Promise.all(values.map(() => client()));
    const reqs = values.map((v, i) => cmd('SET', `many:${i}`, v));
    // Every client starts its SET: 15 chains fit in the pool, the other 25 clients wait for room.
    cs.forEach((c, i) => c.write(reqs[i]!.subarray(0, 100_000)));
    await until('25 clients to wait for the pool', () => ours.mbuf_waits! - waits === n - 15, 10_000);
    expect(gauge('free_mbufs')).toBeLessThan(Math.ceil(reqs[0]!.length / (16384 - ABI.MBUF_HDR)));
    cs.forEach((c, i) => c.write(reqs[i]!.subarray(100_000)));
    const replies = await Promise.all(cs.map(async (c) => String((await c.replies(1, 60_000))[0])));
    expect(replies).toEqual(Array(n).fill('+OK\r\n'));
    expect(ours.mbuf_fallbacks).toBe(0);
    expect(gauge('alloc_mbufs')).toBe(0);
    const g = cs[0]!;
    for (let i = 0; i < n; i++) {
      g.write(cmd('GET', `many:${i}`));
      const [got] = await g.replies(1, 30_000);
      if (!got!.equals(bulk(values[i]!))) expect.fail(`many:${i} differs (${got!.length} bytes)`);
    }
  }, 120_000);
});
