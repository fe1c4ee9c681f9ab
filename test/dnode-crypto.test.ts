// Peer encryption (secure_server_option / pem_key_file), wire-compatible with Netflix Dynomite:
// AES-128-CBC with key = IV = the first 16 of 32 random bytes, PKCS#7, the key RSA-OAEP-wrapped in
// the data field of a connection's first message. Pure functions against the Rust port's fixtures,
// then a node's dnode port driven by hand-built Netflix frames, then a 2-DC cluster behind a relay.
import { readFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AES_KEY_LEN, aesChunking, aesCipherLength, aesDecrypt, aesDecryptChunked, aesDecryptInto, aesEncrypt, aesEncryptChunked, DnodeCryptoError, encryptedHeader, generateAesKey, keysFromPem,
  linkSecured, loadPemKey, rsaUnwrap, rsaWrap, type SecureServerOption,
} from '../src/crypto/dnode-crypto.js';
import { parseConfig } from '../src/conf/load.js';
import { nodeOptionsFromConfig } from '../src/conf/node-options.js';
import type { RunningNode } from '../src/node.js';
import type { MemoryBackend } from '../src/store/memory-backend.js';
import { startTestNode, silentLogger } from './helpers/node.js';
import { startNode } from '../src/node.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { freePort } from './helpers/servers.js';
import { until } from './helpers/until.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/reference/crypto/${name}`, import.meta.url));
const PEM = fixture('dynomite.pem');
const aesKey = readFileSync(fixture('aes_key.bin'));
const plaintext = readFileSync(fixture('plaintext.bin'));
const ciphertext = readFileSync(fixture('cipher.bin'));

