// The dnode peer transport over real loopback sockets: the listener answers Netflix's captured bytes
// exactly, PeerConn and the listener talk to each other (pipelines, large values, out-of-order
// completion, peer down / killed / back, timeouts and skipped or unmatched replies failing only their
// own request), and broken peers are cut off without harming anyone else.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createCore } from '../src/wasm/core.js';
import { Flusher } from '../src/net/flusher.js';
import { MemoryBackend } from '../src/store/memory-backend.js';
import { respError } from '../src/errors.js';
import { DN_DATA_PLACEHOLDER } from '../src/wasm/dnode.js';
import { encodeDnodeHeaderTS } from './oracles/dnode.js';
import { writeDnodeHeader } from '../src/protocol/dnode.js';
import { PeerConn, type PeerConnHooks, type PeerConnOptions } from '../src/cluster/peer-conn.js';
import { PEER_SEND_NOREPLY, PEER_SEND_WRITE } from '../src/dispatch/request.js';
import { startDnodeListener, type DnodeHandler, type DnodeListener } from '../src/cluster/dnode-listener.js';
import { freePort } from './helpers/servers.js';
import {
  BackendHandler, Collector, HoldingHandler, RawPeer, ScriptedDnodePeer, dnodeMessage, fakePeerServer, resp,
} from './helpers/dnode-peer.js';
import { sleep, until } from './helpers/until.js';
import { Prng } from './helpers/prng.js';

const core = createCore({ stagingBytes: 16 << 20, connections: 1024, mbufCount: 64 });
const log = pino({ level: 'silent' });
const flusher = new Flusher();
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function listener(handler: DnodeHandler, extra: { port?: number; maxGarbage?: number } = {}): Promise<DnodeListener> {
  const l = await startDnodeListener({
    core, listen: { host: '127.0.0.1', port: extra.port ?? 0 }, flusher, logger: log, handler,
    maxMessage: core.options.stagingBytes, maxGarbage: extra.maxGarbage,
  });
  cleanups.push(() => l.close());
  return l;
}

async function peerTo(port: number, opts: Partial<PeerConnOptions> = {}, hooks: PeerConnHooks = {}): Promise<PeerConn> {
  const p = new PeerConn(core, {
    host: '127.0.0.1', port, dc: 'dc1', rack: 'r2', sameDc: true, timeoutMs: 5000,
    maxMessage: core.options.stagingBytes, ...opts,
  }, flusher, log, hooks);
  cleanups.push(() => p.close());
  await p.start();
  return p;
}

/** Puts the request in core memory (staging, as a client connection's framer leaves it) and sends it. */
function send(p: PeerConn, target: Collector, seq: number, req: Buffer, type: 3 | 4 = 3, affinity = 0, flags = 0): void {
  core.u8.set(req, core.stagingPtr);
  p.send(type, target, seq, core.stagingPtr, req.length, affinity, flags);
}

function memoryHandler(): { handler: BackendHandler; backend: MemoryBackend } {
  const backend = new MemoryBackend(core, 'redis');
  return { handler: new BackendHandler(backend), backend };
}

