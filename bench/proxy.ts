// Proxy throughput: redis-benchmark against direct Redis, dynomite-ts and (when installed) twemproxy
// in front of the same redis-server, interleaved over several rounds (A B C A B C ...), reporting
// median req/s, p50/p99 latency, each target's ratio to direct Redis and to twemproxy, and the proxy
// process's CPU microseconds per request (user+sys from /proc/<pid>/stat).
//
//   npm run bench:proxy [-- --rounds 3 --requests 100000 --clients 50]
//   npm run bench:proxy -- --cluster     a 3-rack cluster (one node per rack, each with its own
//                                        redis) through one node at DC_ONE and DC_QUORUM
//   npm run bench:proxy -- --value-size 65536 --only P1 --requests 5000
//                                        SET/GET values of that many bytes (redis-benchmark -d)
//   npm run bench:proxy -- --compare /work/wt/base   (with --cluster: a second cluster of that build)
//                                        also a dynomite-ts built in another checkout (its
//                                        bin/dynomite.js, same config, same redis), interleaved
//                                        with this one: an A/B of two commits in the same run
//   --report <dir>                       where the Markdown report + SVG charts go (bench/results)
// Progress goes to stderr as each run starts; the table to stdout.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import os from 'node:os';
import { freePort, waitForPort } from '../test/helpers/servers.js';
import { Progress, writeReport, type ReportTable } from './report.js';

interface Args { rounds: number; requests: number; clients: number; only?: string; cluster: boolean; valueSize: number; compare?: string }

function parseArgs(argv: string[]): Args {
  const a: Args = { rounds: 3, requests: 100000, clients: 50, cluster: false, valueSize: 64 };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === '--rounds') a.rounds = Number(v), i++;
    else if (argv[i] === '--requests') a.requests = Number(v), i++;
    else if (argv[i] === '--clients') a.clients = Number(v), i++;
    else if (argv[i] === '--only') a.only = v, i++;
    else if (argv[i] === '--cluster') a.cluster = true;
    else if (argv[i] === '--value-size') a.valueSize = Number(v), i++;
    else if (argv[i] === '--compare') a.compare = v, i++;
  }
  return a;
}

interface Target { name: string; port: number; pid?: number; statsPort?: number; consistency?: string }
interface Sample { rps: number; p50: number; p99: number; cpuUsPerReq?: number }

const CLK_TCK = 100;

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14, 15 of stat)
}

/** The workloads: name, redis-benchmark args, requests per "request" (MSET/MGET count once). */
const WORKLOADS: { name: string; args: string[] }[] = [
  { name: 'SET P1', args: ['-t', 'set', '-P', '1'] },
  { name: 'GET P1', args: ['-t', 'get', '-P', '1'] },
  { name: 'SET P16', args: ['-t', 'set', '-P', '16'] },
  { name: 'GET P16', args: ['-t', 'get', '-P', '16'] },
  { name: 'MSET10 P16', args: ['-P', '16', 'MSET', ...Array.from({ length: 10 }, (_, i) => [`k${i}:__rand_int__`, 'x'.repeat(64)]).flat()] },
  { name: 'MGET10 P16', args: ['-P', '16', 'MGET', ...Array.from({ length: 10 }, (_, i) => `k${i}:__rand_int__`)] },
];

async function setConsistency(t: Target): Promise<void> {
  if (!t.statsPort || !t.consistency) return;
  for (const which of ['read', 'write']) {
    const res = await fetch(`http://127.0.0.1:${t.statsPort}/set_consistency/${which}/${t.consistency}`);
    if (!res.ok) throw new Error(`set_consistency failed: ${res.status}`);
  }
}

