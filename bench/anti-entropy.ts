// Anti-entropy cost (not a timed test): on a 2-rack cluster of separate processes (one node and one
// redis-server per rack), the time and bytes of a pass that compares two equal replicas of --keys
// keys, then of a pass that repairs 1% divergence (half deleted, half changed on one replica); then
// the cluster's request throughput (redis-benchmark SET / GET through node 0) with passes running
// back to back vs none, interleaved rounds, same run, the ratio.
//
//   npm run bench:anti-entropy [-- --keys 100000 --rate 0 --requests 50000 --rounds 3]
//   --rate   anti_entropy_rate of the nodes (keys/s; 0 = unpaced, the default here: the pass's own cost)
//
// Progress on stderr; the tables on stdout and in bench/results/anti-entropy.md (with SVG charts).
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { TestCluster } from '../test/helpers/cluster.js';
import { RawClient, cmd } from '../test/helpers/resp-client.js';
import { Progress, writeReport, type ReportTable } from './report.js';

interface Args { keys: number; rate: number; requests: number; rounds: number }

function parseArgs(argv: string[]): Args {
  const a: Args = { keys: 100_000, rate: 0, requests: 50_000, rounds: 3 };
  for (let i = 0; i < argv.length; i++) {
    const v = Number(argv[i + 1]);
    if (argv[i] === '--keys') a.keys = v, i++;
    else if (argv[i] === '--rate') a.rate = v, i++;
    else if (argv[i] === '--requests') a.requests = v, i++;
    else if (argv[i] === '--rounds') a.rounds = v, i++;
  }
  return a;
}

interface LastPass { durationMs: number; keysCompared: number; keysDiffering: number; keysRepaired: number; bytesExchanged: number; snapshotBytes: number; errors: string[] }

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function json<T>(port: number, path: string): Promise<{ status: number; body: T }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(10_000) });
  return { status: r.status, body: (await r.json()) as T };
}

/** Runs one pass on the node behind statsPort and returns its report. */
async function pass(statsPort: number): Promise<LastPass> {
  const before = (await json<{ passes: number }>(statsPort, '/anti_entropy')).body.passes;
  const r = await json<{ started: boolean }>(statsPort, '/anti_entropy/run');
  if (r.status !== 202) throw new Error(`/anti_entropy/run answered ${r.status}`);
  for (;;) {
    await sleep(50);
    const s = (await json<{ running: boolean; passes: number; lastPass: LastPass }>(statsPort, '/anti_entropy')).body;
    if (!s.running && s.passes === before + 1) {
      if (s.lastPass.errors.length > 0) throw new Error(`pass failed: ${s.lastPass.errors.join('; ')}`);
      return s.lastPass;
    }
  }
}

/** Sends commands pipelined in chunks and checks no reply is an error. */
async function load(c: RawClient, commands: readonly string[][]): Promise<void> {
  for (let i = 0; i < commands.length; i += 5000) {
    const chunk = commands.slice(i, i + 5000);
    c.write(Buffer.concat(chunk.map((a) => cmd(...a))));
    const bad = (await c.replies(chunk.length, 60_000)).filter((b) => b[0] === 45);
    if (bad.length > 0) throw new Error(`load: ${bad[0]!.toString()}`);
  }
}