describe('Netflix wire compatibility (captured exchange)', () => {
  const GET = '   $2014$ 77 3 0 1 1 *1 d *21\r\n*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n';
  const SET = '   $2014$ 77 3 0 1 1 *1 d *32\r\n*3\r\n$3\r\nSET\r\n$5\r\npeerk\r\n$2\r\npv\r\n';

  it('answers the captured GET and SET byte for byte', async () => {
    const { handler, backend } = memoryHandler();
    backend.store.execute([Buffer.from('SET'), Buffer.from('k1'), Buffer.from('v1')]);
    const l = await listener(handler);
    const c = await RawPeer.connect(l.port);
    cleanups.push(() => c.close());
    c.write(GET);
    const want1 = '   $2014$ 77 5 0 1 1 *1 d *8\r\n$2\r\nv1\r\n';
    expect(await c.read(want1.length)).toBe(want1);
    c.buf = Buffer.alloc(0);
    c.write(SET);
    const want2 = '   $2014$ 77 5 0 1 1 *1 d *5\r\n+OK\r\n';
    expect(await c.read(want2.length)).toBe(want2);
    expect(backend.store.execute([Buffer.from('GET'), Buffer.from('peerk')]).toString()).toBe('$2\r\npv\r\n');
    expect(handler.types).toEqual([3, 3]);
    expect(handler.sameDc).toEqual([true, true]);
  });

  it('gives the same bytes when the request arrives one byte at a time, and echoes same_dc 0 and 64-bit ids', async () => {
    const { handler, backend } = memoryHandler();
    backend.store.execute([Buffer.from('SET'), Buffer.from('k1'), Buffer.from('v1')]);
    const l = await listener(handler);
    const c = await RawPeer.connect(l.port);
    cleanups.push(() => c.close());
    c.socket.setNoDelay(true);
    for (const ch of GET) {
      c.write(ch);
      await sleep(1);
    }
    const big = 18446744073709551615n;
    c.write(dnodeMessage(big, 4, resp('GET', 'k1'), { sameDc: 0 }));
    c.write(dnodeMessage(78, 4, resp('GET', 'k1'), { sameDc: 0 }));
    const want = '   $2014$ 77 5 0 1 1 *1 d *8\r\n$2\r\nv1\r\n' + `   $2014$ ${big} 5 0 1 0 *1 d *8\r\n$2\r\nv1\r\n` +
      '   $2014$ 78 5 0 1 0 *1 d *8\r\n$2\r\nv1\r\n';
    expect(await c.read(want.length)).toBe(want);
    expect(handler.types).toEqual([3, 4, 4]);
    expect(handler.sameDc).toEqual([true, false, false]);
  });

  it('gives the same reply stream for a pipeline cut at random points', async () => {
    const { handler } = memoryHandler();
    const l = await listener(handler);
    const rng = new Prng(4242);
    const msgs: Buffer[] = [];
    let want = '';
    for (let i = 0; i < 60; i++) {
      const v = 'v'.repeat(rng.int(300));
      msgs.push(dnodeMessage(1000 + i, 3, resp('SET', `split${i}`, v)), dnodeMessage(5000 + i, 3, resp('GET', `split${i}`)));
      want += `   $2014$ ${1000 + i} 5 0 1 1 *1 d *5\r\n+OK\r\n`;
      const bulk = `$${v.length}\r\n${v}\r\n`;
      want += `   $2014$ ${5000 + i} 5 0 1 1 *1 d *${bulk.length}\r\n${bulk}`;
    }
    const all = Buffer.concat(msgs);
    const c = await RawPeer.connect(l.port);
    cleanups.push(() => c.close());
    c.socket.setNoDelay(true);
    for (let at = 0; at < all.length;) {
      const n = 1 + rng.int(700);
      c.write(all.subarray(at, at + n));
      at += n;
      await new Promise((r) => setImmediate(r));
    }
    expect(await c.read(want.length)).toBe(want);
  });

  it('stops reading a peer with too many unanswered requests, and resumes when they are answered', async () => {
    const holding = new HoldingHandler(core);
    const l = await startDnodeListener({
      core, listen: { host: '127.0.0.1', port: 0 }, flusher, logger: log, handler: holding, maxMessage: 1 << 20, maxPending: 8,
    });
    cleanups.push(() => l.close());
    const c = await RawPeer.connect(l.port);
    cleanups.push(() => c.close());
    const batch = (from: number): Buffer => Buffer.concat(Array.from({ length: 100 }, (_, i) => dnodeMessage(from + i, 3, resp('GET', 'k'))));
    c.write(batch(0));
    await holding.waitFor(9);
    await sleep(50);
    const before = holding.held.length; // one read's worth: reading is paused past 8 pending
    c.write(batch(100));
    await sleep(100);
    expect(holding.held.length).toBe(before);
    // Answering resumes reading; keep answering until all 200 arrived.
    let answered = 0;
    await until('all 200 requests read', () => {
      for (; answered < holding.held.length; answered++) {
        const h = holding.held[answered];
        h.conn.completeBuffer(h.seq, Buffer.from('+A\r\n'));
      }
      return holding.held.length === 200;
    });
    const want = Array.from({ length: 200 }, (_, i) => `   $2014$ ${i} 5 0 1 1 *1 d *4\r\n+A\r\n`).join('');
    expect(await c.read(want.length)).toBe(want);
    expect(holding.held.length).toBe(200);
  });

  it('writes headers identical to the reference encoder for random fields', () => {
    const rng = new Prng(2014);
    const dst = Buffer.alloc(64);
    for (let i = 0; i < 2000; i++) {
      const id = i < 10 ? i : (rng.next() * 2 ** 21 + rng.next()) % 2 ** 53;
      const type = rng.int(14);
      const sameDc = rng.int(2);
      const len = i % 3 === 0 ? rng.int(100) : rng.int(2 ** 31);
      const n = writeDnodeHeader(dst, 0, id, type, sameDc, len);
      const ref = encodeDnodeHeaderTS({
        msgId: BigInt(id), type, flags: 0, version: 1, sameDc, data: DN_DATA_PLACEHOLDER, payloadLen: len,
      });
      expect(dst.toString('latin1', 0, n)).toBe(ref.toString('latin1'));
    }
  });

  it('passes gossip and other types to onOther with a payload copy, and answers noreply-free REQ_FORWARD', async () => {
    const { handler } = memoryHandler();
    const l = await listener(handler);
    const c = await RawPeer.connect(l.port);
    cleanups.push(() => c.close());
    c.write(dnodeMessage(9, 7, 'dc1$r1$123,1700000000,1,127.0.0.1'));
    c.write(dnodeMessage(10, 4, resp('SET', 'fw', '1')));
    const want = '   $2014$ 10 5 0 1 1 *1 d *5\r\n+OK\r\n';
    expect(await c.read(want.length)).toBe(want);
    expect(handler.others).toHaveLength(1);
    expect(handler.others[0].type).toBe(7);
    expect(handler.others[0].msgId).toBe(9n);
    expect(handler.others[0].payload.toString()).toBe('dc1$r1$123,1700000000,1,127.0.0.1');
  });
});