describe('dnode crypto primitives (Netflix dyn_crypto.c)', () => {
  const keys = loadPemKey(PEM);

  it('turns plaintext.bin into cipher.bin with aes_key.bin, and back', () => {
    expect(aesKey.length).toBe(AES_KEY_LEN);
    expect(aesEncrypt(aesKey, plaintext).equals(ciphertext)).toBe(true);
    expect(aesDecrypt(aesKey, ciphertext).equals(plaintext)).toBe(true);
  });

  it('uses only the first 16 key bytes (AES-128), the IV being those same bytes', () => {
    const other = Buffer.from(aesKey);
    other.fill(0x55, 16);
    expect(aesEncrypt(other, plaintext).equals(ciphertext)).toBe(true);
    const flipped = Buffer.from(aesKey);
    flipped[15]! ^= 1;
    expect(aesEncrypt(flipped, plaintext).equals(ciphertext)).toBe(false);
  });

  it('pads with PKCS#7: every length gives a whole number of blocks, 1..16 bytes longer', () => {
    for (let n = 0; n <= 40; n++) {
      const p = Buffer.alloc(n, 0x61 + (n % 26));
      const c = aesEncrypt(aesKey, p);
      expect(c.length).toBe((Math.floor(n / 16) + 1) * 16);
      expect(aesDecrypt(aesKey, c).equals(p)).toBe(true);
    }
  });

  it('cuts payloads as Netflix mbufs do: 16320 plaintext bytes per stream, 16336 of ciphertext', () => {
    const ch = aesChunking(16384);
    expect(ch).toEqual({ plain: 16320, cipher: 16336 });
    expect(aesChunking(512)).toEqual({ plain: 448, cipher: 464 });
    expect(() => aesChunking(16385)).toThrow(DnodeCryptoError);
    const lengths: [number, number][] = [
      [0, 16], [1, 16], [15, 16], [16, 32], [16319, 16320], [16320, 16336], [16321, 16352],
      [20515, 16336 + 4208], [32640, 2 * 16336], [32641, 2 * 16336 + 16],
    ];
    for (const [n, c] of lengths) expect([n, aesCipherLength(n, ch)]).toEqual([n, c]);
    for (const n of [0, 1, 16320, 16321, 20515, 32640, 100000]) {
      const p = Buffer.alloc(n);
      for (let i = 0; i < n; i++) p[i] = (i * 31 + 7) & 0xff;
      const c = aesEncryptChunked(aesKey, p, ch);
      expect(c.length).toBe(aesCipherLength(n, ch));
      // Each piece is its own stream: the concatenation of one-stream encryptions of the slices.
      const slices: Buffer[] = [];
      let at = 0;
      do {
        slices.push(aesEncrypt(aesKey, p.subarray(at, Math.min(at + 16320, n))));
        at += 16320;
      } while (at < n);
      expect(c.equals(Buffer.concat(slices)), `n=${n}`).toBe(true);
      expect(aesDecryptChunked(aesKey, c, ch).equals(p), `n=${n}`).toBe(true);
    }
  });

  it('decrypts in place over the ciphertext (each piece read whole before its plaintext lands)', () => {
    const p = Buffer.alloc(70000);
    for (let i = 0; i < p.length; i++) p[i] = (i * 13 + 1) & 0xff;
    const c = aesEncryptChunked(aesKey, p);
    const mem = Buffer.alloc(c.length + 64, 0xee);
    c.copy(mem, 32);
    const n = aesDecryptInto(aesKey, mem.subarray(32, 32 + c.length), aesChunking(16384), mem, 32);
    expect(n).toBe(p.length);
    expect(mem.subarray(32, 32 + n).equals(p)).toBe(true);
    expect(mem.subarray(0, 32).equals(Buffer.alloc(32, 0xee))).toBe(true);
  });

  it('loads the fixture pem (1024-bit RSA): wrapped keys are 128 bytes and unwrap to the same key', () => {
    expect(keys.rsaSize).toBe(128);
    const k = generateAesKey();
    const w = rsaWrap(keys, k);
    expect(w.length).toBe(128);
    expect(rsaUnwrap(keys, w).equals(k)).toBe(true);
    // OAEP is randomised: two wraps differ, both unwrap.
    const w2 = rsaWrap(keys, k);
    expect(w2.equals(w)).toBe(false);
    expect(rsaUnwrap(keys, w2).equals(k)).toBe(true);
  });

  it('generates 32-byte keys without a zero byte (Netflix strncpy/strlen copies them)', () => {
    for (let i = 0; i < 200; i++) {
      const k = generateAesKey();
      expect(k.length).toBe(32);
      expect(k.includes(0)).toBe(false);
    }
  });

  it('rejects malformed ciphertexts with a DnodeCryptoError', () => {
    expect(() => aesDecrypt(aesKey, Buffer.alloc(0))).toThrow(DnodeCryptoError);
    expect(() => aesDecrypt(aesKey, ciphertext.subarray(0, 15))).toThrow(/not a positive multiple of 16/);
    expect(() => aesDecrypt(aesKey, ciphertext.subarray(0, 47))).toThrow(DnodeCryptoError);
    const wrongKey = Buffer.from(aesKey);
    wrongKey[0]! ^= 0xff;
    // A wrong key almost always breaks the padding; when it does not, the plaintext differs.
    let out: Buffer | undefined;
    try {
      out = aesDecrypt(wrongKey, ciphertext);
    } catch (err) {
      expect(err).toBeInstanceOf(DnodeCryptoError);
    }
    if (out) expect(out.equals(plaintext)).toBe(false);
    expect(() => aesEncrypt(Buffer.alloc(8), plaintext)).toThrow(/too short/);
  });

  it('rejects bad wrapped keys with a DnodeCryptoError', () => {
    expect(() => rsaUnwrap(keys, Buffer.alloc(10))).toThrow(/expected 128/);
    expect(() => rsaUnwrap(keys, Buffer.alloc(128, 7))).toThrow(DnodeCryptoError);
    expect(() => rsaWrap(keys, Buffer.alloc(16))).toThrow(/32 bytes/);
  });

  it('names the file when pem_key_file is missing or not a key', () => {
    expect(() => loadPemKey('no/such/dynomite.pem')).toThrow(/pem_key_file no\/such\/dynomite\.pem .*cannot be read/);
    expect(() => keysFromPem('not a pem', '/x.pem')).toThrow(/pem_key_file \/x\.pem .*not a PEM private key/);
  });

  it('resolves a relative pem_key_file against the working directory', () => {
    const dir = fileURLToPath(new URL('./fixtures/reference/', import.meta.url));
    expect(loadPemKey('crypto/dynomite.pem', dir).rsaSize).toBe(128);
  });

  it('secures the links Netflix is_conn_secured does', () => {
    const self = { dc: 'dc1', rack: 'r1' };
    const cases: [SecureServerOption, { dc: string; rack: string }, boolean][] = [
      ['none', { dc: 'dc2', rack: 'r2' }, false],
      ['datacenter', { dc: 'dc1', rack: 'r2' }, false],
      ['datacenter', { dc: 'dc2', rack: 'r1' }, true],
      ['rack', { dc: 'dc1', rack: 'r1' }, false],
      ['rack', { dc: 'dc1', rack: 'r2' }, true],
      ['rack', { dc: 'dc2', rack: 'r1' }, true],
      ['all', { dc: 'dc1', rack: 'r1' }, true],
    ];
    for (const [opt, peer, want] of cases) expect(linkSecured(opt, self, peer), `${opt} ${peer.dc}/${peer.rack}`).toBe(want);
  });

  it('writes the header Netflix dmsg_write writes', () => {
    expect(encryptedHeader(7, 3, 0, undefined, 32).toString('latin1')).toBe('   $2014$ 7 3 1 1 0 *1 d *32\r\n');
    const h = encryptedHeader(9, 4, 1, Buffer.from('KEY'), 16);
    expect(h.toString('latin1')).toBe('   $2014$ 9 4 1 1 1 *3 KEY *16\r\n');
  });
});

