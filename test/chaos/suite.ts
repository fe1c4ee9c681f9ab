// The chaos suite's scenarios and the harness that runs one: a 6-node cluster of separate
// processes over 3 racks (2 nodes each, its own redis-server each), DC_QUORUM reads and writes,
// every dnode link through a fault relay (relay.ts), writers (workload.ts) running before, during
// and after one nemesis, then every replica read straight from its redis and judged (checker.ts).
//
//   start ─ pre ─┬─ nemesis on ─ fault ─┬─ heal ─ post ─ writers stop ─ read replicas until equal
//                faultAt                healAt                         (<= convergeMs after heal)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownersOf, TestCluster, type ClusterSpec } from '../helpers/cluster.js';
import { cmd, RawClient } from '../helpers/resp-client.js';
import { freePort } from '../helpers/servers.js';
import { sleep } from '../helpers/until.js';
import { judge, type Judgement, type Reads } from './checker.js';
import { History } from './history.js';
import { Relay, type LinkMode } from './relay.js';
import { Workload } from './workload.js';

export const RACKS = ['r1', 'r2', 'r3'] as const;
export const QUORUM = 2;

export const CHAOS_SPEC: ClusterSpec = {
  nodes: RACKS.flatMap((rack) => [0, 2147483648].map((t) => ({ dc: 'dc1', rack, tokens: [t] }))),
  // anti_entropy_interval 5 s (default 1 h): the suite checks that replicas converge by themselves
  // within 60 s of a heal, so a pass must start within that window without an operator.
  conf: { read_consistency: 'DC_QUORUM', write_consistency: 'DC_QUORUM', anti_entropy_interval: '5000' },
  timeoutMs: 1500,
};

/** The running cluster with its relays; one per suite run, scenarios take turns on it. */
export class ChaosCluster {
  readonly relays: Relay[][] = [];
  readonly hintsDirs: string[] = [];
  cluster!: TestCluster;

