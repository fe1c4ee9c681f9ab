// Membership figures (not a timed test): failure detection after kill -9 and after SIGSTOP, and join
// convergence, on a 5-node / 3-rack cluster of separate processes with gossip at --interval ms
// (default 1000); then the request path with gossip on and off (redis-benchmark through one node of
// a 3-rack cluster, interleaved rounds, the ratio). Medians over --trials.
//
//   npm run build && npx tsx bench/gossip.ts [-- --trials 5 --interval 1000 --requests 50000 --rounds 3]
//   --skip-load   only the membership figures; --load-only   only gossip on vs off
//   --soak <minutes>   only the no-false-DOWN run: a 3-rack cluster (one node per rack) with gossip on and
//                      gos_interval / the detector at their defaults, under redis-benchmark load through
//                      every node in turn for that long; counts the DOWN transitions each node logged and
//                      the non-NORMAL states /cluster_describe showed (polled every second). Expected: 0.
//
// Detection is measured from the signal to the moment each other node's /cluster_describe says DOWN
// (polled every 10 ms); convergence from the joiner's client port accepting to every node showing it
// NORMAL. Progress on stderr, the tables on stdout.
import { execFileSync, spawn } from 'node:child_process';
import os from 'node:os';
import { TestCluster, type ClusterMember } from '../test/helpers/cluster.js';
import { spawnNode, type NodeProcess } from '../test/helpers/node-process.js';
import { freePort, startRedis, type RunningServer } from '../test/helpers/servers.js';

interface Args { trials: number; interval: number; requests: number; rounds: number; skipLoad: boolean; loadOnly: boolean; soakMinutes: number }

function parseArgs(argv: string[]): Args {
  const a: Args = { trials: 5, interval: 1000, requests: 50000, rounds: 3, skipLoad: false, loadOnly: false, soakMinutes: 0 };
  for (let i = 0; i < argv.length; i++) {
    const v = Number(argv[i + 1]);
    if (argv[i] === '--trials') a.trials = v, i++;
    else if (argv[i] === '--interval') a.interval = v, i++;
    else if (argv[i] === '--requests') a.requests = v, i++;
    else if (argv[i] === '--rounds') a.rounds = v, i++;
    else if (argv[i] === '--skip-load') a.skipLoad = true;
    else if (argv[i] === '--load-only') a.loadOnly = true;
    else if (argv[i] === '--soak') a.soakMinutes = v, i++;
  }
  return a;
}

const HALF = 2147483648;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function stateOf(statsPort: number, dynPort: number): Promise<string> {
  try {
    const r = await fetch(`http://127.0.0.1:${statsPort}/cluster_describe`, { signal: AbortSignal.timeout(2000) });
    const d = (await r.json()) as { dcs: { racks: { servers: { port: number; state: string }[] }[] }[] };
    return d.dcs.flatMap((x) => x.racks.flatMap((k) => k.servers)).find((s) => s.port === dynPort)?.state ?? 'ABSENT';
  } catch {
    return 'UNREACHABLE';
  }
}

/** ms from t0 until each observer sees dynPort in `state` (throws after limitMs). */
async function seenBy(observers: readonly { statsPort: number }[], dynPort: number, state: string, t0: number, limitMs = 30_000): Promise<number[]> {
  return Promise.all(observers.map(async (o) => {
    for (;;) {
      if ((await stateOf(o.statsPort, dynPort)) === state) return Date.now() - t0;
      if (Date.now() - t0 > limitMs) throw new Error(`:${o.statsPort} never saw :${dynPort} ${state}`);
      await sleep(10);
    }
  }));
}

function log(msg: string): void {
  process.stderr.write(`[bench:gossip] ${msg}\n`);
}

