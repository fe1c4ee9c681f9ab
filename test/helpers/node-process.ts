// A dynomite-ts node as a separate process (`node bin/dynomite.js -c <conf>`), for tests where
// process-level facts matter: RSS, open fds, signals, exit codes. The config is written to a temp
// dir with loopback addresses on free ports; the process is always killed (SIGKILL as a last resort).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForPort } from './servers.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The entry point; $DYNOMITE_BIN runs another build (e.g. an installed copy). */
export const BIN = process.env.DYNOMITE_BIN ?? join(ROOT, 'bin/dynomite.js');

/** Builds dist/ when it is missing or older than src/ (bin/dynomite.js runs dist/cli/main.js). */
export function ensureBuilt(): void {
  const entry = join(ROOT, 'dist/cli/main.js');
  if (existsSync(entry) && newestMtime(join(ROOT, 'src')) <= statSync(entry).mtimeMs + 1) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: ROOT, encoding: 'utf8', timeout: 120_000,
  });
  if (r.status !== 0 && !existsSync(entry)) throw new Error(`tsc -p tsconfig.build.json failed: ${r.stdout}${r.stderr}`);
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (f.endsWith('.ts')) newest = Math.max(newest, statSync(join(dir, f)).mtimeMs);
  }
  return newest;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface NodeProcess {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Client port. */
  readonly port: number;
  readonly statsPort: number;
  readonly dir: string;
  readonly confPath: string;
  readonly exited: Promise<Exit>;
  /** The last 256 KB of stderr (the log, without -o). */
  log(): string;
  alive(): boolean;
  /** VmRSS in KB, from /proc/<pid>/status. */
  rssKb(): number;
  /** Open file descriptors of the process. */
  fds(): number;
  /** SIGTERM, then SIGKILL after graceMs; removes the temp dir. */
  stop(graceMs?: number): Promise<Exit>;
}

export interface NodeProcessOptions {
  /** `memory` (embedded) or a redis port. */
  dataStore: 'memory' | { redisPort: number };
  /** Extra config keys (YAML scalars), e.g. { timeout: '1000' }. */
  conf?: Record<string, string>;
  /** Extra CLI flags (e.g. ['-o', file]). */
  args?: string[];
  env?: NodeJS.ProcessEnv;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export function writeConf(dir: string, lines: Record<string, string>): string {
  const path = join(dir, 'node.yml');
  const body = Object.entries(lines).map(([k, v]) => `  ${k}: ${v}`).join('\n');
  writeFileSync(path, `dyn_o_mite:\n${body}\n`);
  return path;
}

/**
 * Starts a node process on fresh ports. Another test process may take one of them between our check
 * and the node's bind (EADDRINUSE at start): then try again with new ports.
 */
export async function spawnNode(o: NodeProcessOptions): Promise<NodeProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnNodeOnce(o);
    } catch (e) {
      if (attempt >= 3 || !String(e).includes('EADDRINUSE')) throw e;
    }
  }
}

async function spawnNodeOnce(o: NodeProcessOptions): Promise<NodeProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'dyn-proc-'));
  const port = await freePort();
  const statsPort = await freePort();
  const conf: Record<string, string> = {
    listen: `127.0.0.1:${port}`,
    stats_listen: `127.0.0.1:${statsPort}`,
    tokens: "'101134286'",
    ...(o.dataStore === 'memory'
      ? { data_store: 'memory' }
      : { data_store: '0', servers: `\n  - 127.0.0.1:${o.dataStore.redisPort}:1` }),
    ...o.conf,
  };
  const confPath = writeConf(dir, conf);
  const proc = spawn(process.execPath, [BIN, '-c', confPath, ...(o.args ?? [])], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...o.env },
  });
  live.add(proc);
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => {
    log += d.toString('latin1');
    if (log.length > 512 * 1024) log = log.slice(-256 * 1024);
  });
  const exited = new Promise<Exit>((resolve) => proc.once('exit', (code, signal) => {
    live.delete(proc);
    resolve({ code, signal });
  }));
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  const np: NodeProcess = {
    proc,
    pid: proc.pid!,
    port,
    statsPort,
    dir,
    confPath,
    exited,
    log: () => log,
    alive,
    rssKb: () => {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
      return m ? Number(m[1]) : NaN;
    },
    fds: () => readdirSync(`/proc/${proc.pid}/fd`).length,
    async stop(graceMs = 3000) {
      if (alive()) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
      return exited;
    },
  };
  try {
    await Promise.race([
      waitForPort(port, 15_000),
      exited.then((e) => {
        throw new Error(`node exited at start (${e.code ?? e.signal}): ${log}`);
      }),
    ]);
  } catch (err) {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return np;
}
