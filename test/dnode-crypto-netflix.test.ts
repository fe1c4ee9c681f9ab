// Encrypted dnode messages recorded from a real Netflix Dynomite (test/fixtures/netflix-crypto, its
// README says how): our framer and decryption read them back to the exact RESP Netflix was given, our
// encryption of that RESP under the same key gives the same bytes, and a node fed Netflix's recorded
// stream stores the values and answers in the same framing. Runs without Netflix.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  aesChunking, aesCipherLength, aesDecrypt, aesDecryptChunked, aesEncrypt, aesEncryptChunked, decryptRecord,
  DEFAULT_AES_CHUNKING, DnodeCryptoError, encryptedHeader, loadPemKey, rsaUnwrap, type AesChunking,
} from '../src/crypto/dnode-crypto.js';
import { createCore } from '../src/wasm/core.js';
import { Framer, type FrameSink } from '../src/wasm/framer.js';
import { DnodeRecords } from '../src/wasm/dnode.js';
import type { RunningNode } from '../src/node.js';
import type { MemoryBackend } from '../src/store/memory-backend.js';
import { startTestNode } from './helpers/node.js';
import { resp } from './helpers/dnode-peer.js';
import { freePort } from './helpers/servers.js';
import { until } from './helpers/until.js';

const dir = (p: string): string => fileURLToPath(new URL(`./fixtures/netflix-crypto/${p}`, import.meta.url));
const file = (p: string): Buffer => readFileSync(dir(p));
const meta = JSON.parse(file('keys.json').toString()) as Record<string, string>;
const PEM = fileURLToPath(new URL('./fixtures/reference/crypto/dynomite.pem', import.meta.url));
const keys = loadPemKey(PEM);
const netflixKey = Buffer.from(meta.netflixKey!, 'hex');
const replyKey = Buffer.from(meta.replyKey!, 'hex');

/** The recorded values (fixture README): byte i is 'a' + ((i * 7 + seed + (i >> 9)) % 26). */
function value(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 0x61 + ((i * 7 + seed + (i >> 9)) % 26);
  return b;
}
const bulk = (v: Buffer): Buffer => Buffer.concat([Buffer.from(`$${v.length}\r\n`), v, Buffer.from('\r\n')]);

const K20 = value(20480, 1);
const K100 = value(102400, 2);
const SMALL = value(5, 3);
const OURS20 = value(20480, 4);

interface Msg { id: number; type: number; flags: number; data: Buffer; header: Buffer; payload: Buffer }

/** Frames a byte stream with the production dnode framer; every message, its header and payload copied. */
function frame(stream: Buffer): Msg[] {
  const core = createCore({ mbufCount: 64 });
  const recs = new DnodeRecords(core);
  const got: Msg[] = [];
  const sink: FrameSink = {
    onFrames(_f, base, count) {
      recs.copy(base, count);
      for (let i = 0; i < count; i++) {
        const at = recs.payloadAt[i]!;
        const msgStart = at - (recs.len[i]! - recs.payloadLen[i]!);
        got.push({
          id: recs.msgId(i), type: recs.type[i]!, flags: recs.flags[i]!,
          data: Buffer.from(core.u8.subarray(recs.dataAt[i]!, recs.dataAt[i]! + recs.dataLen[i]!)),
          header: Buffer.from(core.u8.subarray(msgStart, at)),
          payload: Buffer.from(core.u8.subarray(at, at + recs.payloadLen[i]!)),
        });
      }
    },
  };
  const f = new Framer(core, 'dnode', 4 << 20);
  // In 1000-byte reads, as a socket would hand them over.
  for (let at = 0; at < stream.length; at += 1000) f.feed(stream.subarray(at, at + 1000), sink);
  f.close();
  return got;
}

/** Decrypts every message of a stream through decryptRecord (the peer link's path). */
function decryptAll(stream: Buffer, ch: AesChunking): { keys: Buffer[]; plains: Buffer[] } {
  const core = createCore({ mbufCount: 64 });
  const recs = new DnodeRecords(core);
  let key: Buffer | undefined;
  const out = { keys: [] as Buffer[], plains: [] as Buffer[] };
  const f = new Framer(core, 'dnode', 4 << 20);
  f.feed(stream, {
    onFrames(_f, base, count) {
      recs.copy(base, count);
      for (let i = 0; i < count; i++) {
        let plain: Buffer;
        [key, plain] = decryptRecord(recs, i, keys, key, ch);
        out.keys.push(key);
        out.plains.push(plain);
      }
    },
  });
  f.close();
  return out;
}