async function membershipFigures(a: Args): Promise<string[][]> {
  const gossip = { enable_gossip: 'true', gos_interval: String(a.interval) };
  const c = new TestCluster({
    nodes: [
      { dc: 'dc1', rack: 'r1', tokens: [0] }, { dc: 'dc1', rack: 'r1', tokens: [HALF] },
      { dc: 'dc1', rack: 'r2', tokens: [0] }, { dc: 'dc1', rack: 'r2', tokens: [HALF] },
      { dc: 'dc1', rack: 'r3', tokens: [0] },
    ],
    conf: gossip,
  });
  const extras: { node: NodeProcess; redis: RunningServer }[] = [];
  const kill: number[] = [];
  const stop: number[] = [];
  const join: number[] = [];
  try {
    await c.start();
    const live = (): ClusterMember[] => c.members.filter((m) => m.node.alive());
    for (const m of c.members) await seenBy(c.members, m.dynPort, 'NORMAL', Date.now()).catch(() => undefined);
    for (let t = 0; t < a.trials; t++) {
      const i = 1 + (t % 4);
      const victim = c.members[i]!;
      const observers = live().filter((m) => m !== victim);
      await seenBy(observers, victim.dynPort, 'NORMAL', Date.now());
      await sleep(a.interval * 3); // a few heartbeats in the window
      let t0 = Date.now();
      await c.kill(i);
      const k = await seenBy(observers, victim.dynPort, 'DOWN', t0);
      kill.push(...k);
      log(`kill -9 trial ${t + 1}: ${k.join(' ')} ms`);
      await c.restart(i);
      await seenBy(observers, victim.dynPort, 'NORMAL', Date.now());
      await sleep(a.interval * 3);
      t0 = Date.now();
      c.pause(i);
      try {
        const s = await seenBy(observers, victim.dynPort, 'DOWN', t0);
        stop.push(...s);
        log(`SIGSTOP trial ${t + 1}: ${s.join(' ')} ms`);
      } finally {
        c.resume(i);
      }
      await seenBy(observers, victim.dynPort, 'NORMAL', Date.now());
    }
    for (let t = 0; t < a.trials; t++) {
      const redis = await startRedis();
      const dynPort = await freePort();
      const seed = c.members[0]!;
      const node = await spawnNode({
        dataStore: { redisPort: redis.port },
        conf: {
          dyn_listen: `127.0.0.1:${dynPort}`, rack: 'r3', datacenter: 'dc1', tokens: `'${HALF + 1000 + t}'`, timeout: '1500', ...gossip,
          dyn_seeds: `\n  - 127.0.0.1:${seed.dynPort}:${seed.spec.rack}:${seed.spec.dc}:${seed.spec.tokens.join(',')}`,
        },
      });
      extras.push({ node, redis });
      const t0 = Date.now(); // the joiner's client port accepts
      const j = await seenBy(live(), dynPort, 'NORMAL', t0);
      join.push(Math.max(...j));
      log(`join trial ${t + 1}: every node NORMAL after ${Math.max(...j)} ms`);
      await node.stop(2000); // clean exit: DOWN everywhere, no longer a target
    }
  } finally {
    for (const m of c.members) if (m?.node.alive()) m.node.proc.kill('SIGCONT');
    for (const e of extras) {
      await e.node.stop(500);
      await e.redis.stop();
    }
    await c.stop();
  }
  const row = (what: string, xs: number[]): string[] => [what, String(xs.length), median(xs).toFixed(0), Math.min(...xs).toFixed(0), Math.max(...xs).toFixed(0)];
  return [
    row(`kill -9 -> DOWN (per observer)`, kill),
    row(`SIGSTOP -> DOWN (per observer)`, stop),
    row(`join -> NORMAL on all 5 (slowest)`, join),
  ];
}