describe('PeerConn <-> dnode listener', () => {
  it('pipelines 1000 writes then 1000 reads, each reply in its own slot', async () => {
    const { handler } = memoryHandler();
    const l = await listener(handler);
    const p = await peerTo(l.port);
    expect(p.state).toBe('up');
    const w = new Collector();
    for (let i = 0; i < 1000; i++) send(p, w, i, resp('SET', `key:${i}`, `value-${i}-${'x'.repeat(i % 50)}`));
    await w.waitFor(1000);
    for (let i = 0; i < 1000; i++) expect(w.text(i)).toBe('+OK\r\n');
    const r = new Collector();
    for (let i = 999; i >= 0; i--) send(p, r, i, resp('GET', `key:${i}`));
    await r.waitFor(1000);
    for (let i = 0; i < 1000; i++) {
      const v = `value-${i}-${'x'.repeat(i % 50)}`;
      expect(r.text(i)).toBe(`$${v.length}\r\n${v}\r\n`);
    }
    expect(r.duplicate).toBe(false);
    expect(p.inflight()).toBe(0);
  });

  it('spreads clients over several connections by affinity and keeps each in order', async () => {
    const { handler } = memoryHandler();
    const l = await listener(handler);
    const p = await peerTo(l.port, { connections: 3 });
    await until('3 connections', () => l.connections() === 3, 2000);
    const c = new Collector();
    for (let i = 0; i < 300; i++) send(p, c, i, resp('INCR', `ctr:${i % 3}`), 3, i % 3);
    await c.waitFor(300);
    // Each counter lives on one connection: its replies count up 1, 2, ... in send order.
    for (let i = 0; i < 300; i++) expect(c.text(i)).toBe(`:${Math.floor(i / 3) + 1}\r\n`);
  });

  it('carries 4 MB values both ways', async () => {
    const { handler } = memoryHandler();
    const l = await listener(handler);
    const p = await peerTo(l.port);
    const big = Buffer.alloc(4 * 1024 * 1024);
    const rng = new Prng(7);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(rng.next(), i);
    const c = new Collector();
    send(p, c, 0, resp('SET', 'big', big));
    send(p, c, 1, resp('GET', 'big'));
    send(p, c, 2, resp('GET', 'missing'));
    await c.waitFor(3);
    expect(c.text(0)).toBe('+OK\r\n');
    const got = c.got.get(1);
    expect(got?.ok).toBe(true);
    if (got?.ok) {
      const head = `$${big.length}\r\n`;
      expect(got.data.subarray(0, head.length).toString()).toBe(head);
      expect(got.data.subarray(head.length, head.length + big.length).equals(big)).toBe(true);
      expect(got.data.length).toBe(head.length + big.length + 2);
    }
    expect(c.text(2)).toBe('$-1\r\n');
  });

  it('replies in request order when the handler completes out of order', async () => {
    const holding = new HoldingHandler(core);
    const l = await listener(holding);
    const p = await peerTo(l.port);
    const c = new Collector();
    const n = 200;
    for (let i = 0; i < n; i++) send(p, c, i, resp('GET', `k${i}`));
    await holding.waitFor(n);
    const rng = new Prng(99);
    const order = holding.held.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const i of order) {
      const h = holding.held[i];
      const key = /k\d+/.exec(h.request)![0];
      if (i % 7 === 0) h.conn.fail(h.seq, 'STORAGE_ERR_REFUSED');
      else h.conn.completeBuffer(h.seq, Buffer.from(`$${key.length}\r\n${key}\r\n`));
    }
    await c.waitFor(n);
    for (let i = 0; i < n; i++) {
      expect(c.text(i)).toBe(i % 7 === 0 ? respError('STORAGE_ERR_REFUSED').toString() : `$${`k${i}`.length}\r\nk${i}\r\n`);
    }
  });

  it('completes noreply sends at once and the listener sends nothing back for them', async () => {
    const listenerMc = await startDnodeListener({
      core, listen: { host: '127.0.0.1', port: 0 }, flusher, logger: log, protocol: 'memcache',
      handler: new BackendHandler(new MemoryBackend(core, 'memcache')), maxMessage: 1 << 20,
    });
    cleanups.push(() => listenerMc.close());
    const p = await peerTo(listenerMc.port);
    const c = new Collector();
    send(p, c, 0, Buffer.from('set a 0 0 1 noreply\r\nx\r\n'), 3, 0, PEER_SEND_NOREPLY);
    expect(c.text(0)).toBe('');
    send(p, c, 1, Buffer.from('get a\r\n'));
    await c.waitFor(2);
    expect(c.text(1)).toBe('VALUE a 0 1\r\nx\r\nEND\r\n');
  });
});