const REQ_FILES = ['req-set-20k.bin', 'req-set-100k.bin', 'req-set-small.bin'];
const REQ_PLAIN = [resp('SET', 'k20', K20), resp('SET', 'k100', K100), resp('SET', 'small', SMALL)];
const RES_FILES = ['res-ok.bin', 'res-get-20k.bin', 'res-get-100k.bin', 'res-get-ours20k.bin'];
const RES_PLAIN = [Buffer.from('+OK\r\n'), bulk(K20), bulk(K100), bulk(OURS20)];

describe('Netflix dynomite\'s recorded encrypted messages (mbuf_size 16384)', () => {
  const reqStream = Buffer.concat(REQ_FILES.map(file));

  it('frames the requests Netflix sent: REQ, flags 1, the key on the first only, total ciphertext lengths', () => {
    const msgs = frame(reqStream);
    expect(msgs.map((m) => [m.type, m.flags, m.data.length, m.payload.length])).toEqual([
      [3, 1, 128, 20544], [3, 1, 1, 102544], [3, 1, 1, 48],
    ]);
    // 16336 + 4208: the figure seen on the wire in the failing mixed cluster.
    expect(aesCipherLength(REQ_PLAIN[0]!.length)).toBe(16336 + 4208);
    expect(msgs.map((m) => m.payload.length)).toEqual(REQ_PLAIN.map((p) => aesCipherLength(p.length)));
    expect(rsaUnwrap(keys, msgs[0]!.data).equals(netflixKey)).toBe(true);
  });

  it('decrypts them (pieces of 16336 bytes, each its own stream) to the exact SETs', () => {
    const { keys: used, plains } = decryptAll(reqStream, DEFAULT_AES_CHUNKING);
    expect(plains.map((p) => p.length)).toEqual(REQ_PLAIN.map((p) => p.length));
    plains.forEach((p, i) => expect(p.equals(REQ_PLAIN[i]!), `request ${i}`).toBe(true));
    expect(used.every((k) => k.equals(netflixKey))).toBe(true);
  });

  it('our encryption of the same SETs under the same key gives Netflix\'s bytes, header and payload', () => {
    const msgs = frame(reqStream);
    msgs.forEach((m, i) => {
      const ours = aesEncryptChunked(netflixKey, REQ_PLAIN[i]!);
      expect(ours.length).toBe(m.payload.length);
      expect(ours.equals(m.payload), `payload ${i}`).toBe(true);
      // The wrapped key is RSA-OAEP (random each time): take Netflix's, the rest of the header is ours.
      const header = encryptedHeader(m.id, 3, 1, m.data.length > 1 ? m.data : undefined, ours.length);
      expect(header.toString('latin1')).toBe(m.header.toString('latin1'));
    });
    expect(Buffer.concat(msgs.map((m, i) => Buffer.concat([
      encryptedHeader(m.id, 3, 1, m.data.length > 1 ? m.data : undefined, m.payload.length), aesEncryptChunked(netflixKey, REQ_PLAIN[i]!),
    ]))).equals(reqStream)).toBe(true);
  });

  it('decrypts Netflix\'s replies (RES) under the requester\'s key, and ours are the same bytes', () => {
    const msgs = frame(Buffer.concat(RES_FILES.map(file)));
    expect(msgs.map((m) => [m.id, m.type, m.flags, m.data.length, m.payload.length])).toEqual([
      [101, 5, 1, 1, 16], [102, 5, 1, 1, 20512], [103, 5, 1, 1, 102512], [104, 5, 1, 1, 20512],
    ]);
    msgs.forEach((m, i) => {
      expect(aesDecryptChunked(replyKey, m.payload).equals(RES_PLAIN[i]!), `reply ${i}`).toBe(true);
      expect(Buffer.concat([encryptedHeader(m.id, 5, 1, undefined, m.payload.length), aesEncryptChunked(replyKey, RES_PLAIN[i]!)])
        .equals(file(RES_FILES[i]!)), `reply ${i} bytes`).toBe(true);
    });
  });

  it('is not one AES stream over the payload (what we sent before): that reading fails or differs', () => {
    const m = frame(file('req-set-20k.bin'))[0]!;
    expect(aesEncrypt(netflixKey, REQ_PLAIN[0]!).length).toBe(20528);
    let oneStream: Buffer | undefined;
    try {
      oneStream = aesDecrypt(netflixKey, m.payload);
    } catch (err) {
      expect(err).toBeInstanceOf(DnodeCryptoError);
    }
    expect(oneStream?.equals(REQ_PLAIN[0]!) ?? false).toBe(false);
  });
});

