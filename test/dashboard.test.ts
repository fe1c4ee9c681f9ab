// The live cluster page (`/dashboard` on the stats port), as a person sees it: a 3-rack cluster of
// separate node processes, the page of one node opened in headless Chromium. It must load with no
// console errors and no request beyond its own node, show every node of the ring, update as traffic
// flows, and mark a node killed with SIGKILL down within the detector's time. The test writes a
// screenshot (test-results/dashboard.png) for a person to look at.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardData } from '../src/observe/dashboard.js';
import type { StatsView } from '../src/observe/stats.js';
import { launchChromium, type BrowserSession } from './helpers/browser.js';
import { ensureBuilt, ROOT, spawnNode, type NodeProcess } from './helpers/node-process.js';
import { cmd, RawClient } from './helpers/resp-client.js';
import { freePort } from './helpers/servers.js';
import { until } from './helpers/until.js';

const GOSSIP_INTERVAL_MS = 300;
const RACKS = ['rack-a', 'rack-b', 'rack-c'];

describe('dashboardData (what the page is given)', () => {
  const view = (peers: StatsView['peers']): StatsView => ({
    text: { service: 'dynomite', source: 'host-a', version: 'x', rack: 'r1', dc: 'dc1' },
    uptime: 5, timestamp: 0, servers: [], peers,
    pool: { client_read_requests: 7, client_write_requests: 3, client_err: 1, client_connections: 2 } as unknown as StatsView['pool'],
    histograms: { latency: { count: 1, sum: 1, min: 1, max: 9, mean: 1, p50: 4, p95: 8, p99: 9, p999: 9 } } as unknown as StatsView['histograms'],
    gauges: {} as StatsView['gauges'],
  });
  const peer = (name: string, rack: string, connections: number) => ({
    name, dc: 'dc1', rack, remote: false,
    values: { requests: 10, responses: 9, err: 1, forward_error: 0, timedout_requests: 2, connections } as unknown as StatsView['peers'][number]['values'],
  });
  const ring = (state?: string) => ({
    dcs: [{
      name: 'dc1',
      racks: [
        { name: 'r1', servers: [{ name: 'a', host: '127.0.0.1', port: 1, token: 5 }] },
        { name: 'r2', servers: [{ name: 'b', host: '127.0.0.1', port: 2, token: '1,2147483648', ...(state ? { state } : {}) }] },
        { name: 'r3', servers: [{ name: 'c', host: '127.0.0.1', port: 3, token: 9 }] },
      ],
    }],
  });
  const ours = { hints_pending: 4, read_repairs: 6 } as unknown as Parameters<typeof dashboardData>[1];

  it('marks the node itself, takes a peer state from gossip when given, else from its link', () => {
    const d = dashboardData(view([peer('127.0.0.1:2', 'r2', 1), peer('127.0.0.1:3', 'r3', 0)]), ours, ring(), 'NORMAL', 1000);
    expect(d.servers.map((s) => [s.id, s.name, s.self, s.state, s.stateSource])).toEqual([
      ['127.0.0.1:1', 'a', true, 'NORMAL', 'self'], ['127.0.0.1:2', 'b', false, 'UP', 'link'], ['127.0.0.1:3', 'c', false, 'DOWN', 'link'],
    ]);
    expect(d.servers[1]!.token).toBe('1,2147483648');
    expect(d.servers[1]!.link).toEqual({ requests: 10, responses: 9, errors: 1, timeouts: 2, connections: 1 });
    expect(d.client).toEqual({ requests: 10, errors: 1, connections: 2, latencyUs: { p50: 4, p99: 9, max: 9 } });
    expect([d.hintsPending, d.readRepairs, d.sampledAt, d.node.source]).toEqual([4, 6, 1000, 'host-a']);
    const g = dashboardData(view([peer('127.0.0.1:2', 'r2', 1), peer('127.0.0.1:3', 'r3', 1)]), ours, ring('DOWN'), 'NORMAL', 0);
    expect([g.servers[1]!.state, g.servers[1]!.stateSource]).toEqual(['DOWN', 'gossip']);
  });
});