  static async start(): Promise<ChaosCluster> {
    const c = new ChaosCluster();
    try {
      await c.boot();
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  private async boot(): Promise<void> {
    const n = CHAOS_SPEC.nodes.length;
    const dynPorts: number[] = [];
    for (let i = 0; i < n; i++) dynPorts.push(await freePort());
    for (let from = 0; from < n; from++) {
      this.relays[from] = [];
      for (let to = 0; to < n; to++) {
        if (to === from) continue;
        const r = new Relay(`${from}->${to}`, dynPorts[to]!);
        await r.listen();
        this.relays[from]![to] = r;
      }
      this.hintsDirs.push(mkdtempSync(join(tmpdir(), `chaos-hints-${from}-`)));
    }
    this.cluster = new TestCluster({
      ...CHAOS_SPEC,
      dynPorts,
      seedPort: (from, to) => this.relays[from]![to]!.port,
      nodeConf: (i) => ({ hints_dir: this.hintsDirs[i]! }),
    });
    await this.cluster.start(60_000);
  }

  nodesOfRack(rack: string): number[] {
    return CHAOS_SPEC.nodes.flatMap((s, i) => (s.rack === rack ? [i] : []));
  }

  /** Sets every link between the two groups of nodes, both directions. */
  links(a: readonly number[], b: readonly number[], mode: LinkMode): void {
    for (const i of a) {
      for (const j of b) {
        this.relays[i]![j]!.setMode(mode);
        this.relays[j]![i]!.setMode(mode);
      }
    }
  }

  /** Every replica's value of every key, read from the backing redis servers directly. */
  async readReplicas(keys: readonly string[]): Promise<Reads> {
    const perNode = new Map<number, string[]>();
    const owners = new Map<string, number[]>();
    for (const k of keys) {
      const o = ownersOf(CHAOS_SPEC, k);
      owners.set(k, o);
      for (const n of o) {
        const l = perNode.get(n) ?? [];
        l.push(k);
        perNode.set(n, l);
      }
    }
    const values = new Map<string, string | null>();
    await Promise.all([...perNode].map(async ([node, ks]) => {
      const c = await RawClient.connect(this.cluster.members[node]!.redis.port);
      try {
        for (let i = 0; i < ks.length; i += 500) {
          const batch = ks.slice(i, i + 500);
          c.write(Buffer.concat(batch.map((k) => cmd('GET', k))));
          const replies = await c.replies(batch.length, 30_000);
          batch.forEach((k, j) => {
            const r = replies[j]!.toString('latin1');
            if (r.startsWith('$-1')) values.set(`${node}\0${k}`, null);
            else if (r.startsWith('$')) values.set(`${node}\0${k}`, r.slice(r.indexOf('\r\n') + 2, -2));
            else throw new Error(`GET ${k} on node ${node}'s redis answered ${r.trimEnd()}`);
          });
        }
      } finally {
        c.close();
      }
    }));
    const reads = new Map<string, (string | null)[]>();
    for (const [k, o] of owners) reads.set(k, o.map((n) => values.get(`${n}\0${k}`) ?? null));
    return reads;
  }

  /**
   * hints_pending summed over the nodes that answer their stats port (Prometheus
   * `dynomite_hints_pending` on /metrics: /info keeps Netflix's fields only), or -1 when none does.
   */
  async hintsPending(): Promise<number> {
    let sum = -1;
    for (const m of this.cluster.members) {
      if (!m.node.alive()) continue;
      try {
        const body = await this.cluster.http(m, '/metrics');
        const line = /^dynomite_hints_pending\{[^}]*\} (\d+)$/m.exec(body);
        if (!line) throw new Error(`node ${m.index}: /metrics has no dynomite_hints_pending`);
        sum = Math.max(sum, 0) + Number(line[1]);
      } catch (err) {
        // a stopped (SIGSTOP) or restarting node does not answer: not counted
        if (String(err).includes('no dynomite_hints_pending')) throw err;
      }
    }
    return sum;
  }

  async stop(): Promise<void> {
    await this.cluster?.stop();
    for (const row of this.relays) for (const r of row ?? []) await r?.close();
    for (const d of this.hintsDirs) rmSync(d, { recursive: true, force: true });
  }
}

/** What a nemesis does to the cluster; `inject` returns the function that heals. */
export interface Nemesis {
  readonly name: string;
  readonly what: string;
  /** The nodes writer w sends to (first choice first); every node by default. */
  readonly nodesFor?: (writer: number, c: ChaosCluster) => number[];
  inject(c: ChaosCluster, faultMs: number): Promise<() => Promise<void>>;
}

const all = [0, 1, 2, 3, 4, 5];
const rotate = (w: number): number[] => all.map((_, i) => all[(w + i) % all.length]!);

export const NEMESES: readonly Nemesis[] = [
  {
    name: 'none',
    what: 'no fault: the baseline every other scenario is compared with',
    async inject() {
      return async () => undefined;
    },
  },
  {
    name: 'kill9',
    what: 'kill -9 node 0 (rack r1), restart it after the fault window (its redis keeps its data)',
    async inject(c) {
      await c.cluster.kill(0);
      return async () => {
        await c.cluster.restart(0);
      };
    },
  },
  {
    name: 'pause',
    what: 'SIGSTOP node 2 (rack r2): its sockets stay open and nothing answers; SIGCONT at heal',
    async inject(c) {
      c.cluster.pause(2);
      return async () => c.cluster.resume(2);
    },
  },
  {
    name: 'partition',
    what: 'cut every dnode link between racks r1 and r2, both ways (connections reset, new ones refused)',
    async inject(c) {
      const a = c.nodesOfRack('r1');
      const b = c.nodesOfRack('r2');
      c.links(a, b, { kind: 'cut' });
      return async () => c.links(a, b, { kind: 'pass' });
    },
  },
  {
    name: 'stall',
    what: 'black-hole every dnode link between racks r1 and r3 (open, nothing delivered); held bytes flow at heal',
    async inject(c) {
      const a = c.nodesOfRack('r1');
      const b = c.nodesOfRack('r3');
      c.links(a, b, { kind: 'stall' });
      return async () => c.links(a, b, { kind: 'pass' });
    },
  },
  {
    name: 'slow',
    what: 'delay every chunk on the links between rack r3 and the others by 400 ms',
    async inject(c) {
      const a = c.nodesOfRack('r3');
      const b = [...c.nodesOfRack('r1'), ...c.nodesOfRack('r2')];
      c.links(a, b, { kind: 'slow', delayMs: 400 });
      return async () => c.links(a, b, { kind: 'pass' });
    },
  },
  {
    name: 'redis-wipe',
    what: "kill node 4's redis-server (rack r3) and start an empty one on its port, mid-run",
    async inject(c) {
      await c.cluster.restartRedisEmpty(4);
      return async () => undefined;
    },
  },
  {
    name: 'hints-restart',
    what: 'writers use node 0 only; kill -9 both rack r3 nodes, then kill -9 node 0 (holding their hints) and restart it with its hints_dir; r3 restarts at heal',
    nodesFor: () => [0],
    async inject(c, faultMs) {
      await c.cluster.kill(4);
      await c.cluster.kill(5);
      await sleep(faultMs / 2);
      await c.cluster.kill(0);
      await c.cluster.restart(0);
      return async () => {
        await c.cluster.restart(4);
        await c.cluster.restart(5);
      };
    },
  },
];

export interface ScenarioOptions {
  readonly preMs: number;
  readonly faultMs: number;
  /** Writers keep going after the heal at least this long ... */
  readonly postMs: number;
  /** ... and until this many writes were acknowledged (or maxPostMs passed). */
  readonly minAcked: number;
  readonly maxPostMs: number;
  readonly writers: number;
  readonly opTimeoutMs: number;
  /** How long after the heal the replicas may take to become equal. */
  readonly convergeMs: number;
  /** How long after the heal hints may take to be replayed. */
  readonly hintsMs: number;
  readonly seed?: number;
}

export interface ScenarioResult {
  readonly name: string;
  readonly what: string;
  readonly history: History;
  readonly faultAt: number;
  readonly healAt: number;
  readonly stoppedAt: number;
  /** Judgement on the first read after the writers stopped, and on the last one. */
  readonly first: Judgement;
  readonly final: Judgement;
  /** ms from heal to every replica equal; null: not within convergeMs. */
  readonly convergedMs: number | null;
  /** ms from heal to hints_pending 0 on every node; null: not within the wait. */
  readonly hintsReplayedMs: number | null;
  readonly hintsPeak: number;
}

export async function runScenario(c: ChaosCluster, n: Nemesis, o: ScenarioOptions, log: (s: string) => void = () => undefined): Promise<ScenarioResult> {
  const history = new History();
  const work = new Workload(history, {
    prefix: `${n.name}-${Date.now().toString(36)}`,
    writers: o.writers,
    port: (node) => c.cluster.members[node]!.port,
    nodesFor: (w) => n.nodesFor?.(w, c) ?? rotate(w),
    opTimeoutMs: o.opTimeoutMs,
    seed: o.seed,
  });
  work.start();
  await sleep(o.preMs);
  const faultAt = history.now();
  log(`${n.name}: nemesis on at ${faultAt} ms (${history.acknowledged()} acknowledged so far)`);
  const heal = await n.inject(c, o.faultMs);
  let hintsPeak = 0;
  const faultEnd = Date.now() + Math.max(0, o.faultMs - (history.now() - faultAt));
  while (Date.now() < faultEnd) {
    hintsPeak = Math.max(hintsPeak, await c.hintsPending());
    await sleep(250);
  }
  await heal();
  const healAt = history.now();
  log(`${n.name}: healed at ${healAt} ms`);
  const postUntil = Date.now() + o.maxPostMs;
  const postMin = Date.now() + o.postMs;
  while (Date.now() < postMin || (history.acknowledged() < o.minAcked && Date.now() < postUntil)) await sleep(100);
  await work.stop();
  const stoppedAt = history.now();
  log(`${n.name}: writers stopped at ${stoppedAt} ms, ${history.acknowledged()} acknowledged of ${history.ops.length}`);

  // Poll the replicas and every node's hints_pending together until both settle (or time out):
  // convergence and replay are each timed from the heal, at the first poll that sees them.
  const keys = history.keys();
  let hintsReplayedMs: number | null = null;
  let convergedMs: number | null = null;
  let first: Judgement | undefined;
  let final!: Judgement;
  const deadline = Date.now() + Math.max(o.hintsMs, o.convergeMs) - (history.now() - healAt);
  for (;;) {
    const pending = await c.hintsPending();
    hintsPeak = Math.max(hintsPeak, pending);
    if (hintsReplayedMs === null && pending === 0) hintsReplayedMs = history.now() - healAt;
    final = judge(history, await c.readReplicas(keys), QUORUM);
    first ??= final;
    if (convergedMs === null && final.divergent.length === 0) convergedMs = history.now() - healAt;
    if ((convergedMs !== null && hintsReplayedMs !== null) || Date.now() > deadline) break;
    await sleep(250);
  }
  log(`${n.name}: converged ${convergedMs === null ? `not within ${o.convergeMs} ms (${final.divergent.length} keys differ)` : `after ${convergedMs} ms`}; hints ${hintsReplayedMs === null ? 'still pending' : `replayed after ${hintsReplayedMs} ms`}`);
  return { name: n.name, what: n.what, history, faultAt, healAt, stoppedAt, first, final, convergedMs, hintsReplayedMs, hintsPeak };
}

/** The invariants of a result: name, held or not, and the figure behind it. */
export interface InvariantResult {
  /** Stable short name: quorum, lost, everywhere, resurrected, older, phantom, counters, converged, hints. */
  readonly id: string;
  readonly name: string;
  readonly held: boolean;
  readonly figure: string;
  readonly examples: readonly string[];
}

export function invariants(r: ScenarioResult, o: Pick<ScenarioOptions, 'convergeMs' | 'hintsMs'>): InvariantResult[] {
  const ex = (vs: readonly { key: string; replicas: readonly (string | null)[]; why: string }[]): string[] =>
    vs.slice(0, 5).map((v) => `${v.key}: ${v.why}; replicas ${JSON.stringify(v.replicas)}`);
  const f = r.final;
  return [
    { id: 'quorum', name: 'acknowledged writes at a quorum (first read after the writers stopped)', held: r.first.belowQuorum.length === 0, figure: `${r.first.belowQuorum.length} keys below quorum`, examples: ex(r.first.belowQuorum) },
    { id: 'lost', name: '0 acknowledged writes lost (held by no replica)', held: f.lost.length === 0, figure: `${f.lost.length} lost`, examples: ex(f.lost) },
    { id: 'everywhere', name: 'acknowledged writes everywhere after convergence', held: f.notEverywhere.length === 0, figure: `${f.notEverywhere.length} keys missing on some replica`, examples: ex(f.notEverywhere) },
    { id: 'resurrected', name: '0 resurrected deletes', held: f.resurrected.length === 0, figure: `${f.resurrected.length} resurrected`, examples: ex(f.resurrected) },
    { id: 'older', name: '0 older-over-newer', held: f.olderOverNewer.length === 0 && r.first.olderOverNewer.length === 0, figure: `${f.olderOverNewer.length} final, ${r.first.olderOverNewer.length} at first read`, examples: ex([...f.olderOverNewer, ...r.first.olderOverNewer]) },
    { id: 'phantom', name: '0 phantom effects (a value never written, or a counter above its attempted INCRs: an INCR applied twice)', held: f.phantom.length === 0, figure: `${f.phantom.length}`, examples: ex(f.phantom) },
    { id: 'counters', name: 'counters >= acknowledged INCRs on every replica', held: f.counterLostIncrements === 0, figure: `${f.counterLostIncrements} increments missing; ${f.counterExtraIncrements} extra (at-least-once effects of unacknowledged INCRs)`, examples: [] },
    { id: 'converged', name: `every replica equal within ${o.convergeMs / 1000} s of healing`, held: r.convergedMs !== null, figure: r.convergedMs === null ? `${f.divergent.length} keys still differ` : `${r.convergedMs} ms`, examples: ex(f.divergent) },
    { id: 'hints', name: `hints replayed within ${o.hintsMs / 1000} s of healing`, held: r.hintsReplayedMs !== null && r.hintsReplayedMs <= o.hintsMs, figure: r.hintsReplayedMs === null ? 'still pending' : `${r.hintsReplayedMs} ms (peak ${r.hintsPeak} pending)`, examples: [] },
  ];
}