describe('Netflix with mbuf_size: 4096 in its YAML (test/fixtures/netflix-crypto/mbuf-4096)', () => {
  const key = Buffer.from(meta.mbuf4096NetflixKey!, 'hex');
  const ch = aesChunking(4096);

  it('cuts the payload by its own mbuf size: plaintext pieces of 4032, ciphertext pieces of 4048', () => {
    expect(ch).toEqual({ plain: 4032, cipher: 4048 });
    const req = frame(file('mbuf-4096/req-set-20k.bin'))[0]!;
    expect(req.payload.length).toBe(5 * 4048 + 368);
    expect(aesDecryptChunked(key, req.payload, ch).equals(REQ_PLAIN[0]!)).toBe(true);
    expect(aesEncryptChunked(key, REQ_PLAIN[0]!, ch).equals(req.payload)).toBe(true);
    const res = frame(file('mbuf-4096/res-get-20k.bin'))[0]!;
    expect(aesDecryptChunked(replyKey, res.payload, ch).equals(bulk(K20))).toBe(true);
  });

  it('does not decrypt with the default chunking: the error names the piece and mbuf_size', () => {
    const req = frame(file('mbuf-4096/req-set-20k.bin'))[0]!;
    expect(() => aesDecryptChunked(key, req.payload, DEFAULT_AES_CHUNKING))
      .toThrow(/piece 1 of 2, bytes 0\.\.16336, pieces of 16336 bytes: same mbuf_size on both nodes\?/);
  });
});

describe('a node (secure_server_option: all) fed Netflix\'s recorded request stream on its dnode port', () => {
  let node: RunningNode;
  let dynPort: number;
  let sock: Socket | undefined;

  beforeAll(async () => {
    dynPort = await freePort();
    const other = await freePort(); // the other rack's node, never up
    node = await startTestNode({
      dataStore: 'memory', rack: 'r1', datacenter: 'dc1', tokens: [0], timeoutMs: 2000,
      cluster: {
        dynListen: { host: '127.0.0.1', port: dynPort },
        seeds: [{ host: '127.0.0.1', port: other, rack: 'r2', dc: 'dc1', tokens: [0] }],
        localPeerConnections: 1, remotePeerConnections: 1, peerReadTimeoutMs: 2000, peerWriteTimeoutMs: 2000,
        secureServerOption: 'all', pemKeyFile: PEM,
      },
    });
  });

  afterAll(async () => {
    sock?.destroy();
    await node?.close('test done', 100);
  });

  it('stores the values byte-exact and answers in Netflix\'s framing under Netflix\'s key', async () => {
    const s = connect({ host: '127.0.0.1', port: dynPort });
    sock = s;
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    s.on('error', () => undefined);
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write(Buffer.concat(REQ_FILES.map(file)));
    const gets = [resp('GET', 'k20'), resp('GET', 'k100')];
    gets.forEach((g, i) => {
      const c = aesEncryptChunked(netflixKey, g);
      s.write(Buffer.concat([encryptedHeader(200 + i, 3, 1, undefined, c.length), c]));
    });
    await until('five RES', () => frame(Buffer.concat(got)).length >= 5, 10_000);
    const msgs = frame(Buffer.concat(got));
    expect(msgs.map((m) => [m.id, m.type, m.flags, m.data.length])).toEqual([[2, 5, 1, 1], [5, 5, 1, 1], [10, 5, 1, 1], [200, 5, 1, 1], [201, 5, 1, 1]]);
    const want = [Buffer.from('+OK\r\n'), Buffer.from('+OK\r\n'), Buffer.from('+OK\r\n'), bulk(K20), bulk(K100)];
    msgs.forEach((m, i) => {
      expect(aesDecryptChunked(netflixKey, m.payload).equals(want[i]!), `reply ${i}`).toBe(true);
      // Byte for byte what Netflix would send for that reply on that connection.
      expect(Buffer.concat([encryptedHeader(m.id, 5, 1, undefined, m.payload.length), aesEncryptChunked(netflixKey, want[i]!)])
        .equals(Buffer.concat([m.header, m.payload])), `reply ${i} bytes`).toBe(true);
    });
    // The same lengths as Netflix's own replies to GET k20 / GET k100.
    expect([msgs[3]!.payload.length, msgs[4]!.payload.length]).toEqual([20512, 102512]);
    const store = (node.backend as MemoryBackend).store;
    for (const [k, v] of [['k20', K20], ['k100', K100], ['small', SMALL]] as const) {
      expect(store.execute([Buffer.from('GET'), Buffer.from(k)]).equals(bulk(v)), k).toBe(true);
    }
  });
});