function benchRps(port: number, requests: number, args: string[]): number {
  const out = execFileSync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-c', '50', '-n', String(requests), '-r', '100000', '-d', '64', '--csv', ...args], { encoding: 'utf8' });
  const rows = out.trim().split('\n').filter((l) => !l.startsWith('"test"'));
  return Number(rows[rows.length - 1]!.split(',')[1]!.replace(/"/g, ''));
}

async function loadFigures(a: Args): Promise<string[][]> {
  const spec = (on: boolean): TestCluster => new TestCluster({
    nodes: [{ dc: 'dc1', rack: 'r1', tokens: [0] }, { dc: 'dc1', rack: 'r2', tokens: [0] }, { dc: 'dc1', rack: 'r3', tokens: [0] }],
    conf: { enable_gossip: on ? 'true' : 'false', gos_interval: String(a.interval) },
  });
  const on = spec(true);
  const off = spec(false);
  const rps: Record<string, number[]> = {};
  try {
    await on.start();
    await off.start();
    for (let r = 0; r < a.rounds; r++) {
      for (const w of [{ name: 'SET P16', args: ['-t', 'set', '-P', '16'] }, { name: 'GET P16', args: ['-t', 'get', '-P', '16'] }]) {
        // alternate which cluster goes first: the machine's load drifts within a round
        const order = r % 2 === 0 ? [['on', on], ['off', off]] as const : [['off', off], ['on', on]] as const;
        for (const [name, c] of order) {
          const x = benchRps(c.members[0]!.port, a.requests, w.args);
          (rps[`${w.name}|${name}`] ??= []).push(x);
          log(`round ${r + 1} ${w.name} gossip ${name}: ${x.toFixed(0)} req/s`);
        }
      }
    }
    // a false DOWN under load would divert writes into hints: count the detector's verdicts
    const downs = on.members.map((m) => [...m.node.log().matchAll(/"to":"DOWN"/g)].length);
    log(`gossip-on cluster: DOWN transitions logged per node during the load: ${downs.join(' ')}`);
  } finally {
    await on.stop();
    await off.stop();
  }
  return ['SET P16', 'GET P16'].map((w) => {
    const a1 = median(rps[`${w}|on`]!);
    const b1 = median(rps[`${w}|off`]!);
    return [w, a1.toFixed(0), b1.toFixed(0), (a1 / b1).toFixed(3)];
  });
}

/** redis-benchmark in a child process (the event loop keeps polling meanwhile); its last req/s figure. */
function benchAsync(port: number, requests: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-c', '50', '-n', String(requests), '-r', '100000', '-d', '64', '-t', 'set,get', '-P', '16', '--csv'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.once('error', reject);
    p.once('exit', () => {
      const rows = out.trim().split('\n').filter((l) => l.includes(',') && !l.startsWith('"test"'));
      resolve(rows.length ? Number(rows[rows.length - 1]!.split(',')[1]!.replace(/"/g, '')) : 0);
    });
  });
}

/** The no-false-DOWN run: defaults, load through every node in turn for `minutes`. */
async function soak(minutes: number): Promise<string[][]> {
  const c = new TestCluster({
    nodes: [{ dc: 'dc1', rack: 'r1', tokens: [0] }, { dc: 'dc1', rack: 'r2', tokens: [0] }, { dc: 'dc1', rack: 'r3', tokens: [0] }],
    conf: { enable_gossip: 'true' }, // gos_interval, phi_convict_threshold, phi_window_size: defaults
  });
  const seen = new Map<string, number>(); // "observer->peer STATE" -> polls
  let polls = 0;
  let benches = 0;
  let requests = 0;
  try {
    await c.start();
    for (const m of c.members) await seenBy(c.members, m.dynPort, 'NORMAL', Date.now(), 120_000);
    const end = Date.now() + minutes * 60_000;
    let stop = false;
    const poller = (async () => {
      while (!stop) {
        polls++;
        for (const o of c.members) {
          for (const p of c.members) {
            if (p === o) continue;
            const st = await stateOf(o.statsPort, p.dynPort);
            if (st !== 'NORMAL') seen.set(`${o.index}->${p.index} ${st}`, (seen.get(`${o.index}->${p.index} ${st}`) ?? 0) + 1);
          }
        }
        await sleep(1000);
      }
    })();
    for (let i = 0; Date.now() < end; i++) {
      const rps = await benchAsync(c.members[i % 3]!.port, 200_000);
      benches++;
      requests += 400_000;
      if (i % 10 === 0) log(`soak: ${Math.round((end - Date.now()) / 1000)} s left, node ${i % 3}: ${rps.toFixed(0)} req/s (GET)`);
    }
    stop = true;
    await poller;
    const downs = c.members.map((m) => [...m.node.log().matchAll(/"to":"DOWN"/g)].length);
    const rows = [
      ['DOWN transitions logged (per node)', downs.join(' ')],
      ['non-NORMAL states seen in /cluster_describe (observer->peer STATE: polls)', seen.size === 0 ? 'none' : [...seen].map(([k, n]) => `${k}: ${n}`).join(', ')],
      ['/cluster_describe polls (each: every node about every peer)', String(polls)],
      ['redis-benchmark runs (SET+GET, -P 16 -c 50), requests', `${benches}, ${requests}`],
    ];
    return rows;
  } finally {
    await c.stop();
  }
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

const a = parseArgs(process.argv.slice(2));
const load0 = os.loadavg();
if (a.soakMinutes > 0) {
  const r = await soak(a.soakMinutes);
  process.stdout.write(`\nno-false-DOWN run: 3 racks, gossip and the detector at their defaults, ${a.soakMinutes} min under load (expected: 0 DOWN)\n`);
  process.stdout.write(`${table(['figure', 'value'], r)}\n`);
} else if (!a.loadOnly) {
  const m = await membershipFigures(a);
  process.stdout.write(`\nmembership, 5 nodes / 3 racks, gos_interval ${a.interval} ms, ${a.trials} trials (ms)\n`);
  process.stdout.write(`${table(['figure', 'n', 'median', 'min', 'max'], m)}\n`);
}
if (!a.skipLoad && a.soakMinutes === 0) {
  const l = await loadFigures(a);
  process.stdout.write(`\nrequest path, 3 racks, through node 0, redis-benchmark -c 50 -n ${a.requests}, median of ${a.rounds} interleaved rounds\n`);
  process.stdout.write(`${table(['workload', 'gossip on req/s', 'gossip off req/s', 'on/off'], l)}\n`);
}
process.stdout.write(`\nload average at start ${load0.map((x) => x.toFixed(1)).join(' ')}, at end ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} (${os.cpus().length} cores, shared with other work)\n`);
