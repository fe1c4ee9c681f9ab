// Node states and peer commands on the stats port, as a user drives them: /state/<standby|
// writes_only|resuming|normal> change what the node serves (Netflix's reply for the rest), the state
// is gossiped (the other nodes show it and read around it), /peer/<down|up|reset> hold a peer DOWN,
// release it and reset the failure detector. Three in-process nodes, one rack each, gossip 100 ms.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../src/node.js';
import type { MemoryBackend } from '../src/store/memory-backend.js';
import { startTestNode } from './helpers/node.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { freePort } from './helpers/servers.js';
import { until } from './helpers/until.js';

const STATE_ERR = "-ERR Dynomite: Dynomite's current state does not allow this request\r\n";
const racks = ['r1', 'r2', 'r3'];
let dyn: number[] = [];
const nodes: RunningNode[] = [];
const clients: RawClient[] = [];

beforeAll(async () => {
  dyn = [await freePort(), await freePort(), await freePort()];
  for (let i = 0; i < 3; i++) {
    const seeds = [0, 1, 2].filter((j) => j !== i).map((j) => ({ host: '127.0.0.1', port: dyn[j]!, rack: racks[j]!, dc: 'dc1', tokens: [0] }));
    nodes.push(await startTestNode({
      dataStore: 'memory', rack: racks[i]!, datacenter: 'dc1', tokens: [0], timeoutMs: 1500,
      statsListen: { host: '127.0.0.1', port: await freePort() },
      cluster: {
        dynListen: { host: '127.0.0.1', port: dyn[i]! }, seeds, localPeerConnections: 1, remotePeerConnections: 1,
        peerReadTimeoutMs: 1500, peerWriteTimeoutMs: 1500, gossip: { enabled: true, intervalMs: 100 },
      },
    }));
  }
  for (const n of nodes) clients.push(await RawClient.connect(n.port));
  await until('every node sees every peer NORMAL', async () => {
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) if (i !== j) expect(await stateSeen(i, j)).toBe('NORMAL');
  }, 8000);
}, 30_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const n of nodes) await n.close('test done', 100);
});

async function http(i: number, path: string): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${nodes[i]!.statsPort}${path}`, { signal: AbortSignal.timeout(3000) });
  return r.text();
}

/** Node i's /cluster_describe state of node j. */
async function stateSeen(i: number, j: number): Promise<string> {
  const d = JSON.parse(await http(i, '/cluster_describe')) as { dcs: { racks: { servers: { port: number; state: string }[] }[] }[] };
  return d.dcs.flatMap((x) => x.racks.flatMap((r) => r.servers)).find((s) => s.port === dyn[j])!.state;
}

async function call(i: number, ...args: string[]): Promise<string> {
  clients[i]!.write(cmd(...args));
  return (await clients[i]!.replies(1, 5000))[0]!.toString('latin1');
}

function stored(i: number, key: string): string {
  return (nodes[i]!.backend as MemoryBackend).store.execute([Buffer.from('GET'), Buffer.from(key)]).toString('latin1');
}

describe('/state/<state>: what the node serves, gossiped', () => {
  it('STANDBY refuses reads and writes from clients and peers; the others show STANDBY; NORMAL serves again', async () => {
    expect(await http(1, '/state/standby')).toBe('OK\r\n');
    expect(await http(1, '/state/get_state')).toBe('State: STANDBY\n');
    expect(await call(1, 'SET', 'st-a', '1')).toBe(STATE_ERR);
    expect(await call(1, 'GET', 'st-a')).toBe(STATE_ERR);
    await until('node 0 and 2 see node 1 STANDBY', async () => {
      expect(await stateSeen(0, 1)).toBe('STANDBY');
      expect(await stateSeen(2, 1)).toBe('STANDBY');
    }, 3000);
    // A write through node 0 reaches node 2 and not the standby node 1 (it refuses the peer request)
    expect(await call(0, 'SET', 'st-b', 'x')).toBe('+OK\r\n');
    await until('node 2 stores st-b', () => expect(stored(2, 'st-b')).toBe('$1\r\nx\r\n'));
    expect(stored(1, 'st-b')).toBe('$-1\r\n');
    expect(await http(1, '/state/normal')).toBe('OK\r\n');
    await until('node 0 sees node 1 NORMAL', async () => expect(await stateSeen(0, 1)).toBe('NORMAL'), 3000);
    expect(await call(1, 'SET', 'st-c', '2')).toBe('+OK\r\n');
    expect(await call(1, 'GET', 'st-c')).toBe('$1\r\n2\r\n');
  });

  it('WRITES_ONLY and RESUMING take writes and refuse reads (Netflix drops reads while resuming)', async () => {
    for (const state of ['writes_only', 'resuming']) {
      expect(await http(2, `/state/${state}`)).toBe('OK\r\n');
      expect(await call(2, 'SET', `w-${state}`, 'v')).toBe('+OK\r\n');
      expect(await call(2, 'GET', `w-${state}`)).toBe(STATE_ERR);
      expect(stored(2, `w-${state}`)).toBe('$1\r\nv\r\n');
      await until(`node 0 sees node 2 ${state.toUpperCase()}`, async () => expect(await stateSeen(0, 2)).toBe(state.toUpperCase()), 3000);
    }
    expect(await http(2, '/state/normal')).toBe('OK\r\n');
    expect(await call(2, 'GET', 'w-resuming')).toBe('$1\r\nv\r\n');
    await until('node 0 sees node 2 NORMAL', async () => expect(await stateSeen(0, 2)).toBe('NORMAL'), 3000);
  });
});

describe('/peer/<down|up|reset>/<peer>', () => {
  it('down holds the peer DOWN (writes to it hinted), up releases it (hints replayed), reset/all forgets the detector', async () => {
    const c = `127.0.0.1:${dyn[2]}`;
    expect(await http(0, `/peer/down/${c}`)).toBe('OK\r\n');
    expect(await stateSeen(0, 2)).toBe('DOWN');
    expect(await call(0, 'SET', 'pd-1', 'h')).toBe('+OK\r\n');
    await until('node 1 stores pd-1', () => expect(stored(1, 'pd-1')).toBe('$1\r\nh\r\n'));
    // still DOWN after a few gossip rounds: the operator's word holds against heartbeats
    await new Promise((r) => setTimeout(r, 400));
    expect(await stateSeen(0, 2)).toBe('DOWN');
    expect(stored(2, 'pd-1')).toBe('$-1\r\n');
    expect(await http(0, `/peer/up/${c}`)).toBe('OK\r\n');
    expect(await stateSeen(0, 2)).toBe('NORMAL');
    await until('the hint reaches node 2', () => expect(stored(2, 'pd-1')).toBe('$1\r\nh\r\n'), 5000);
    expect(await http(0, '/peer/reset/all')).toBe('OK\r\n');
    await until('NORMAL again after the next heartbeats', async () => {
      expect(await stateSeen(0, 1)).toBe('NORMAL');
      expect(await stateSeen(0, 2)).toBe('NORMAL');
    }, 3000);
  });
});
