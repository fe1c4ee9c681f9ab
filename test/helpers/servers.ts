// Real datastores for tests: redis-server and memcached on free loopback ports, always stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';

/** Ports this process already handed out: the kernel may offer a just-released port again. */
const handedOut = new Set<number>();

/**
 * A free loopback port, never one this process handed out before: two calls in a row (listen and
 * stats_listen of one node) must not get the same port back from the kernel.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await kernelPort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no fresh free port after 50 attempts');
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect({ host: '127.0.0.1', port }, () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface RunningServer {
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/**
 * Starts `cmd` on `port`, or on a free port. Another test process may take a free port between our
 * check and the server's bind: when the server then exits at start, try again on another port.
 */
async function start(cmd: string, args: (port: number) => string[], port?: number): Promise<RunningServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(cmd, args, port ?? (await freePort()));
    } catch (e) {
      if (port !== undefined || attempt >= 3 || !String(e).includes('exited at start')) throw e;
    }
  }
}

async function startOnce(cmd: string, args: (port: number) => string[], p: number): Promise<RunningServer> {
  const proc = spawn(cmd, args(p), { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let stderr = '';
  // redis-server reports a failed bind on stdout, memcached on stderr: keep both for the error.
  proc.stdout?.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const notFound = new Promise<never>((_, reject) => proc.once('error', (err: NodeJS.ErrnoException) => {
    reject(err.code === 'ENOENT'
      ? new Error(`${cmd} is not installed (not on the PATH); \`npm test\` installs it on Debian as root, see scripts/test-deps.sh`)
      : err);
  }));
  try {
    await Promise.race([
      waitForPort(p),
      notFound,
      exited.then(() => {
        throw new Error(`${cmd} exited at start: ${stderr}`);
      }),
    ]);
  } catch (e) {
    proc.kill('SIGKILL');
    running.delete(proc);
    throw e;
  }
  return {
    port: p,
    proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
      running.delete(proc);
    },
  };
}

/** redis-server on a free loopback port, no persistence. */
export function startRedis(extra: string[] = [], port?: number): Promise<RunningServer> {
  return start('redis-server', (p) => ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra], port);
}

/** memcached on a free loopback port (TCP only). */
export function startMemcached(port?: number): Promise<RunningServer> {
  return start('memcached', (p) => ['-U', '0', '-l', '127.0.0.1', '-p', String(p), '-u', 'root'], port);
}

/** redis-server with only a TLS port (`--port 0 --tls-port`), no persistence. */
export function startRedisTls(tls: { cert: string; key: string; ca: string; authClients: 'yes' | 'no' | 'optional' }): Promise<RunningServer> {
  return start('redis-server', (p) => [
    '--port', '0', '--tls-port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', tls.authClients,
  ]);
}
