// A mixed gossip cluster: a Netflix Dynomite node (the binary $DYNOMITE_NETFLIX_BIN) and our nodes,
// gossip on at both kinds, checked from the outside: each kind sees the other through gossip, a join
// of ours is taken by Netflix (it routes the joiner's range to it: the data is in the joiner's redis),
// a killed Netflix node is marked DOWN by ours, a killed node of ours is marked DOWN by Netflix's own
// detector (its `gos_interval / 1000 * 40` seconds), and Netflix never "replaces" a node of ours.
//
// Netflix reads a gossip address as a bare host on its own dnode port and adds a node learned from
// gossip on port 8101 (dyn_gossip.c gossip_msg_peer_update), so the nodes share one dnode port, each on
// its own loopback address (127.x.y.2, .3, ...: still loopback only), as a Netflix cluster runs: 8101
// for the whole story (joins included), and once more on another shared port, where Netflix's node must
// still get bare hosts (a `host:port` address would be taken for a new host name).
//
// Without DYNOMITE_NETFLIX_BIN the suite is skipped. To run it:
//   DYNOMITE_NETFLIX_BIN=/path/to/netflix/src/dynomite npx vitest run test/netflix-gossip.test.ts
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyToken } from './helpers/cluster.js';
import { ensureBuilt, spawnNode, type NodeProcess } from './helpers/node-process.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { freePort, startRedis, waitForPort, type RunningServer } from './helpers/servers.js';
import { until } from './helpers/until.js';

const NETFLIX_BIN = process.env.DYNOMITE_NETFLIX_BIN;
const SKIP_REASON = 'DYNOMITE_NETFLIX_BIN is not set (point it at a Netflix dynomite binary to run this suite)';
if (!NETFLIX_BIN) console.log(`test/netflix-gossip.test.ts skipped: ${SKIP_REASON}`);

const HALF = 2147483648;
/** Loopback addresses of one suite: 127.x.y.{2,3,4,5}, x and y drawn so parallel runs do not meet. */
function addresses(): { netflix: string; ours: string; joiner: string; watcher: string } {
  const net = `127.${10 + Math.floor(Math.random() * 200)}.${1 + Math.floor(Math.random() * 250)}`;
  return { netflix: `${net}.2`, ours: `${net}.3`, joiner: `${net}.4`, watcher: `${net}.5` };
}

async function bindable(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const s = createServer();
    s.once('error', (e) => reject(new Error(`${host}:${port} cannot be bound for this test: ${e.message}`)));
    s.listen(port, host, () => s.close(() => resolve()));
  });
}

interface NetflixNode { proc: ChildProcess; stats: number; client: number; log(): string; kill(): Promise<void>; stop(): Promise<void> }

async function startNetflix(bin: string, conf: string, stats: number, client: number): Promise<NetflixNode> {
  const dir = mkdtempSync(join(tmpdir(), 'dyn-netflix-gossip-'));
  const path = join(dir, 'netflix.yml');
  writeFileSync(path, conf);
  const proc = spawn(bin, ['-c', path, '-v', '5'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => {
    log += d.toString('latin1');
    if (log.length > 2 * 1024 * 1024) log = log.slice(-1024 * 1024);
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const kill = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
  };
  return {
    proc, stats, client, log: () => log, kill,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Netflix node of rack nf at host:port with `token`, over the redis at `redisPort`, gossip every second. */
function netflixConf(host: string, port: number, token: number, seeds: string[], redisPort: number, client: number, stats: number): string {
  return `dyn_o_mite:
  datacenter: dc1
  rack: nf
  dyn_listen: ${host}:${port}
  dyn_seeds:
${seeds.map((x) => `  - ${x}\n`).join('')}  listen: 127.0.0.1:${client}
  servers:
  - 127.0.0.1:${redisPort}:1
  tokens: '${token}'
  data_store: 0
  stats_listen: 127.0.0.1:${stats}
  enable_gossip: true
  gos_interval: 1000
  timeout: 3000
`;
}

type Server = { name: string; host: string; port: number; token: number | string; state?: string };

/** GET over a raw socket: Netflix's stats replies carry header bytes fetch() refuses. */
async function httpGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let body = '';
    s.setTimeout(3000, () => s.destroy(new Error(`GET ${path} on :${port} timed out`)));
    s.on('connect', () => s.write(`GET ${path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n`));
    s.on('data', (d: Buffer) => { body += d.toString('latin1'); });
    s.on('error', reject);
    s.on('close', () => resolve(body.slice(body.indexOf('\r\n\r\n') + 4)));
  });
}

async function servers(statsPort: number): Promise<(Server & { rack: string })[]> {
  const d = JSON.parse(await httpGet(statsPort, '/cluster_describe')) as { dcs: { name: string; racks: { name: string; servers: Server[] }[] }[] };
  return d.dcs.flatMap((dc) => dc.racks.flatMap((rk) => rk.servers.map((s) => ({ ...s, rack: rk.name }))));
}

/** What our node says about the node at `host`:`port` ('ABSENT' when not listed). */
async function stateAt(statsPort: number, host: string, port: number): Promise<string> {
  return (await servers(statsPort)).find((s) => s.host === host && s.port === port)?.state ?? 'ABSENT';
}

/**
 * A listener in Netflix's dyn_seeds (rack `watch` of dc2) that only reads: Netflix gossips to one random
 * peer per round, and each GOSSIP_SYN carries its own detector's verdict on every node
 * (dyn_gossip.c gossip_forward_state). `says(id)` is the state of host id `id` in the latest one.
 */
async function startWatcher(host: string, PORT: number): Promise<{ says(id: string): number | undefined; syns(): number; close(): Promise<void> }> {
  let text = '';
  let latest: string | undefined;
  let count = 0;
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      for (;;) {
        const m = /\$2014\$ \d+ 7 [^*]*\*\d+ \S* \*(\d+)\r\n/.exec(text);
        if (m === null || text.length < m.index + m[0].length + Number(m[1])) break;
        latest = text.slice(m.index + m[0].length, m.index + m[0].length + Number(m[1]));
        count++;
        text = text.slice(m.index + m[0].length + Number(m[1]));
      }
      if (text.length > 1 << 20) text = text.slice(-4096);
    });
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(PORT, host, () => resolve());
  });
  return {
    says(id) {
      for (const rec of (latest ?? '').split('|')) {
        const f = rec.split(',');
        if (f[0] === id) return Number(f[2]);
      }
      return undefined;
    },
    syns: () => count,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

function rangeKeys(lo: number, hi: number, n: number, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    const t = keyToken(`${prefix}${i}`);
    if (t > lo && t <= hi) out.push(`${prefix}${i}`);
  }
  return out;
}