describe('PeerConn failures', () => {
  it('fails fast with "Peer Node is not connected" while the peer is down', async () => {
    const port = await freePort();
    const errors: string[] = [];
    const p = await peerTo(port, {}, { onError: (_p, why) => errors.push(why) });
    expect(p.up).toBe(false);
    expect(p.state).toBe('down');
    const c = new Collector();
    send(p, c, 0, resp('GET', 'x'));
    expect(c.got.get(0)).toEqual({ ok: false, code: 'PEER_ERR_NOT_CONNECTED' });
    expect(respError('PEER_ERR_NOT_CONNECTED').toString()).toBe('-ERR Peer: Peer Node is not connected\r\n');
    expect(errors.length).toBeGreaterThan(0);
  });

  it('fails what is in flight when the peer dies, then reconnects when it is back', async () => {
    const holding = new HoldingHandler(core);
    const port = await freePort();
    const l1 = await listener(holding, { port });
    const ups: number[] = [];
    const p = await peerTo(port, {}, { onLinkUp: (_p, i) => ups.push(i) });
    const c = new Collector();
    for (let i = 0; i < 10; i++) send(p, c, i, resp('GET', `k${i}`));
    await holding.waitFor(10);
    await l1.close();
    await c.waitFor(10);
    for (let i = 0; i < 10; i++) expect(c.got.get(i)?.ok).toBe(false);
    expect([...c.got.values()]).toEqual(Array.from({ length: 10 }, () => ({ ok: false, code: 'PEER_ERR_REFUSED' })));
    // While down: fail fast.
    await until('peer down', () => !p.up, 2000);
    const f = new Collector();
    send(p, f, 0, resp('GET', 'k'));
    expect(f.got.get(0)).toEqual({ ok: false, code: 'PEER_ERR_NOT_CONNECTED' });
    // Back: the backoff timer reconnects.
    const { handler } = memoryHandler();
    await listener(handler, { port });
    await until('reconnect', () => p.up, 5000);
    expect(ups.length).toBeGreaterThanOrEqual(2);
    const ok = new Collector();
    send(p, ok, 0, resp('SET', 'again', '1'));
    await ok.waitFor(1);
    expect(ok.text(0)).toBe('+OK\r\n');
  });

  it('times out: fails only the expired requests with PEER_ERR_TIMEOUT, keeps the link, drops their late replies', async () => {
    const holding = new HoldingHandler(core);
    const l = await listener(holding);
    const timeouts: number[] = [];
    const mismatches: [number, boolean][] = [];
    const downs: string[] = [];
    const p = await peerTo(l.port, { timeoutMs: 150, writeTimeoutMs: 60_000 }, {
      onTimeout: (_p, n) => timeouts.push(n),
      onMismatch: (_p, skipped, dropped) => mismatches.push([skipped, dropped]),
      onLinkDown: (_p, _i, why) => downs.push(why),
    });
    const c = new Collector();
    const t0 = Date.now();
    // A write (60 s deadline) first, then three reads (150 ms): the reads expire behind the write.
    send(p, c, 0, resp('SET', 'w', '1'), 3, 0, PEER_SEND_WRITE);
    for (let i = 1; i <= 3; i++) send(p, c, i, resp('GET', `slow${i}`));
    await c.waitFor(3, 3000);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect([1, 2, 3].map((i) => c.got.get(i))).toEqual([1, 2, 3].map(() => ({ ok: false, code: 'PEER_ERR_TIMEOUT' })));
    expect(c.got.has(0)).toBe(false);
    expect(timeouts).toEqual([3]);
    expect(p.inflight()).toBe(1);
    expect(p.up).toBe(true);
    // The write is answered, then the late replies of the reads: they match no live request.
    await holding.waitFor(4);
    for (const h of holding.held) h.conn.completeBuffer(h.seq, Buffer.from(`+LATE ${h.request.length}\r\n`));
    await c.waitFor(4);
    expect(c.got.get(0)).toEqual({ ok: true, data: Buffer.from(`+LATE ${resp('SET', 'w', '1').length}\r\n`) });
    const next = new Collector();
    send(p, next, 0, resp('GET', 'after'));
    await holding.waitFor(5);
    const h = holding.held[4]!;
    h.conn.completeBuffer(h.seq, Buffer.from('+FRESH\r\n'));
    await next.waitFor(1);
    expect(next.text(0)).toBe('+FRESH\r\n');
    // One connection all along (every request came on it), no link down, the late replies dropped.
    expect(new Set(holding.held.map((x) => x.conn)).size).toBe(1);
    expect(downs).toEqual([]);
    expect(mismatches).toEqual([[0, true], [0, true], [0, true]]);
    expect(c.duplicate).toBe(false);
  });

  it('a skipped reply fails only its own request with PEER_ERR_NO_REPLY; the link stays up', async () => {
    const skip = new Set([3n, 7n, 8n]);
    const fake = await ScriptedDnodePeer.start((q) => {
      if (!skip.has(q.msgId)) q.reply(`+R${q.msgId}\r\n`);
    });
    cleanups.push(() => fake.close());
    const mismatches: [number, boolean][] = [];
    const errors: string[] = [];
    const p = await peerTo(fake.port, {}, {
      onMismatch: (_p, skipped, dropped) => mismatches.push([skipped, dropped]),
      onError: (_p, why) => errors.push(why),
    });
    const c = new Collector();
    // msg ids 1..10 in seq 0..9; 3, 7 and 8 get no reply.
    for (let i = 0; i < 10; i++) send(p, c, i, resp('SET', `k${i}`, 'v'));
    await c.waitFor(10);
    expect(Array.from({ length: 10 }, (_, i) => c.text(i))).toEqual([
      '+R1\r\n', '+R2\r\n', 'FAIL PEER_ERR_NO_REPLY', '+R4\r\n', '+R5\r\n', '+R6\r\n',
      'FAIL PEER_ERR_NO_REPLY', 'FAIL PEER_ERR_NO_REPLY', '+R9\r\n', '+R10\r\n',
    ]);
    expect(c.order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(mismatches).toEqual([[1, false], [2, false]]);
    expect(errors).toEqual([]);
    expect(fake.accepted).toBe(1);
    expect(p.inflight()).toBe(0);
    expect(respError('PEER_ERR_NO_REPLY').toString()).toBe('-ERR Peer: Peer Node did not reply\r\n');
  });

  it('drops a reply with an unknown msg_id or one from the past, keeps the link, never misdelivers', async () => {
    let mode: 'unknown' | 'past' | 'garbage' | 'good' = 'unknown';
    let last = 0n;
    const fake = await ScriptedDnodePeer.start(() => undefined);
    cleanups.push(() => fake.close());
    fake.onRequest = (q) => {
      if (mode === 'unknown') fake.write(q.conn, dnodeMessage(q.msgId + 1000n, 5, '+WRONG\r\n'));
      else if (mode === 'past') fake.write(q.conn, dnodeMessage(last, 5, '+AGAIN\r\n'));
      else if (mode === 'garbage') {
        fake.write(q.conn, '   $2014$ 1 5 zz\r\n');
        return;
      }
      q.reply(`+RIGHT${q.msgId}\r\n`);
      last = q.msgId;
    };
    const mismatches: [number, boolean][] = [];
    const errors: string[] = [];
    const p = await peerTo(fake.port, {}, {
      onMismatch: (_p, skipped, dropped) => mismatches.push([skipped, dropped]),
      onError: (_p, why) => errors.push(why),
    });
    const c = new Collector();
    send(p, c, 0, resp('GET', 'a'));
    await c.waitFor(1);
    expect(c.text(0)).toBe('+RIGHT1\r\n');
    mode = 'past';
    send(p, c, 1, resp('GET', 'b'));
    await c.waitFor(2);
    expect(c.text(1)).toBe('+RIGHT2\r\n');
    expect(mismatches).toEqual([[0, true], [0, true]]);
    expect(errors).toEqual([]);
    expect(fake.accepted).toBe(1);
    // An unparseable stream still closes the link (nothing after it can be trusted).
    mode = 'garbage';
    send(p, c, 2, resp('GET', 'c'));
    await c.waitFor(3);
    expect(c.got.get(2)).toEqual({ ok: false, code: 'PEER_ERR_REFUSED' });
    await until('reconnect', () => p.up && fake.accepted === 2, 5000);
    mode = 'good';
    send(p, c, 3, resp('GET', 'd'));
    await c.waitFor(4);
    expect(c.text(3)).toBe('+RIGHT4\r\n');
    expect(c.duplicate).toBe(false);
  });
});

describe('dnode listener against broken peers', () => {
  let good: PeerConn;
  let l: DnodeListener;

  beforeAll(async () => {
    const backend = new MemoryBackend(core, 'redis');
    l = await startDnodeListener({
      core, listen: { host: '127.0.0.1', port: 0 }, flusher, logger: log, handler: new BackendHandler(backend),
      maxMessage: 1 << 20, maxGarbage: 4096,
    });
    good = new PeerConn(core, {
      host: '127.0.0.1', port: l.port, dc: 'dc1', rack: 'r1', sameDc: true, timeoutMs: 5000, maxMessage: 1 << 20,
    }, flusher, log);
    await good.start();
  });

  afterAll(async () => {
    await good.close();
    await l.close();
  });

  async function goodStillWorks(tag: string): Promise<void> {
    const c = new Collector();
    core.u8.set(resp('SET', tag, 'ok'), core.stagingPtr);
    good.send(3, c, 0, core.stagingPtr, resp('SET', tag, 'ok').length, 0);
    await c.waitFor(1);
    expect(c.text(0)).toBe('+OK\r\n');
  }

  it.each([
    ['random bytes', Buffer.from(Array.from({ length: 20000 }, (_, i) => (i * 7919 + 13) % 251))],
    ['a bad header after the magic', Buffer.from('   $2014$ 12 3 0 1 1 *x d *5\r\n+OK\r\n')],
    ['a type out of range', Buffer.from('   $2014$ 12 77 0 1 1 *1 d *5\r\n+OK\r\n')],
    ['a payload over the limit', Buffer.from('   $2014$ 12 3 0 1 1 *1 d *99999999\r\n')],
    ['an encrypted message', dnodeMessage(5, 3, resp('GET', 'k'), { flags: 1 })],
  ])('closes a connection that sends %s; others are unaffected', async (_name, bytes) => {
    const bad = await RawPeer.connect(l.port);
    bad.write(bytes);
    expect(await bad.waitClosed(3000)).toBe(true);
    await goodStillWorks(`after-${_name}`);
  });

  it('resyncs over garbage before the magic', async () => {
    const c = await RawPeer.connect(l.port);
    c.write(Buffer.concat([Buffer.from('\x00\xffjunk $201 $2014 nonsense\r\n'), dnodeMessage(3, 3, resp('SET', 'rs', 'v'))]));
    c.write(Buffer.concat([Buffer.from('more junk'), dnodeMessage(4, 3, resp('GET', 'rs'))]));
    const want = '   $2014$ 3 5 0 1 1 *1 d *5\r\n+OK\r\n   $2014$ 4 5 0 1 1 *1 d *7\r\n$1\r\nv\r\n';
    expect(await c.read(want.length)).toBe(want);
    expect(c.closed).toBe(false);
    c.close();
  });

  it('answers a payload that is not exactly one request with an error in its slot, and keeps going', async () => {
    const c = await RawPeer.connect(l.port);
    c.write(dnodeMessage(1, 3, Buffer.concat([resp('GET', 'a'), resp('GET', 'b')])));
    c.write(dnodeMessage(2, 3, '*2\r\n$3\r\nGET\r\n'));
    c.write(dnodeMessage(3, 3, resp('NOSUCHCMD', 'x')));
    c.write(dnodeMessage(4, 3, resp('SET', 'one', '1')));
    const text = await c.read(1, 2000).then(async () => {
      await until('the fourth reply, whole', () => c.buf.toString('latin1').endsWith('   $2014$ 4 5 0 1 1 *1 d *5\r\n+OK\r\n'), 3000);
      return c.buf.toString('latin1');
    });
    const msgs = text.split('   $2014$ ').filter((s) => s.length > 0);
    expect(msgs.map((m) => m.split(' ')[0])).toEqual(['1', '2', '3', '4']);
    expect(msgs[0]).toContain('-ERR Protocol error');
    expect(msgs[1]).toContain('-ERR Protocol error');
    expect(msgs[2]).toContain("-ERR unknown or unsupported command 'NOSUCHCMD'");
    expect(msgs[3]).toBe('4 5 0 1 1 *1 d *5\r\n+OK\r\n');
    c.close();
  });
});
