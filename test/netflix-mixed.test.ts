// A mixed encrypted cluster: one rack of Netflix Dynomite (the binary $DYNOMITE_NETFLIX_BIN), one rack
// of ours, each node over its own redis-server, `secure_server_option: all`, at DC_ONE and at
// DC_QUORUM. Values of 20 KB, 100 KB and 1 MB written through either kind of node must land
// byte-exact in both redis servers (every replica write crosses the encrypted link, in Netflix's
// per-mbuf AES framing), quorum reads bring them back through the other kind's encrypted replies, and
// small writes interleaved with the big ones on the same links all arrive (INCR counters end exact).
//
// Without DYNOMITE_NETFLIX_BIN the suite is skipped (the recorded Netflix bytes in
// test/dnode-crypto-netflix.test.ts cover the framing without the binary). To run it:
//   DYNOMITE_NETFLIX_BIN=/path/to/netflix/src/dynomite npx vitest run test/netflix-mixed.test.ts
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, spawnNode, type NodeProcess } from './helpers/node-process.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { freePort, startRedis, waitForPort, type RunningServer } from './helpers/servers.js';
import { until } from './helpers/until.js';

const NETFLIX_BIN = process.env.DYNOMITE_NETFLIX_BIN;
const PEM = fileURLToPath(new URL('./fixtures/reference/crypto/dynomite.pem', import.meta.url));
const SKIP_REASON = 'DYNOMITE_NETFLIX_BIN is not set (point it at a Netflix dynomite binary to run this suite)';
if (!NETFLIX_BIN) {
  console.log(`test/netflix-mixed.test.ts skipped: ${SKIP_REASON}, e.g. DYNOMITE_NETFLIX_BIN=/path/to/dynomite npx vitest run test/netflix-mixed.test.ts`);
}

/** A value no two keys share: byte i depends on i and the seed, never a CR or LF. */
function value(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 0x21 + ((i * 31 + seed * 7 + (i >> 12)) % 90);
  return b;
}
const bulk = (v: Buffer): Buffer => Buffer.concat([Buffer.from(`$${v.length}\r\n`), v, Buffer.from('\r\n')]);

interface NetflixNode {
  proc: ChildProcess;
  port: number;
  dir: string;
  log(): string;
  stop(): Promise<void>;
}

