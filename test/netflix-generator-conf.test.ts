// Configs written by Netflix Dynomite's own functional-test generator (test/cluster_generator.py)
// load and run on our binary. The fixtures are its output, verbatim (see
// test/fixtures/netflix-generator/README.md): one-node racks get `local_peer_connections: 0`,
// single-DC clusters `remote_peer_connections: 0`, servers have weight 0, tokens are bare integers,
// `secure_server_option: datacenter` with Netflix's sample key.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../src/conf/load.js';
import { nodeOptionsFromConfig } from '../src/conf/node-options.js';
import { BIN, ensureBuilt, ROOT, spawnNode, type NodeProcess } from './helpers/node-process.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { freePort, startRedis, type RunningServer } from './helpers/servers.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/netflix-generator', import.meta.url));
const SETS = ['no_quorum_request', 'safe_quorum_request'] as const;

function files(set: string): string[] {
  return readdirSync(join(FIXTURES, set)).filter((f) => f.endsWith('.yml')).sort().map((f) => join(FIXTURES, set, f));
}

function text(path: string): string {
  return readFileSync(path, 'utf8');
}

describe('Netflix cluster_generator.py configs', () => {
  it.each(SETS)('%s: every file loads; 0 connections mean 1 as in Netflix', (set) => {
    for (const f of files(set)) {
      const raw = (parseYaml(text(f)) as { dyn_o_mite: Record<string, unknown> }).dyn_o_mite;
      const c = parseConfig(text(f), f);
      expect(c.warnings, f).toEqual([]);
      const want = (n: unknown): number => (Number(n) % 256 === 0 ? 1 : Number(n) % 256);
      expect(c.localPeerConnections, f).toBe(want(raw.local_peer_connections));
      expect(c.remotePeerConnections, f).toBe(want(raw.remote_peer_connections));
      expect(c.secureServerOption).toBe('datacenter');
      expect(c.pemKeyFile).toBe('conf/dynomite.pem');
      expect(c.datastoreConnections).toBe(1);
      expect(c.tokens).toEqual([Number(raw.tokens)]);
      const o = nodeOptionsFromConfig(c);
      expect(o.cluster?.localPeerConnections, f).toBeGreaterThanOrEqual(1);
    }
    // The generator writes 0 for every one-node rack: the case that used to be refused.
    expect(files(set).some((f) => /local_peer_connections: 0\b/.test(text(f)))).toBe(true);
  });

  it('`dynomite -t` says a file with local_peer_connections: 0 is valid, as Netflix does', () => {
    ensureBuilt();
    for (const set of SETS) {
      for (const f of files(set).filter((p) => /local_peer_connections: 0\b/.test(text(p))).slice(0, 1)) {
        const r = spawnSync(process.execPath, [BIN, '-t', '-c', f], { cwd: ROOT, encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        expect((r.stdout + r.stderr).trim()).toBe(`dynomite: configuration file '${f}' syntax is valid`);
      }
    }
  });
});

describe('the safe_quorum_request cluster from the generator (2 DCs x 3 racks, encrypted across DCs)', () => {
  const redis: RunningServer[] = [];
  const nodes: NodeProcess[] = [];
  const clients: RawClient[] = [];

  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all(nodes.map((n) => n.stop(500)));
    await Promise.all(redis.map((r) => r.stop()));
  });

  it('runs with the generated keys unchanged (only addresses moved to free loopback ports)', async () => {
    ensureBuilt();
    const fs = files('safe_quorum_request');
    // Each generated node has its own 127.0.1.N with fixed ports; here every address becomes
    // 127.0.0.1 with a free port. listen / stats_listen come from the test harness.
    const dyn = new Map<string, number>();
    for (const f of fs) {
      const c = parseConfig(text(f), f);
      dyn.set(c.dynListen!.text, await freePort());
      redis.push(await startRedis());
    }
    for (let i = 0; i < fs.length; i++) {
      const raw = (parseYaml(text(fs[i]!)) as { dyn_o_mite: Record<string, unknown> }).dyn_o_mite;
      const conf: Record<string, string> = {};
      for (const [k, v] of Object.entries(raw)) {
        if (k === 'listen' || k === 'stats_listen') continue;
        if (k === 'dyn_listen') conf[k] = `127.0.0.1:${dyn.get(String(v))}`;
        else if (k === 'servers') conf[k] = `\n  - 127.0.0.1:${redis[i]!.port}:0`;
        else if (k === 'dyn_seeds') {
          conf[k] = (v as string[]).map((s) => {
            const [host, port, ...rest] = s.split(':');
            return `\n  - 127.0.0.1:${dyn.get(`${host}:${port}`)}:${rest.join(':')}`;
          }).join('');
        } else conf[k] = String(v);
      }
      nodes.push(await spawnNode({ dataStore: { redisPort: redis[i]!.port }, conf }));
    }
    // Every node reaches its 5 peers (local_peer_connections: 0 means one link each).
    for (const n of nodes) {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const info = await fetch(`http://127.0.0.1:${n.statsPort}/info`).then((r) => r.json() as Promise<{ dyn_o_mite: Record<string, number> }>).catch(() => undefined);
        if ((info?.dyn_o_mite.peer_connections ?? 0) >= 5) break;
        if (Date.now() > deadline) throw new Error(`peers not connected:\n${n.log().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    // DC_SAFE_QUORUM (from the generated files) writes and reads through every node; every redis
    // of both DCs holds every key.
    for (let i = 0; i < nodes.length; i++) {
      const c = await RawClient.connect(nodes[i]!.port);
      clients.push(c);
      c.write(Buffer.concat([cmd('SET', `gen${i}`, `v${i}`), cmd('GET', `gen${i}`)]));
      expect((await c.replies(2)).map(String)).toEqual(['+OK\r\n', `$2\r\nv${i}\r\n`]);
    }
    // The quorum answers the client; the last replicas (the other DC) may land a moment later.
    const want = `*6\r\n${nodes.map((_, i) => `$2\r\nv${i}\r\n`).join('')}`;
    for (const r of redis) {
      const c = await RawClient.connect(r.port);
      clients.push(c);
      let got = '';
      for (let t = 0; t < 100 && got !== want; t++) {
        if (t > 0) await new Promise((res) => setTimeout(res, 50));
        c.write(cmd('MGET', ...nodes.map((_, i) => `gen${i}`)));
        got = String((await c.replies(1))[0]);
      }
      expect(got).toBe(want);
    }
  }, 90_000);
});
