// Hint replay time after a peer returns: two nodes in-process, each over its own redis-server
// (every node owns every key), the peer held DOWN with /peer/down while N writes go through the
// other node (each hinted), then /peer/up; the time until every hint is delivered, and a check that
// the peer's redis holds every key. The peer is dynomite-ts: every hint replays as DYNO_HINT.
//
//   npx tsx bench/hint-replay.ts [--hints 10000] [--rounds 3]
import { startNode, type RunningNode } from '../src/node.js';
import { nodeOptions, silentLogger } from '../test/helpers/node.js';
import { cmd, RawClient } from '../test/helpers/resp-client.js';
import { freePort, startRedis } from '../test/helpers/servers.js';

const argv = process.argv.slice(2);
const opt = (name: string, d: number): number => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : d;
};
const N = opt('--hints', 10_000);
const ROUNDS = opt('--rounds', 3);
const TOKEN = 101134286;

async function round(r: number): Promise<{ ms: number; applied: number; keys: number }> {
  const [da, db] = [await freePort(), await freePort()];
  const redis = [await startRedis(), await startRedis()];
  const nodes: RunningNode[] = [];
  try {
    for (const [i, dyn, other] of [[0, da, db], [1, db, da]] as const) {
      nodes.push(await startNode(nodeOptions({
        dataStore: 'redis', server: { host: '127.0.0.1', port: redis[i]!.port }, rack: `rack${i + 1}`, datacenter: 'dc1', tokens: [TOKEN], timeoutMs: 5000,
        cluster: { dynListen: { host: '127.0.0.1', port: dyn }, seeds: [{ host: '127.0.0.1', port: other, rack: `rack${2 - i}`, dc: 'dc1', tokens: [TOKEN] }],
          localPeerConnections: 1, remotePeerConnections: 1, peerReadTimeoutMs: 5000, peerWriteTimeoutMs: 5000 },
      }), { logger: silentLogger }));
    }
    const [a, b] = nodes as [RunningNode, RunningNode];
    while (a.cluster!.peerCaps.of(1) !== 'dynomite-ts') await new Promise((res) => setTimeout(res, 20));
    a.cluster!.peerAction('down', `127.0.0.1:${db}`);
    const c = await RawClient.connect(a.port);
    for (let i = 0; i < N; i += 1000) {
      const batch: Buffer[] = [];
      for (let j = i; j < Math.min(N, i + 1000); j++) batch.push(cmd('SET', `key:${r}:${j}`, `value-${j}`));
      c.write(Buffer.concat(batch));
      await c.replies(batch.length, 30_000);
    }
    c.close();
    if (a.cluster!.hints.pending !== N) throw new Error(`expected ${N} hints, have ${a.cluster!.hints.pending}`);
    const t0 = performance.now();
    a.cluster!.peerAction('up', `127.0.0.1:${db}`);
    while (a.cluster!.hints.pending > 0) await new Promise((res) => setTimeout(res, 5));
    const ms = performance.now() - t0;
    const rc = await RawClient.connect(redis[1]!.port);
    rc.write(cmd('DBSIZE'));
    const keys = Number((await rc.replies(1))[0]!.toString('latin1').slice(1));
    rc.close();
    return { ms, applied: b.cluster!.hintApply.counts.applied, keys };
  } finally {
    for (const n of nodes) await n.close('bench done', 100);
    for (const s of redis) await s.stop();
  }
}

const out: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const res = await round(r);
  out.push(res.ms);
  console.log(`round ${r + 1}: ${N} hints replayed in ${res.ms.toFixed(0)} ms (${res.applied} applied as DYNO_HINT; peer redis DBSIZE ${res.keys})`);
}
out.sort((x, y) => x - y);
console.log(`median: ${out[Math.floor(out.length / 2)]!.toFixed(0)} ms for ${N} hints (paced by the hint store's rate limit, DEFAULT_HINTS.maxPerSecond)`);
process.exit(0);
