// Resident memory of a dynomite-ts node while many clients each send one large SET at once:
// 1,000 sockets (default), each writes `SET rss:<i> <1 MiB value>` in one go, then every reply is
// awaited. The node's RSS is sampled every 10 ms from /proc/<pid>/status (VmRSS; VmHWM is the
// kernel's own peak), and its stats endpoint is read for alloc_mbufs / free_mbufs while the values
// are in flight. Several builds can be compared in the same run, interleaved (A B A B ...):
//
//   npx tsx bench/rss-large-values.ts [--clients 1000] [--value 1048576] [--rounds 3]
//                                     [--impl /work/wt/a --impl /work/wt/b]
//
// Each --impl is a checkout with a built bin/dynomite.js (default: this one). Every round starts a
// fresh node process (and a fresh redis-server) so peaks do not carry over.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, waitForPort } from '../test/helpers/servers.js';

interface Args { clients: number; value: number; rounds: number; impls: string[] }

function parseArgs(argv: string[]): Args {
  const a: Args = { clients: 1000, value: 1 << 20, rounds: 3, impls: [] };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1]!;
    if (argv[i] === '--clients') a.clients = Number(v), i++;
    else if (argv[i] === '--value') a.value = Number(v), i++;
    else if (argv[i] === '--rounds') a.rounds = Number(v), i++;
    else if (argv[i] === '--impl') a.impls.push(resolve(v)), i++;
  }
  if (a.impls.length === 0) a.impls.push(resolve(new URL('..', import.meta.url).pathname));
  return a;
}

/** VmRSS and VmHWM of a process, MiB. */
function rss(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

async function stats(port: number): Promise<{ alloc: number; free: number }> {
  const r = await fetch(`http://127.0.0.1:${port}/info`);
  const j = await r.json() as Record<string, unknown>;
  return { alloc: Number(j.alloc_mbufs), free: Number(j.free_mbufs) };
}

interface Result { peak: number; hwm: number; before: number; after: number; ms: number; maxAlloc: number; allocAfter: number; errors: number; chains: number; fallbacks: number; waits: number }

/** dynomite_mbuf_* counters from /metrics (NaN on a build without them). */
async function chainCounts(port: number): Promise<{ chains: number; fallbacks: number; waits: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const read = (n: string): number => Number(new RegExp(`^dynomite_mbuf_${n}_total(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { chains: read('chains'), fallbacks: read('fallbacks'), waits: read('waits') };
}

async function runOnce(impl: string, a: Args, dir: string): Promise<Result> {
  const procs: ChildProcess[] = [];
  try {
    const redisPort = await freePort();
    procs.push(spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }));
    await waitForPort(redisPort);
    const port = await freePort();
    const statsPort = await freePort();
    const conf = join(dir, `node-${port}.yml`);
    writeFileSync(conf, [
      'dyn_o_mite:', `  listen: 127.0.0.1:${port}`, `  dyn_listen: 127.0.0.1:${await freePort()}`,
      `  stats_listen: 127.0.0.1:${statsPort}`, `  servers:\n  - 127.0.0.1:${redisPort}:1`,
      "  tokens: '101134286'", '  data_store: 0', '',
    ].join('\n'));
    const node = spawn(process.execPath, [join(impl, 'bin/dynomite.js'), '-c', conf, '-v', '3'], { stdio: ['ignore', 'ignore', 'inherit'] });
    procs.push(node);
    await waitForPort(port);
    await waitForPort(statsPort);
    const pid = node.pid!;
    const before = rss(pid).rss;

    const value = Buffer.alloc(a.value, 'v');
    const trailer = Buffer.from('\r\n');
    const socks: Socket[] = [];
    for (let i = 0; i < a.clients; i++) {
      const s = connect(port, '127.0.0.1');
      await new Promise<void>((res, rej) => { s.once('connect', () => res()); s.once('error', rej); });
      socks.push(s);
    }
    let peak = before;
    let maxAlloc = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, rss(pid).rss);
        try { maxAlloc = Math.max(maxAlloc, (await stats(statsPort)).alloc); } catch { /* node busy */ }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const t0 = performance.now();
    let errors = 0;
    await Promise.all(socks.map((s, i) => new Promise<void>((res) => {
      let got = '';
      s.on('data', (d) => {
        got += d.toString('latin1');
        if (got.endsWith('\r\n')) {
          if (got !== '+OK\r\n') errors++;
          res();
        }
      });
      s.on('error', () => { errors++; res(); });
      const key = `rss:${i}`;
      s.write(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${a.value}\r\n`);
      s.write(value);
      s.write(trailer);
    })));
    const ms = performance.now() - t0;
    sampling = false;
    await sampler;
    const st = await stats(statsPort);
    const cc = await chainCounts(statsPort);
    const end = rss(pid);
    for (const s of socks) s.destroy();
    return { peak: Math.max(peak, end.rss), hwm: end.hwm, before, after: end.rss, ms, maxAlloc, allocAfter: st.alloc, errors, ...cc };
  } finally {
    for (const p of procs) p.kill('SIGKILL');
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'dyn-rss-'));
  const res = new Map<string, Result[]>();
  for (let r = 0; r < a.rounds; r++) {
    for (const impl of a.impls) {
      const x = await runOnce(impl, a, dir);
      res.set(impl, [...(res.get(impl) ?? []), x]);
      process.stderr.write(`round ${r + 1} ${impl}: peak ${x.peak.toFixed(0)} MiB (VmHWM ${x.hwm.toFixed(0)}), ${x.ms.toFixed(0)} ms, alloc_mbufs max ${x.maxAlloc} / after ${x.allocAfter}, chains ${x.chains} fallbacks ${x.fallbacks} waits ${x.waits}, errors ${x.errors}\n`);
    }
  }
  console.log(`${a.clients} clients x one SET of ${a.value} bytes, medians of ${a.rounds} interleaved rounds (node RSS, MiB)`);
  console.log(['impl', 'RSS before', 'RSS peak', 'VmHWM', 'RSS after', 'ms', 'alloc_mbufs max', 'after', 'chains', 'fallbacks', 'waits', 'errors'].join('\t'));
  for (const impl of a.impls) {
    const xs = res.get(impl)!;
    const m = (f: (x: Result) => number): string => median(xs.map(f)).toFixed(0);
    console.log([impl, m((x) => x.before), m((x) => x.peak), m((x) => x.hwm), m((x) => x.after), m((x) => x.ms), m((x) => x.maxAlloc), m((x) => x.allocAfter), m((x) => x.chains), m((x) => x.fallbacks), m((x) => x.waits), m((x) => x.errors)].join('\t'));
  }
}

await main();
