// `npm run chaos`: every scenario (or `--only a,b`) on one 6-node cluster, full sizes (>= 10k
// acknowledged writes per scenario), then the report in a folder the run prints
// (bench/results/chaos-<time>/, or `--report <dir>`). Exit status 1 when an invariant failed.
import { loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { reportDir } from '../../bench/report.js';
import { ChaosCluster, NEMESES, runScenario, type ScenarioOptions, type ScenarioResult } from './suite.js';
import { summarize, writeChaosReport } from './report.js';

const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const only = arg('--only')?.split(',');
const options: ScenarioOptions = {
  preMs: 3000,
  faultMs: Number(arg('--fault-ms') ?? 8000),
  postMs: 3000,
  minAcked: Number(arg('--min-acked') ?? 10_000),
  maxPostMs: 90_000,
  writers: Number(arg('--writers') ?? 12),
  opTimeoutMs: 3000,
  convergeMs: 60_000,
  hintsMs: 10_000,
  seed: Number(arg('--seed') ?? 1),
};
const dir = argv.includes('--report') ? reportDir(argv) : join(reportDir([]), `chaos-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const nemeses = NEMESES.filter((n) => !only || only.includes(n.name));
if (nemeses.length === 0) throw new Error(`--only ${only?.join(',')}: no such scenario (have ${NEMESES.map((n) => n.name).join(', ')})`);

const startLoad = loadavg()[0]!.toFixed(1);
const log = (s: string): void => void process.stderr.write(`[chaos] ${s}\n`);
const results: ScenarioResult[] = [];
const c = await ChaosCluster.start();
// Ctrl-C or a kill stops the cluster's processes too (Node runs no exit hooks on a signal).
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => void c.stop().finally(() => process.exit(130)));
}
try {
  for (const n of nemeses) {
    log(`scenario ${n.name}: ${n.what}`);
    const r = await runScenario(c, n, options, log);
    results.push(r);
    const s = summarize(r, options);
    for (const i of s.invariants) log(`  ${i.held ? 'held  ' : 'FAILED'} ${i.name}: ${i.figure}`);
  }
} finally {
  await c.stop();
}
const notes = [
  `\`npx tsx test/chaos/run.ts ${argv.join(' ')}\` at ${new Date().toISOString()}`,
  `6 node processes over 3 racks (2 each, own redis-server each), DC_QUORUM reads and writes, ${options.writers} writers, client timeout ${options.opTimeoutMs} ms`,
  `machine: ${cpus().length} cores shared with other sessions; load average ${startLoad} at start, ${loadavg()[0]!.toFixed(1)} at the end`,
];
const path = writeChaosReport(dir, results, options, notes);
process.stdout.write(`${path}\n`);
process.exitCode = results.every((r) => summarize(r, options).held) ? 0 : 1;