function runBenchmark(t: Target, w: { args: string[] }, a: Args): Sample {
  const before = t.pid ? cpuTicks(t.pid) : 0;
  const out = execFileSync('redis-benchmark', [
    '-h', '127.0.0.1', '-p', String(t.port), '-c', String(a.clients), '-n', String(a.requests),
    '-r', '100000', '-d', String(a.valueSize), '--csv', ...w.args,
  ], { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'ignore'] });
  const after = t.pid ? cpuTicks(t.pid) : 0;
  const rows = out.trim().split('\n').filter((l) => !l.startsWith('"test"'));
  const cols = rows[rows.length - 1].split(',').map((s) => s.replace(/"/g, ''));
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const s: Sample = { rps: Number(cols[1]), p50: Number(cols[4]), p99: Number(cols[6]) };
  if (t.pid) s.cpuUsPerReq = ((after - before) / CLK_TCK) * 1e6 / a.requests;
  return s;
}

/**
 * A 3-rack cluster (one node per rack, rack i over redis[i]) of the build at `bin`; config files go
 * to `dir`. Returns rack1's ports and pid: the benchmark goes through that node.
 */
async function startBenchCluster(bin: string, redis: number[], dir: string, procs: ChildProcess[]): Promise<{ listen: number; stats: number; pid: number }> {
  mkdirSync(dir, { recursive: true });
  const racks: { listen: number; dyn: number; stats: number; redis: number }[] = [];
  for (const r of redis) racks.push({ listen: await freePort(), dyn: await freePort(), stats: await freePort(), redis: r });
  const pids: number[] = [];
  for (const [i, me] of racks.entries()) {
    const seeds = racks.filter((_, j) => j !== i).map((x) => `  - 127.0.0.1:${x.dyn}:rack${racks.indexOf(x) + 1}:dc1:101134286`);
    const conf = join(dir, `rack${i + 1}.yml`);
    writeFileSync(conf, [
      'dyn_o_mite:', `  listen: 127.0.0.1:${me.listen}`, `  dyn_listen: 127.0.0.1:${me.dyn}`, `  stats_listen: 127.0.0.1:${me.stats}`,
      `  servers:\n  - 127.0.0.1:${me.redis}:1`, "  tokens: '101134286'", '  data_store: 0', `  rack: rack${i + 1}`, '  datacenter: dc1',
      '  dyn_seeds:', ...seeds, '',
    ].join('\n'));
    const p = spawnProc(process.execPath, [bin, '-c', conf, '-v', '3']);
    procs.push(p);
    pids.push(p.pid!);
  }
  for (const r of racks) await waitForPort(r.listen);
  await waitForPeers(racks[0]!.stats, racks.length - 1);
  return { listen: racks[0]!.listen, stats: racks[0]!.stats, pid: pids[0]! };
}

/**
 * Waits until the node's /info shows at least `n` peer connections (the Netflix stats shape's
 * `peer_connections`, which every build has), or fails after 15 s.
 */
async function waitForPeers(statsPort: number, n: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${statsPort}/info`);
      last = await res.text();
      const info = JSON.parse(last) as Record<string, unknown>;
      if (peerConnections(info) >= n) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`bench cluster: the node on stats port ${statsPort} did not see ${n} peers within 15 s (last /info: ${last.slice(0, 200)})`);
}

/** The sum of every `peer_connections` field in a stats JSON (one per pool). */
function peerConnections(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  let n = 0;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) n += k === 'peer_connections' && typeof x === 'number' ? x : peerConnections(x);
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function spawnProc(cmd: string, args: string[]): ChildProcess {
  const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  process.on('exit', () => p.kill('SIGKILL'));
  return p;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'dyn-bench-'));
  const procs: ChildProcess[] = [];
  try {
    const redisPort = await freePort();
    procs.push(spawnProc('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']));
    await waitForPort(redisPort);
    const targets: Target[] = [{ name: 'redis (direct)', port: redisPort }];

    const dynPort = await freePort();
    const dynDyn = await freePort();
    const dynStats = await freePort();
    const conf = join(dir, 'dynomite.yml');
    writeFileSync(conf, [
      'dyn_o_mite:',
      `  listen: 127.0.0.1:${dynPort}`,
      `  dyn_listen: 127.0.0.1:${dynDyn}`,
      `  stats_listen: 127.0.0.1:${dynStats}`,
      `  servers:\n  - 127.0.0.1:${redisPort}:1`,
      "  tokens: '101134286'",
      '  data_store: 0',
      '',
    ].join('\n'));
    const dyn = spawnProc(process.execPath, [new URL('../bin/dynomite.js', import.meta.url).pathname, '-c', conf, '-v', '3']);
    procs.push(dyn);
    await waitForPort(dynPort);
    targets.push({ name: 'dynomite-ts', port: dynPort, pid: dyn.pid });

    if (a.compare !== undefined && !a.cluster) { // --cluster compares clusters: below
      const cmpPort = await freePort();
      const cmpConf = join(dir, 'compare.yml');
      writeFileSync(cmpConf, readFileSync(conf, 'utf8')
        .replace(`listen: 127.0.0.1:${dynPort}`, `listen: 127.0.0.1:${cmpPort}`)
        .replace(`dyn_listen: 127.0.0.1:${dynDyn}`, `dyn_listen: 127.0.0.1:${await freePort()}`)
        .replace(`stats_listen: 127.0.0.1:${dynStats}`, `stats_listen: 127.0.0.1:${await freePort()}`));
      const cmp = spawnProc(process.execPath, [join(a.compare, 'bin/dynomite.js'), '-c', cmpConf, '-v', '3']);
      procs.push(cmp);
      await waitForPort(cmpPort);
      targets.push({ name: `dynomite-ts ${a.compare}`, port: cmpPort, pid: cmp.pid });
    }

    if (existsSync('/usr/sbin/nutcracker')) {
      const twPort = await freePort();
      const twConf = join(dir, 'twemproxy.yml');
      writeFileSync(twConf, `alpha:\n  listen: 127.0.0.1:${twPort}\n  hash: fnv1a_64\n  distribution: ketama\n  redis: true\n  servers:\n   - 127.0.0.1:${redisPort}:1\n`);
      const tw = spawnProc('/usr/sbin/nutcracker', ['-c', twConf, '-s', String(await freePort()), '-v', '0']);
      procs.push(tw);
      await waitForPort(twPort);
      targets.push({ name: 'twemproxy', port: twPort, pid: tw.pid });
    }

    if (a.cluster) {
      // rack1 uses the redis above; two more racks each get their own redis. The node started above
      // was standalone: stop it, and run the cluster (and the --compare build's cluster over the same
      // three redis) instead.
      const redis = [redisPort];
      for (let i = 0; i < 2; i++) {
        const r = await freePort();
        procs.push(spawnProc('redis-server', ['--port', String(r), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']));
        await waitForPort(r);
        redis.push(r);
      }
      dyn.kill('SIGKILL');
      targets.splice(1, 1);
      const builds: { label: string; bin: string }[] = [{ label: 'dynomite-ts', bin: new URL('../bin/dynomite.js', import.meta.url).pathname }];
      if (a.compare !== undefined) builds.push({ label: `dynomite-ts ${a.compare}`, bin: join(a.compare, 'bin/dynomite.js') });
      const clusterTargets: Target[] = [];
      for (const [b, build] of builds.entries()) {
        const entry = await startBenchCluster(build.bin, redis, join(dir, `cluster${b}`), procs);
        clusterTargets.push(
          { name: `${build.label} DC_ONE`, port: entry.listen, pid: entry.pid, statsPort: entry.stats, consistency: 'dc_one' },
          { name: `${build.label} DC_QUORUM`, port: entry.listen, pid: entry.pid, statsPort: entry.stats, consistency: 'dc_quorum' });
      }
      targets.splice(1, 0, ...clusterTargets);
    }

    // --only: workload names separated by commas (exact), or a part of a name.
    const only = a.only?.split(',');
    const workloads = (only ? WORKLOADS.filter((w) => only.includes(w.name) || (only.length === 1 && w.name.includes(only[0]!))) : WORKLOADS)
      .filter((w) => !a.cluster || !w.name.startsWith('M'));
    const samples = new Map<string, Sample[]>();
    const progress = new Progress('bench:proxy', a.rounds * workloads.length * targets.length);
    const loadAtStart = os.loadavg();
    for (let round = 0; round < a.rounds; round++) {
      for (const w of workloads) {
        for (const t of targets) {
          progress.step(`round ${round + 1}, ${w.name}, ${t.name}`);
          await setConsistency(t);
          const s = runBenchmark(t, w, a);
          const key = `${w.name}|${t.name}`;
          samples.set(key, [...(samples.get(key) ?? []), s]);
        }
      }
    }
    progress.finish();

    const header = ['workload', 'target', 'req/s', 'p50 ms', 'p99 ms', 'x redis', 'x twemproxy', 'CPU us/req'];
    const rows: string[][] = [];
    for (const w of workloads) {
      const med = (t: Target, f: (s: Sample) => number | undefined): number => {
        const xs = (samples.get(`${w.name}|${t.name}`) ?? []).map(f).filter((x): x is number => x !== undefined);
        return xs.length ? median(xs) : NaN;
      };
      const direct = med(targets[0], (s) => s.rps);
      const tw = targets.find((t) => t.name === 'twemproxy');
      const twRps = tw ? med(tw, (s) => s.rps) : NaN;
      for (const t of targets) {
        const rps = med(t, (s) => s.rps);
        rows.push([
          w.name, t.name, rps.toFixed(0), med(t, (s) => s.p50).toFixed(3), med(t, (s) => s.p99).toFixed(3),
          (rps / direct).toFixed(2), tw ? (rps / twRps).toFixed(2) : '-',
          t.pid ? med(t, (s) => s.cpuUsPerReq).toFixed(2) : '-',
        ]);
      }
    }
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]): string => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
    const what = `redis-benchmark -c ${a.clients} -n ${a.requests} -d ${a.valueSize}, medians of ${a.rounds} interleaved rounds`;
    console.log(what);
    console.log(line(header));
    for (const r of rows) console.log(line(r));
    const tables: ReportTable[] = workloads.map((w) => ({
      title: w.name, header, rows: rows.filter((r) => r[0] === w.name),
      chart: { label: 1, value: 2, unit: 'req/s', better: 'higher' },
    }));
    const report = writeReport({
      name: a.cluster ? 'proxy-cluster' : 'proxy',
      title: `bench:proxy${a.cluster ? ' --cluster' : ''}`,
      notes: [
        what, `targets: ${targets.map((t) => t.name).join(', ')}`,
        `node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} x ${os.cpus().length}, load average ${loadAtStart.map((l) => l.toFixed(2)).join(' / ')} at start`,
        'x redis / x twemproxy: ratio of req/s to the same workload on that target in the same run',
      ],
      tables,
    });
    console.log(`report: ${report}`);
  } finally {
    for (const p of procs) p.kill('SIGKILL');
  }
}

await main();