async function startNetflix(bin: string, conf: string): Promise<NetflixNode> {
  const dir = mkdtempSync(join(tmpdir(), 'dyn-netflix-'));
  const path = join(dir, 'netflix.yml');
  writeFileSync(path, conf);
  const proc = spawn(bin, ['-c', path, '-v', '5'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => {
    log += d.toString('latin1');
    if (log.length > 512 * 1024) log = log.slice(-256 * 1024);
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const port = Number(/listen: 127\.0\.0\.1:(\d+)/.exec(conf)![1]);
  return {
    proc, port, dir, log: () => log,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const SIZES: [string, number][] = [['20k', 20 * 1024], ['100k', 100 * 1024], ['1m', 1024 * 1024]];

for (const consistency of ['DC_ONE', 'DC_QUORUM'] as const) {
  describe.skipIf(!NETFLIX_BIN)(`mixed encrypted cluster, Netflix rack + our rack, ${consistency} (needs DYNOMITE_NETFLIX_BIN, a Netflix dynomite binary: skipped without it)`, () => {
    const redis: RunningServer[] = [];
    let netflix: NetflixNode | undefined;
    let ours: NodeProcess | undefined;
    const clients: RawClient[] = [];
    /** Client ports: [0] Netflix, [1] ours. */
    const ports: number[] = [];
    const seedOf = (i: number): number => 10 * (consistency === 'DC_ONE' ? 1 : 2) + i;

    beforeAll(async () => {
      if (!existsSync(NETFLIX_BIN!)) throw new Error(`DYNOMITE_NETFLIX_BIN=${NETFLIX_BIN} does not exist`);
      ensureBuilt();
      redis.push(await startRedis(), await startRedis());
      const nfDyn = await freePort();
      const ourDyn = await freePort();
      const nfPort = await freePort();
      const nfStats = await freePort();
      netflix = await startNetflix(NETFLIX_BIN!, `dyn_o_mite:
  datacenter: dc1
  rack: nf
  dyn_listen: 127.0.0.1:${nfDyn}
  dyn_seeds:
  - 127.0.0.1:${ourDyn}:ts:dc1:0
  listen: 127.0.0.1:${nfPort}
  servers:
  - 127.0.0.1:${redis[0]!.port}:1
  tokens: '0'
  data_store: 0
  stats_listen: 127.0.0.1:${nfStats}
  secure_server_option: all
  pem_key_file: ${PEM}
  read_consistency: ${consistency}
  write_consistency: ${consistency}
  timeout: 5000
`);
      ours = await spawnNode({
        dataStore: { redisPort: redis[1]!.port },
        conf: {
          datacenter: 'dc1', rack: 'ts', tokens: "'0'",
          dyn_listen: `127.0.0.1:${ourDyn}`,
          dyn_seeds: `\n  - 127.0.0.1:${nfDyn}:nf:dc1:0`,
          secure_server_option: 'all', pem_key_file: PEM,
          read_consistency: consistency, write_consistency: consistency,
          timeout: '5000',
        },
      });
      await waitForPort(nfPort, 10_000);
      ports.push(nfPort, ours.port);
      for (const p of ports) clients.push(await RawClient.connect(p));
      // Ready when a write through each node reaches the other one's redis (both links carry it).
      for (const [i, c] of clients.entries()) {
        const key = `ready-${consistency}-${i}`;
        await until(`a write through ${i === 0 ? 'Netflix' : 'our node'} to reach the other rack's redis`, async () => {
          c.write(cmd('SET', key, 'x'));
          expect(String((await c.replies(1))[0])).toBe('+OK\r\n');
          const r = await RawClient.connect(redis[1 - i]!.port);
          try {
            r.write(cmd('GET', key));
            expect(String((await r.replies(1))[0])).toBe('$1\r\nx\r\n');
          } finally {
            r.close();
          }
        }, 20_000, 200);
      }
    }, 60_000);

    afterAll(async () => {
      for (const c of clients) c.close();
      if (netflix && process.env.DYNOMITE_NETFLIX_LOG) console.log(netflix.log().slice(-8000));
      await ours?.stop();
      await netflix?.stop();
      for (const r of redis) await r.stop();
    });

    async function stored(i: number, key: string): Promise<Buffer> {
      const r = await RawClient.connect(redis[i]!.port);
      try {
        r.write(cmd('GET', key));
        return (await r.replies(1, 20_000))[0]!;
      } finally {
        r.close();
      }
    }

    function logs(): string {
      return `\n--- Netflix log ---\n${netflix?.log().slice(-3000)}\n--- our log ---\n${ours?.log().slice(-3000)}`;
    }

    for (const [from, name] of [[0, 'Netflix'], [1, 'our node']] as const) {
      it(`writes 20 KB, 100 KB and 1 MB through ${name}: both redis servers hold them byte-exact`, async () => {
        const c = clients[from]!;
        for (const [label, n] of SIZES) {
          const key = `big-${consistency}-${from}-${label}`;
          const v = value(n, seedOf(from) + n);
          c.write(cmd('SET', key, v));
          expect(String((await c.replies(1, 20_000))[0]), `SET ${key}${logs()}`).toBe('+OK\r\n');
          const want = bulk(v);
          // DC_QUORUM answered after both racks wrote it; DC_ONE after the first, the other follows.
          if (consistency === 'DC_QUORUM') {
            expect((await stored(1 - from, key)).equals(want), `${key} in the other rack's redis${logs()}`).toBe(true);
          } else {
            await until(`${key} in the other rack's redis`, async () => {
              expect((await stored(1 - from, key)).length).toBe(want.length);
            }, 10_000, 50);
          }
          expect((await stored(0, key)).equals(want), `${key} in Netflix's redis${logs()}`).toBe(true);
          expect((await stored(1, key)).equals(want), `${key} in our redis${logs()}`).toBe(true);
        }
      }, 60_000);
    }

    it('reads every big value back through both nodes (at DC_QUORUM through the other kind\'s encrypted replies)', async () => {
      for (const from of [0, 1]) {
        for (const [label, n] of SIZES) {
          const key = `big-${consistency}-${from}-${label}`;
          const want = bulk(value(n, seedOf(from) + n));
          for (const via of [0, 1]) {
            const c = clients[via]!;
            c.write(cmd('GET', key));
            const got = (await c.replies(1, 20_000))[0]!;
            expect(got.length, `GET ${key} via ${via === 0 ? 'Netflix' : 'ours'}${logs()}`).toBe(want.length);
            expect(got.equals(want), `GET ${key} via ${via === 0 ? 'Netflix' : 'ours'}`).toBe(true);
          }
        }
      }
    }, 60_000);

    it('interleaves small writes with big ones on the same links: INCR counters end exact in both redis', async () => {
      const rounds = 20;
      const counter = `ctr-${consistency}`;
      // Both nodes at once, each one pipeline: INCR, a 40 KB SET, INCR, a 3-byte SET, ...
      await Promise.all(clients.map(async (c, from) => {
        const parts: Buffer[] = [];
        for (let r = 0; r < rounds; r++) {
          parts.push(cmd('INCR', counter), cmd('SET', `mix-${consistency}-${from}-${r}`, value(40 * 1024 + r, from * 100 + r)), cmd('INCR', counter), cmd('SET', `tiny-${consistency}-${from}-${r}`, 'abc'));
        }
        c.write(Buffer.concat(parts));
        const replies = (await c.replies(4 * rounds, 30_000)).map(String);
        expect(replies.filter((r) => r === '+OK\r\n').length, `${from}${logs()}`).toBe(2 * rounds);
        expect(replies.filter((r) => r.startsWith(':')).length).toBe(2 * rounds);
      }));
      const total = 2 * 2 * rounds;
      for (const i of [0, 1]) {
        await until(`${counter} in redis ${i} to reach ${total}`, async () => {
          expect(String(await stored(i, counter))).toBe(`$${String(total).length}\r\n${total}\r\n`);
        }, 10_000, 50);
      }
      for (const from of [0, 1]) {
        for (const r of [0, rounds - 1]) {
          const want = bulk(value(40 * 1024 + r, from * 100 + r));
          for (const i of [0, 1]) expect((await stored(i, `mix-${consistency}-${from}-${r}`)).equals(want), `mix ${from} ${r} in ${i}`).toBe(true);
        }
      }
    }, 60_000);
  });
}