// ---- a TCP relay that records what crosses it ----

interface Relay {
  port: number;
  /** Bytes sent towards the target, and back. */
  out: Buffer[];
  back: Buffer[];
  close(): Promise<void>;
}

async function relay(targetPort: () => number): Promise<Relay> {
  const out: Buffer[] = [];
  const back: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((a) => {
    const b = connect({ host: '127.0.0.1', port: targetPort() });
    sockets.add(a);
    sockets.add(b);
    a.on('data', (d) => { out.push(Buffer.from(d)); b.write(d); });
    b.on('data', (d) => { back.push(Buffer.from(d)); a.write(d); });
    const end = (): void => { a.destroy(); b.destroy(); };
    a.on('error', end); b.on('error', end); a.on('close', end); b.on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    out,
    back,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

/** The dnode headers in a byte stream: [flags, data length] of each (parsed like Netflix's reader). */
function headers(stream: Buffer): { type: number; flags: number; dataLen: number; wrapped: Buffer; payload: Buffer }[] {
  const found: { type: number; flags: number; dataLen: number; wrapped: Buffer; payload: Buffer }[] = [];
  let at = 0;
  for (;;) {
    const m = stream.indexOf('$2014$ ', at, 'latin1');
    if (m < 0) break;
    const head = /^\$2014\$ (\d+) (\d+) (\d+) (\d+) (\d) \*(\d+) /.exec(stream.subarray(m, m + 64).toString('latin1'));
    if (!head) break;
    const dataLen = Number(head[6]);
    let p = m + head[0].length + dataLen;
    const tail = /^ \*(\d+)\r\n/.exec(stream.subarray(p, p + 16).toString('latin1'));
    if (!tail) break;
    p += tail[0].length;
    const len = Number(tail[1]);
    const dataAt = m + head[0].length;
    found.push({ type: Number(head[2]), flags: Number(head[3]), dataLen, wrapped: stream.subarray(dataAt, dataAt + dataLen), payload: stream.subarray(p, p + len) });
    at = p + len;
  }
  return found;
}

function direct(n: RunningNode, ...args: string[]): string {
  return (n.backend as MemoryBackend).store.execute(args.map((a) => Buffer.from(a))).toString('latin1');
}

describe('a node\'s dnode port with secure_server_option (hand-built Netflix frames)', () => {
  let node: RunningNode;
  let dynPort: number;
  const keys = loadPemKey(PEM);
  const sockets: Socket[] = [];

  beforeAll(async () => {
    dynPort = await freePort();
    const other = await freePort(); // a peer in another DC that never comes up
    node = await startTestNode({
      dataStore: 'memory', rack: 'r1', datacenter: 'dc1', tokens: [101134286], timeoutMs: 2000,
      cluster: {
        dynListen: { host: '127.0.0.1', port: dynPort },
        seeds: [{ host: '127.0.0.1', port: other, rack: 'r1', dc: 'dc2', tokens: [101134286] }],
        localPeerConnections: 1, remotePeerConnections: 1, peerReadTimeoutMs: 2000, peerWriteTimeoutMs: 2000,
        secureServerOption: 'datacenter', pemKeyFile: PEM,
      },
    });
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await node?.close('test done', 100);
  });

  async function open(): Promise<{ s: Socket; got: Buffer[]; closed: () => boolean }> {
    const s = connect({ host: '127.0.0.1', port: dynPort });
    sockets.push(s);
    const got: Buffer[] = [];
    let closed = false;
    s.on('data', (d) => got.push(d));
    s.on('close', () => { closed = true; });
    s.on('error', () => undefined);
    await new Promise<void>((r) => s.once('connect', () => r()));
    return { s, got, closed: () => closed };
  }

  it('answers encrypted REQs with encrypted RESs under the key the peer sent (first message only carries it)', async () => {
    const { s, got } = await open();
    const key = generateAesKey();
    const set = aesEncrypt(key, cmd('SET', 'enc1', 'secret-value'));
    const get = aesEncrypt(key, cmd('GET', 'enc1'));
    s.write(Buffer.concat([
      encryptedHeader(41, 3, 0, rsaWrap(keys, key), set.length), set,
      encryptedHeader(42, 3, 0, undefined, get.length), get,
    ]));
    await until('two responses', () => headers(Buffer.concat(got)).length >= 2, 10_000);
    const res = headers(Buffer.concat(got));
    const raw = Buffer.concat(got).toString('latin1');
    expect(raw.slice(0, 31)).toBe('   $2014$ 41 5 1 1 0 *1 d *16\r\n');
    expect(res.map((r) => [r.type, r.flags, r.dataLen])).toEqual([[5, 1, 1], [5, 1, 1]]);
    expect(aesDecrypt(key, res[0]!.payload).toString()).toBe('+OK\r\n');
    expect(aesDecrypt(key, res[1]!.payload).toString()).toBe('$12\r\nsecret-value\r\n');
    expect(raw).not.toContain('secret-value');
    expect(direct(node, 'GET', 'enc1')).toBe('$12\r\nsecret-value\r\n');
  });

  it('still answers plain REQs in clear on a connection that never encrypted', async () => {
    const { s, got } = await open();
    const p = cmd('GET', 'enc1');
    s.write(Buffer.concat([Buffer.from(`   $2014$ 5 3 0 1 1 *1 d *${p.length}\r\n`), p]));
    await until('a plain response', () => Buffer.concat(got).includes('\r\nsecret-value\r\n'), 10_000);
    expect(Buffer.concat(got).toString('latin1')).toBe('   $2014$ 5 5 0 1 1 *1 d *19\r\n$12\r\nsecret-value\r\n');
  });

  const bad: [string, (key: Buffer) => Buffer][] = [
    ['a ciphertext that is not a block multiple', (key) => {
      const c = aesEncrypt(key, cmd('GET', 'x')).subarray(0, 17);
      return Buffer.concat([encryptedHeader(1, 3, 0, rsaWrap(keys, key), c.length), c]);
    }],
    ['a wrapped key of the wrong size', (key) => {
      const c = aesEncrypt(key, cmd('GET', 'x'));
      return Buffer.concat([encryptedHeader(1, 3, 0, Buffer.alloc(20, 1), c.length), c]);
    }],
    ['a wrapped key that does not unwrap', (key) => {
      const c = aesEncrypt(key, cmd('GET', 'x'));
      return Buffer.concat([encryptedHeader(1, 3, 0, Buffer.alloc(128, 9), c.length), c]);
    }],
    ['an encrypted message before any key', (key) => {
      const c = aesEncrypt(key, cmd('GET', 'x'));
      return Buffer.concat([encryptedHeader(1, 3, 0, undefined, c.length), c]);
    }],
    ['a ciphertext under another key', (key) => {
      // One whose padding does not check out under `key` (a wrong key passes it about 1 time in 256).
      let c: Buffer;
      for (;;) {
        c = aesEncrypt(generateAesKey(), Buffer.alloc(64, 0x41));
        try {
          aesDecrypt(key, c);
        } catch {
          break;
        }
      }
      return Buffer.concat([encryptedHeader(1, 3, 0, rsaWrap(keys, key), c.length), c]);
    }],
  ];
  for (const [name, frame] of bad) {
    it(`closes the connection (and only it) on ${name}`, async () => {
      const { s, got, closed } = await open();
      s.write(frame(generateAesKey()));
      await until('the node to close the connection', closed, 10_000);
      expect(headers(Buffer.concat(got))).toEqual([]);
      const c = await RawClient.connect(node.port);
      c.write(cmd('PING'));
      expect(String((await c.replies(1))[0])).toBe('+PONG\r\n');
      c.close();
    });
  }
});

describe('2 DCs with secure_server_option: datacenter (in-process, relays on dc1-a\'s links)', () => {
  const nodes: RunningNode[] = [];
  const relays: Relay[] = [];
  let toRemote: Relay;
  let toLocal: Relay;

  beforeAll(async () => {
    const dyn = [await freePort(), await freePort(), await freePort()];
    // Node 0 (dc1/r1) reaches node 1 (dc1/r2) and node 2 (dc2/r1) through recording relays.
    toLocal = await relay(() => dyn[1]!);
    toRemote = await relay(() => dyn[2]!);
    relays.push(toLocal, toRemote);
    const where = [{ dc: 'dc1', rack: 'r1' }, { dc: 'dc1', rack: 'r2' }, { dc: 'dc2', rack: 'r1' }];
    // Node 0 last: a relay accepts before its target listens, and a link that looked up would drop.
    for (const i of [1, 2, 0]) {
      const seeds = [0, 1, 2].filter((j) => j !== i).map((j) => ({
        host: '127.0.0.1',
        port: i === 0 && j === 1 ? toLocal.port : i === 0 && j === 2 ? toRemote.port : dyn[j]!,
        rack: where[j]!.rack, dc: where[j]!.dc, tokens: [101134286],
      }));
      nodes[i] = await startTestNode({
        dataStore: 'memory', rack: where[i]!.rack, datacenter: where[i]!.dc, tokens: [101134286], timeoutMs: 2000,
        cluster: {
          dynListen: { host: '127.0.0.1', port: dyn[i]! }, seeds, localPeerConnections: 1, remotePeerConnections: 1,
          peerReadTimeoutMs: 2000, peerWriteTimeoutMs: 2000, secureServerOption: 'datacenter', pemKeyFile: PEM,
        },
      });
    }
    await until('peers to connect', () => nodes.every((n) => n.cluster!.peers.every((p) => !p || p.up)), 10_000);
  });

  afterAll(async () => {
    for (const n of nodes) await n?.close('test done', 100);
    for (const r of relays) await r.close();
  });

  it('replicates writes to the other rack and across DCs; only the cross-DC link is encrypted', async () => {
    const c = await RawClient.connect(nodes[0]!.port);
    c.write(cmd('SET', 'xdc-key', 'xdc-plaintext-value'));
    expect(String((await c.replies(1))[0])).toBe('+OK\r\n');
    await until('replication to every node', () => nodes.every((n) => direct(n, 'GET', 'xdc-key') === '$19\r\nxdc-plaintext-value\r\n'), 10_000);
    c.close();

    const remote = Buffer.concat(toRemote.out);
    const rh = headers(remote);
    expect(rh.length).toBeGreaterThan(0);
    expect(rh.map((h) => h.flags)).toEqual(rh.map(() => 1));
    expect(rh[0]!.dataLen).toBe(128); // the wrapped AES key, on the connection's first message
    expect(rh.slice(1).map((h) => h.dataLen)).toEqual(rh.slice(1).map(() => 1));
    expect(rh.map((h) => h.payload.length % 16)).toEqual(rh.map(() => 0));
    expect(remote.toString('latin1')).not.toContain('xdc-plaintext-value');
    expect(remote.toString('latin1')).not.toContain('xdc-key');
    // Replies from dc2 (if the relay carried any) are encrypted too.
    const back = Buffer.concat(toRemote.back);
    expect(headers(back).length).toBeGreaterThan(0); // the REQ_FORWARD's RES
    expect(headers(back).map((h) => [h.flags, h.dataLen])).toEqual(headers(back).map(() => [1, 1]));
    expect(nodes[0]!.cluster!.peers[2]!.up).toBe(true); // and it decrypted: the link did not break
    expect(back.includes('OK')).toBe(false);

    const local = Buffer.concat(toLocal.out);
    const lh = headers(local);
    expect(lh.length).toBeGreaterThan(0);
    expect(lh.map((h) => [h.flags, h.dataLen])).toEqual(lh.map(() => [0, 1]));
    expect(local.includes('xdc-plaintext-value')).toBe(true);
  });

  it('serves reads in both DCs, and writes made in dc2 reach dc1', async () => {
    const a = await RawClient.connect(nodes[0]!.port);
    const b = await RawClient.connect(nodes[2]!.port);
    b.write(cmd('SET', 'from-dc2', 'v2'));
    expect(String((await b.replies(1))[0])).toBe('+OK\r\n');
    await until('dc2 -> dc1 replication', () => direct(nodes[0]!, 'GET', 'from-dc2') === '$2\r\nv2\r\n', 10_000);
    a.write(Buffer.concat([cmd('DYNO_CONFIG:CONN_CONSISTENCY', 'DC_QUORUM'), cmd('GET', 'from-dc2'), cmd('GET', 'xdc-key')]));
    expect((await a.replies(3)).map(String)).toEqual(['+OK\r\n', '$2\r\nv2\r\n', '$19\r\nxdc-plaintext-value\r\n']);
    b.write(cmd('GET', 'xdc-key'));
    expect(String((await b.replies(1))[0])).toBe('$19\r\nxdc-plaintext-value\r\n');
    a.close();
    b.close();
  });

  it('refuses to start when a link needs encryption and pem_key_file is missing, naming the file', async () => {
    const p = await freePort();
    await expect(startTestNode({
      dataStore: 'memory', rack: 'r1', datacenter: 'dc1', tokens: [1],
      cluster: {
        dynListen: { host: '127.0.0.1', port: p },
        seeds: [{ host: '127.0.0.1', port: await freePort(), rack: 'r1', dc: 'dc2', tokens: [1] }],
        localPeerConnections: 1, remotePeerConnections: 1, peerReadTimeoutMs: 1000, peerWriteTimeoutMs: 1000,
        secureServerOption: 'datacenter', pemKeyFile: 'missing/dynomite.pem',
      },
    })).rejects.toThrow(/secure_server_option: datacenter .*pem_key_file missing\/dynomite\.pem/);
  });

  it('runs without a key when the option encrypts no link of this node: writes replicate in clear', async () => {
    // Two racks of one DC, both without their pem_key_file; a's link to b goes through a relay.
    const dyn = [await freePort(), await freePort()];
    const link = await relay(() => dyn[1]!);
    const pair: RunningNode[] = [];
    try {
      for (const i of [1, 0]) { // a last: its link must not reach the relay before b listens
        pair[i] = await startTestNode({
          dataStore: 'memory', rack: `r${i + 1}`, datacenter: 'dc1', tokens: [1],
          cluster: {
            dynListen: { host: '127.0.0.1', port: dyn[i]! },
            seeds: [{ host: '127.0.0.1', port: i === 0 ? link.port : dyn[0]!, rack: `r${2 - i}`, dc: 'dc1', tokens: [1] }],
            localPeerConnections: 1, remotePeerConnections: 1, peerReadTimeoutMs: 1000, peerWriteTimeoutMs: 1000,
            secureServerOption: 'datacenter', pemKeyFile: 'missing/dynomite.pem',
          },
        });
      }
      await until('peers to connect', () => pair.every((n) => n.cluster!.peers.every((p) => !p || p.up)), 10_000);
      const c = await RawClient.connect(pair[0]!.port);
      c.write(cmd('SET', 'nokey', 'clear-value'));
      expect(String((await c.replies(1))[0])).toBe('+OK\r\n');
      c.close();
      await until('the write in the other rack', () => expect(direct(pair[1]!, 'GET', 'nokey')).toBe('$11\r\nclear-value\r\n'));
      const sent = headers(Buffer.concat(link.out));
      expect(sent.length).toBeGreaterThan(0);
      expect(sent.map((h) => [h.flags, h.dataLen])).toEqual(sent.map(() => [0, 1])); // nothing encrypted
      expect(Buffer.concat(link.out).toString('latin1')).toContain('clear-value');
    } finally {
      for (const n of pair) await n?.close('test done', 50);
      await link.close();
    }
  });
});

describe('secure_server_option: rack, 2 racks of one DC: quorum reads need the encrypted replies', () => {
  const nodes: RunningNode[] = [];
  let link: Relay;

  beforeAll(async () => {
    const dyn = [await freePort(), await freePort()];
    link = await relay(() => dyn[1]!);
    const racks = ['r1', 'r2'];
    for (const i of [1, 0]) { // node 0 last (see above)
      nodes[i] = await startTestNode({
        dataStore: 'memory', rack: racks[i]!, datacenter: 'dc1', tokens: [101134286], timeoutMs: 2000,
        cluster: {
          dynListen: { host: '127.0.0.1', port: dyn[i]! },
          seeds: [{ host: '127.0.0.1', port: i === 0 ? link.port : dyn[0]!, rack: racks[1 - i]!, dc: 'dc1', tokens: [101134286] }],
          localPeerConnections: 1, remotePeerConnections: 1, peerReadTimeoutMs: 2000, peerWriteTimeoutMs: 2000,
          secureServerOption: 'rack', pemKeyFile: PEM,
        },
      });
    }
    await until('peers to connect', () => nodes.every((n) => n.cluster!.peers.every((p) => !p || p.up)), 10_000);
  });

  afterAll(async () => {
    for (const n of nodes) await n?.close('test done', 100);
    await link.close();
  });

  it('DC_QUORUM GET gets the other rack\'s value through an encrypted RES; a big value too', async () => {
    const big = 'B'.repeat(100000);
    (nodes[1]!.backend as MemoryBackend).store.execute([Buffer.from('SET'), Buffer.from('q'), Buffer.from('v1')]);
    (nodes[0]!.backend as MemoryBackend).store.execute([Buffer.from('SET'), Buffer.from('q'), Buffer.from('v1')]);
    const c = await RawClient.connect(nodes[0]!.port);
    c.write(Buffer.concat([cmd('DYNO_CONFIG:CONN_CONSISTENCY', 'DC_QUORUM'), cmd('GET', 'q'), cmd('SET', 'big', big), cmd('GET', 'big')]));
    const r = (await c.replies(4)).map(String);
    expect(r.slice(0, 3)).toEqual(['+OK\r\n', '$2\r\nv1\r\n', '+OK\r\n']);
    expect(r[3]).toBe(`$100000\r\n${big}\r\n`);
    expect(direct(nodes[1]!, 'GET', 'q')).toBe('$2\r\nv1\r\n');
    c.close();
    const back = headers(Buffer.concat(link.back));
    expect(back.length).toBeGreaterThanOrEqual(3);
    expect(back.map((h) => [h.type, h.flags])).toEqual(back.map(() => [5, 1]));
    expect(Buffer.concat(link.back).includes('BBBBBBBB')).toBe(false);
    expect(Buffer.concat(link.out).includes('BBBBBBBB')).toBe(false);
    // Netflix's framing both ways: one AES stream per 16320 plaintext bytes (16336 of ciphertext).
    const out = headers(Buffer.concat(link.out));
    const key = rsaUnwrap(loadPemKey(PEM), out.find((h) => h.dataLen > 1)!.wrapped);
    const setBig = cmd('SET', 'big', big);
    const sent = out.find((h) => h.payload.length === aesCipherLength(setBig.length))!;
    expect([setBig.length, sent.payload.length]).toEqual([100033, 6 * 16336 + 2128]);
    expect(sent.payload.equals(aesEncryptChunked(key, setBig))).toBe(true);
    const reply = back.find((h) => h.payload.length > 100000)!;
    expect(reply.payload.equals(aesEncryptChunked(key, Buffer.from(`$100000\r\n${big}\r\n`)))).toBe(true);
  });
});

describe("Netflix's sample configs redis_dc1.yml / redis_dc2.yml (secure_server_option: datacenter)", () => {
  const nodes: RunningNode[] = [];

  afterAll(async () => {
    for (const n of nodes) await n?.close('test done', 100);
  });

  /** The sample file with only what a test must change: free loopback ports, memory store, the key's path. */
  async function sample(name: string, ports: Record<string, number>): Promise<string> {
    let text = readFileSync(fileURLToPath(new URL(`./fixtures/reference/conf/${name}`, import.meta.url)), 'utf8');
    for (const [from, to] of Object.entries(ports)) text = text.split(from).join(`127.0.0.1:${to}`);
    return text
      .replace(/stats_listen: .*/, `stats_listen: 127.0.0.1:${await freePort()}`)
      .replace('data_store: 0', 'data_store: memory')
      .replace('pem_key_file: conf/dynomite.pem', `pem_key_file: ${PEM}`);
  }

  it('start, replicate across the DCs and serve reads', async () => {
    const [d1, d2, l1, l2] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const ports = { '127.0.0.1:8101': d1, '127.0.0.2:8101': d2, '127.0.0.1:8102': l1, '127.0.0.2:8102': l2 };
    for (const name of ['redis_dc2.yml', 'redis_dc1.yml']) {
      const conf = parseConfig(await sample(name, ports), name);
      expect([conf.secureServerOption, conf.pemKeyFile]).toEqual(['datacenter', PEM]);
      const opts = nodeOptionsFromConfig(conf);
      expect(opts.cluster?.pemKeyFile).toBe(PEM);
      nodes.push(await startNode(opts, { logger: silentLogger }));
    }
    await until('peers to connect', () => nodes.every((n) => n.cluster!.peers.every((p) => !p || p.up)), 10_000);
    const [dc2, dc1] = nodes as [RunningNode, RunningNode];
    const c = await RawClient.connect(dc1.port);
    c.write(cmd('SET', 'sample', 'conf'));
    expect(String((await c.replies(1))[0])).toBe('+OK\r\n');
    await until('dc1 -> dc2 replication', () => direct(dc2, 'GET', 'sample') === '$4\r\nconf\r\n', 10_000);
    const d = await RawClient.connect(dc2.port);
    d.write(cmd('GET', 'sample'));
    expect(String((await d.replies(1))[0])).toBe('$4\r\nconf\r\n');
    c.close();
    d.close();
  });
});