async function get(port: number, key: string): Promise<string> {
  const c = await RawClient.connect(port);
  try {
    c.write(cmd('GET', key));
    return String((await c.replies(1, 5000))[0]);
  } finally {
    c.close();
  }
}

async function set(port: number, key: string, v: string): Promise<string> {
  const c = await RawClient.connect(port);
  try {
    c.write(cmd('SET', key, v));
    return String((await c.replies(1, 10_000))[0]);
  } finally {
    c.close();
  }
}

for (const shared of [8101, 0] as const) {
  describe.skipIf(!NETFLIX_BIN)(`mixed gossip cluster: a Netflix node and ours, every dnode port ${shared === 8101 ? '8101' : 'one other port'} (needs DYNOMITE_NETFLIX_BIN: skipped without it)`, () => {
    let PORT: number = shared;
    const IP = addresses();
    const at = (host: string): Promise<string> => stateAt(ours!.statsPort, host, PORT);
    const redis: RunningServer[] = [];
    let netflix: NetflixNode | undefined;
    let ours: NodeProcess | undefined;
    let joiner: NodeProcess | undefined;
    let watcher: Awaited<ReturnType<typeof startWatcher>> | undefined;

    const ourConf = (ip: string, rack: string, token: number, seeds: string): Record<string, string> => ({
      datacenter: 'dc1', rack, tokens: `'${token}'`, dyn_listen: `${ip}:${PORT}`, dyn_seeds: seeds,
      enable_gossip: 'true', gos_interval: '1000', timeout: '3000',
    });

    const logs = (): string => `\n--- Netflix log (tail) ---\n${netflix?.log().slice(-4000)}\n--- our log ---\n${ours?.log().slice(-3000)}\n--- joiner log ---\n${joiner?.log().slice(-3000)}`;

    beforeAll(async () => {
      if (!existsSync(NETFLIX_BIN!)) throw new Error(`DYNOMITE_NETFLIX_BIN=${NETFLIX_BIN} does not exist`);
      if (PORT === 0) PORT = await freePort();
      for (const ip of Object.values(IP)) await bindable(ip, PORT);
      ensureBuilt();
      redis.push(await startRedis(), await startRedis(), await startRedis());
      watcher = await startWatcher(IP.watcher, PORT);
      const nfClient = await freePort();
      const nfStats = await freePort();
      netflix = await startNetflix(NETFLIX_BIN!, netflixConf(IP.netflix, PORT, 0, [`${IP.ours}:${PORT}:ts:dc1:0`, `${IP.watcher}:${PORT}:watch:dc2:0`], redis[0]!.port, nfClient, nfStats), nfStats, nfClient);
      ours = await spawnNode({ dataStore: { redisPort: redis[1]!.port }, conf: ourConf(IP.ours, 'ts', 0, `\n  - ${IP.netflix}:${PORT}:nf:dc1:0`) });
      await waitForPort(nfClient, 10_000);
    }, 60_000);

    afterAll(async () => {
      if (netflix && process.env.DYNOMITE_NETFLIX_LOG) console.log(netflix.log().slice(-8000));
      await joiner?.stop();
      await ours?.stop();
      await netflix?.stop();
      await watcher?.close();
      for (const r of redis) await r.stop();
    });

    it('each kind sees the other through gossip: ours marks Netflix NORMAL, Netflix announces ours NORMAL, nobody is "replaced"', async () => {
      await until('our node to see the Netflix node NORMAL', async () => {
        expect(await at(IP.netflix)).toBe('NORMAL');
      }, 15_000, 100);
      await until('Netflix to announce our node NORMAL (state 4) in its gossip', () => {
        expect(watcher!.says('dc1$ts$0'), logs()).toBe(4);
      }, 20_000, 100);
      // A bare-host address on the shared port: Netflix keeps our node where its dyn_seeds put it (a
      // `host:port` address would be taken for a new host name, the node "replaced" under that name)
      const nf = await servers(netflix!.stats);
      expect(nf.map((s) => `${s.rack}:${s.name}:${s.host}:${s.port}`).sort()).toEqual([`nf:${IP.netflix}:${IP.netflix}:${PORT}`, `ts:${IP.ours}:${IP.ours}:${PORT}`, `watch:${IP.watcher}:${IP.watcher}:${PORT}`]);
      // Replication still crosses both ways
      expect(await set(netflix!.client, 'g-nf', 'a')).toBe('+OK\r\n');
      expect(await set(ours!.port, 'g-ts', 'b')).toBe('+OK\r\n');
      await until('both writes in both redis', async () => {
        for (const r of [redis[0]!, redis[1]!]) {
          expect(await get(r.port, 'g-nf')).toBe('$1\r\na\r\n');
          expect(await get(r.port, 'g-ts')).toBe('$1\r\nb\r\n');
        }
      }, 10_000, 100);
    }, 40_000);

    // Netflix adds a node learned from gossip on port 8101 only (8103 otherwise): joins need 8101
    it.skipIf(shared !== 8101)('a node of ours that names only our node joins: Netflix lists it and routes its range to it (the joiner\'s redis holds the keys)', async () => {
      const t0 = Date.now();
      joiner = await spawnNode({ dataStore: { redisPort: redis[2]!.port }, conf: ourConf(IP.joiner, 'ts', HALF, `\n  - ${IP.ours}:${PORT}:ts:dc1:0`) });
      await until('Netflix to list the joiner', async () => {
        expect((await servers(netflix!.stats)).map((s) => `${s.rack}:${s.host}:${s.port}:${s.token}`), logs()).toContain(`ts:${IP.joiner}:${PORT}:${HALF}`);
      }, 20_000, 100);
      await until('the joiner to see the Netflix node NORMAL, and ours to see the joiner NORMAL', async () => {
        expect(await stateAt(joiner!.statsPort, IP.netflix, PORT)).toBe('NORMAL');
        expect(await at(IP.joiner)).toBe('NORMAL');
      }, 20_000, 100);
      console.log(`join of ours seen by Netflix and ours after ${Date.now() - t0} ms (from spawn)`);
      // keys in (0, 2^31] of rack ts now belong to the joiner: written through Netflix, they reach its redis
      const keys = rangeKeys(0, HALF, 5, 'g-join-');
      await until('a write through Netflix in the joiner\'s range to reach the joiner\'s redis', async () => {
        expect(await set(netflix!.client, keys[0]!, 'probe')).toBe('+OK\r\n');
        expect(await get(redis[2]!.port, keys[0]!)).toBe('$5\r\nprobe\r\n');
      }, 20_000, 200);
      for (const k of keys) expect(await set(netflix!.client, k, `v-${k}`)).toBe('+OK\r\n');
      await until('every key in the joiner\'s redis and Netflix\'s', async () => {
        for (const k of keys) {
          expect(await get(redis[2]!.port, k)).toBe(`$${`v-${k}`.length}\r\nv-${k}\r\n`);
          expect(await get(redis[0]!.port, k)).toBe(`$${`v-${k}`.length}\r\nv-${k}\r\n`);
        }
      }, 10_000, 100);
      for (const k of keys.slice(1)) expect(await get(redis[1]!.port, k)).toBe('$-1\r\n');
      expect((await servers(netflix!.stats)).find((s) => s.token === HALF)).toMatchObject({ name: IP.joiner, host: IP.joiner, port: PORT });
    }, 60_000);

    // one run of Netflix's 40 s detector is enough
    it.skipIf(shared !== 8101)('a killed node of ours is announced DOWN by Netflix\'s detector (40 gossip intervals at 1000 ms)', async () => {
      const t0 = Date.now();
      joiner!.proc.kill('SIGKILL');
      await joiner!.exited;
      await until('Netflix to announce the joiner DOWN (state 8)', () => {
        expect(watcher!.says(`dc1$ts$${HALF}`)).toBe(8);
      }, 60_000, 250);
      console.log(`kill -9 of ours: Netflix announced DOWN after ${Date.now() - t0} ms (its detector: 40 s at gos_interval 1000)`);
      expect(watcher!.says('dc1$ts$0')).toBe(4);
    }, 70_000);

    it('a killed Netflix node is marked DOWN by ours within the detector\'s time', async () => {
      const t0 = Date.now();
      await netflix!.kill();
      await until('our node to mark the Netflix node DOWN', async () => {
        expect(await at(IP.netflix)).toBe('DOWN');
      }, 3000, 20);
      console.log(`kill -9 of Netflix: our node marked it DOWN after ${Date.now() - t0} ms`);
    }, 10_000);
  });
}