describe('/dashboard in headless Chromium, 3 racks of node processes', () => {
  const nodes: NodeProcess[] = [];
  let session: BrowserSession | undefined;
  let page: Page;
  let dnodePorts: number[] = [];

  beforeAll(async () => {
    ensureBuilt();
    dnodePorts = [await freePort(), await freePort(), await freePort()];
    const seeds = (self: number) => dnodePorts
      .map((p, i) => (i === self ? undefined : `\n  - 127.0.0.1:${p}:${RACKS[i]}:dc1:101134286`))
      .filter((s) => s !== undefined).join('');
    for (let i = 0; i < 3; i++) {
      nodes.push(await spawnNode({
        dataStore: 'memory',
        conf: {
          datacenter: 'dc1', rack: RACKS[i]!, dyn_listen: `127.0.0.1:${dnodePorts[i]}`, dyn_seeds: seeds(i),
          enable_gossip: 'true', gos_interval: String(GOSSIP_INTERVAL_MS),
        },
      }));
    }
    session = await launchChromium();
    page = await session.newPage();
    await page.goto(`http://127.0.0.1:${nodes[0]!.statsPort}/dashboard?interval=250`);
    await page.waitForSelector('body[data-ready]', { timeout: 15_000 });
  }, 90_000);

  afterAll(async () => {
    await session?.close();
    await Promise.all(nodes.map((n) => n.stop()));
  });

  const rows = () => page.$$eval('#servers tbody tr', (trs) => trs.map((tr) => ({
    id: (tr as HTMLElement).dataset.id ?? '',
    state: (tr as HTMLElement).dataset.state ?? '',
    self: (tr as HTMLElement).dataset.self === 'true',
    text: tr.textContent ?? '',
  })));

  it('serves the page as HTML and the data as JSON; / stays Netflix JSON', async () => {
    const base = `http://127.0.0.1:${nodes[0]!.statsPort}`;
    const html = await fetch(`${base}/dashboard`, { headers: { accept: 'text/html' } });
    expect([html.status, html.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
    const data = await (await fetch(`${base}/dashboard/data`)).json() as { servers: unknown[] };
    expect(data.servers).toHaveLength(3);
    expect((await fetch(`${base}/dashboard/nope`)).status).toBe(400);
    const info = await (await fetch(`${base}/`)).json() as Record<string, unknown>;
    expect(info.service).toBe('dynomite');
  });

  it('shows every node of the ring, one band per rack, with no console error and nothing but its node', async () => {
    await until('every peer link up on the page', async () => (await rows()).filter((r) => r.state === 'UP' || r.state === 'NORMAL').length === 3, 15_000);
    const r = await rows();
    expect(r.map((x) => x.self)).toEqual([true, false, false]);
    expect(r.map((x) => x.text.includes(RACKS[r.indexOf(x)]!))).toEqual([true, true, true]);
    // One arc per node (one token each), in the dc1 ring.
    const arcs = await page.$$eval('svg[data-dc="dc1"] path', (ps) => ps.map((p) => p.getAttribute('data-id')));
    expect(arcs.sort()).toEqual(r.map((x) => x.id).sort());
    expect(r.map((x) => x.id).sort()).toEqual(dnodePorts.map((p) => `127.0.0.1:${p}`).sort());
    expect(session!.problems).toEqual([]);
    const foreign = session!.requests.filter((u) => !u.startsWith(`http://127.0.0.1:${nodes[0]!.statsPort}/`));
    expect(foreign).toEqual([]);
  });

  it('counts traffic as it flows', async () => {
    const c = await RawClient.connect(nodes[0]!.port);
    try {
      for (let i = 0; i < 50; i++) c.write(cmd('SET', `k${i}`, 'v'));
      const replies = await c.replies(50);
      expect(replies.map((r) => r.toString())).toEqual(Array(50).fill('+OK\r\n'));
    } finally {
      c.close();
    }
    await until('the requests/s card shows traffic', async () => Number(await page.textContent('#rps')) > 0, 10_000);
  });

  it('marks a node killed with SIGKILL down within the detector\'s time', async () => {
    const victim = nodes[2]!;
    const victimId = `127.0.0.1:${dnodePorts[2]}`;
    const killedAt = Date.now();
    victim.proc.kill('SIGKILL');
    await victim.exited;
    // The detector: the broken link convicts at once; gossip's phi within a few intervals.
    await until('the killed node is marked DOWN', async () => {
      expect((await rows()).map((x) => [x.id, x.state])).toContainEqual([victimId, 'DOWN']);
    }, 10 * GOSSIP_INTERVAL_MS + 5_000);
    const detectedMs = Date.now() - killedAt;
    const after = await rows();
    expect(after.map((x) => [x.id, x.state === 'DOWN'])).toEqual(after.map((x) => [x.id, x.id === victimId]));
    const arc = await page.$eval(`svg path[data-id="${victimId}"]`, (p) => p.getAttribute('data-state'));
    expect(arc).toBe('DOWN');
    const dir = join(ROOT, 'test-results');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, 'dashboard.png'), fullPage: true });
    console.log(`dashboard: killed node shown DOWN after ${detectedMs} ms; screenshot ${join(dir, 'dashboard.png')}`);
    expect(session!.problems).toEqual([]);
  });
});