function benchRps(port: number, requests: number, args: string[]): number {
  const out = execFileSync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-c', '50', '-n', String(requests), '-r', '100000', '-d', '64', '--csv', ...args], { encoding: 'utf8' });
  const rows = out.trim().split('\n').filter((l) => !l.startsWith('"test"'));
  return Number(rows[rows.length - 1]!.split(',')[1]!.replace(/"/g, ''));
}

const fmtBytes = (b: number): string => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const loadAtStart = os.loadavg();
  const workloads = [{ name: 'SET P16', args: ['-t', 'set', '-P', '16'] }, { name: 'GET P16', args: ['-t', 'get', '-P', '16'] }];
  const progress = new Progress('bench:anti-entropy', 4 + a.rounds * workloads.length * 2);
  const cluster = new TestCluster({
    nodes: [{ dc: 'dc1', rack: 'r1', tokens: [0] }, { dc: 'dc1', rack: 'r2', tokens: [0] }],
    conf: { anti_entropy_interval: '0', anti_entropy_rate: String(a.rate) },
    timeoutMs: 5000,
  });
  const tables: ReportTable[] = [];
  try {
    progress.step('starting 2 nodes and 2 redis-servers');
    await cluster.start();
    const [r0, r1] = [await cluster.redisClient(0), await cluster.redisClient(1)];
    progress.step(`loading ${a.keys} keys (64-byte values) into both replicas`);
    const value = (k: number): string => `value-${k}-`.padEnd(64, 'x');
    const sets = Array.from({ length: a.keys }, (_, k) => ['SET', `ae:${k}`, value(k)]);
    await Promise.all([load(r0, sets), load(r1, sets)]);
    const s0 = cluster.members[0]!.statsPort;
    progress.step(`a pass over two equal replicas of ${a.keys} keys`);
    const equal = await pass(s0);
    progress.step('a pass repairing 1% divergence');
    const diverged = Math.max(2, Math.round(a.keys / 100));
    const damage: string[][] = [];
    for (let i = 0; i < diverged; i++) {
      const k = Math.floor((i * a.keys) / diverged);
      damage.push(i % 2 === 0 ? ['DEL', `ae:${k}`] : ['SET', `ae:${k}`, 'changed']);
    }
    await load(r1, damage);
    const repair = await pass(s0);
    const sizes = await Promise.all([r0, r1].map(async (c) => { c.write(cmd('DBSIZE')); return (await c.replies(1))[0]!.toString().trim(); }));
    if (sizes[0] !== sizes[1]) throw new Error(`after the repair pass the replicas hold ${sizes.join(' vs ')} keys`);
    const row = (name: string, p: LastPass): string[] => [name, String(Math.round(p.durationMs)), String(p.keysCompared),
      String(p.keysRepaired), fmtBytes(p.bytesExchanged), fmtBytes(p.snapshotBytes)];
    tables.push({
      title: 'One anti-entropy pass (node r1 against r2)',
      header: ['case', 'time ms', 'keys compared', 'keys repaired', 'dnode bytes', 'local datastore bytes'],
      rows: [row(`equal replicas, ${a.keys} keys`, equal), row(`1% diverged (${diverged} keys)`, repair)],
      chart: { label: 0, value: 1, unit: 'ms', better: 'lower' },
    });

    // Throughput with passes running back to back vs none, interleaved.
    const rps: Record<string, number[]> = {};
    let busy = false;
    let passes = 0;
    const keepRunning = async (): Promise<void> => {
      while (busy) {
        const r = await json<{ started: boolean }>(s0, '/anti_entropy/run');
        if (r.status === 202) passes++;
        await sleep(100);
      }
    };
    for (let round = 0; round < a.rounds; round++) {
      for (const w of workloads) {
        const order = round % 2 === 0 ? ['none', 'pass'] : ['pass', 'none'];
        for (const mode of order) {
          progress.step(`round ${round + 1} ${w.name}, anti-entropy ${mode === 'pass' ? 'running' : 'idle'}`);
          let loop: Promise<void> | undefined;
          if (mode === 'pass') {
            busy = true;
            loop = keepRunning();
            await sleep(200);
          }
          (rps[`${w.name}|${mode}`] ??= []).push(benchRps(cluster.members[0]!.port, a.requests, w.args));
          busy = false;
          await loop;
          // Let a pass still running finish, so the next idle round is idle.
          while ((await json<{ running: boolean }>(s0, '/anti_entropy')).body.running) await sleep(50);
        }
      }
    }
    tables.push({
      title: `Request throughput through node r1, medians of ${a.rounds} interleaved rounds (${passes} passes ran during the 'running' rounds)`,
      header: ['workload', 'anti-entropy', 'req/s', 'ratio running / idle'],
      rows: workloads.flatMap((w) => {
        const idle = median(rps[`${w.name}|none`]!);
        const run = median(rps[`${w.name}|pass`]!);
        return [[w.name, 'idle', idle.toFixed(0), ''], [w.name, 'running', run.toFixed(0), (run / idle).toFixed(2)]];
      }),
      chart: { label: [0, 1], value: 2, unit: 'req/s', better: 'higher' },
    });
    progress.finish();
    const notes = [
      `${a.keys} keys of 64 bytes on each of 2 replicas (one node + one redis-server per rack, separate processes), anti_entropy_rate ${a.rate === 0 ? '0 (unpaced)' : `${a.rate} keys/s`}`,
      `node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} x ${os.cpus().length}, load average ${loadAtStart.map((l) => l.toFixed(2)).join(' / ')} at start`,
      'time: from the pass start to its end, as /anti_entropy reports it (both snapshots, the tree exchange, the repairs)',
      'dnode bytes: anti-entropy requests and replies between the two nodes; local datastore bytes: the SCAN / PTTL / DUMP traffic of the starting node',
      `throughput: redis-benchmark -c 50 -n ${a.requests} -r 100000 -d 64 through node r1 (DC_ONE), with /anti_entropy/run asked every 100 ms vs no pass`,
    ];
    for (const t of tables) {
      console.log(`\n${t.title}`);
      console.log(`  ${t.header.join(' | ')}`);
      for (const r of t.rows) console.log(`  ${r.join(' | ')}`);
    }
    console.log(`\nreport: ${writeReport({ name: 'anti-entropy', title: 'bench:anti-entropy', notes, tables })}`);
  } finally {
    await cluster.stop();
  }
}

await main();
