// The `dynomite` binary. `main(argv, io)` returns the exit code so tests can call it in-process;
// `runCli()` is what bin/dynomite.js runs. Like Netflix, every message of the CLI itself (usage,
// version, -t verdicts, -D) goes to stderr; stdout stays empty.
//
//   argv --parseArgs--> -h/-V/-D: banner (+ usage | stats), exit 0
//                       -t: loadConfig, verdict line, exit 0|1
//                       run: loadConfig -> [-d: re-spawn detached, exit 0] -> logger (-v, -o)
//                            -> pid file (-p) -> startNode() -> wait for SIGTERM/SIGINT -> close
import { spawn, type SpawnOptions } from 'node:child_process';
import { closeSync, openSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import { pino, type DestinationStream, type Logger } from 'pino';
import { ConfigError, loadConfig } from '../conf/load.js';
import type { NodeConfig } from '../conf/types.js';
import { parseArgs, pinoLevel, USAGE, versionBanner, type CliOptions } from './args.js';

export interface CliIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/** What src/node.ts's startNode returns. */
export interface NodeHandle {
  close(reason?: string): Promise<void>;
  reopenLogs?(): void;
  /** Re-reads the TLS certificate files (SIGHUP); throws when they are bad, keeping the old ones. */
  reloadTls?(): void;
}
export type StartNode = (config: NodeConfig, opts: { logger: Logger }) => Promise<NodeHandle>;
export type RunHashCommand = (argv: string[], io: CliIo) => Promise<number>;

/** The signals the CLI listens to; `process` by default, a plain EventEmitter in tests. */
export interface SignalSource {
  on(event: NodeJS.Signals, listener: () => void): unknown;
  off(event: NodeJS.Signals, listener: () => void): unknown;
}

/** Injection points for tests; each defaults to the real module or process. */
export interface CliDeps {
  readonly startNode?: StartNode;
  readonly describeStats?: () => string;
  readonly runHashCommand?: RunHashCommand;
  readonly signals?: SignalSource;
  readonly env?: NodeJS.ProcessEnv;
  readonly spawnDaemon?: (command: string, args: string[], options: SpawnOptions) => { unref(): void };
  /** The script a daemon re-runs (default process.argv[1]). */
  readonly entry?: string;
}

/** Set in the re-spawned child so it does not daemonize again. */
export const DAEMON_ENV = 'DYNOMITE_DAEMONIZED';

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
}

export async function main(argv: readonly string[], io: CliIo = processIo(), deps: CliDeps = {}): Promise<number> {
  if (argv[0] === 'hash') {
    const run = deps.runHashCommand ?? (await load('./hash.js', io, async () => (await import('./hash.js')).runHashCommand));
    return run === null ? 1 : run(argv.slice(1), io);
  }
  const parsed = parseArgs(argv);
  if (!parsed.ok) {
    io.stderr.write(`${parsed.error}\n${USAGE}`);
    return 1;
  }
  const opts = parsed.options;
  if (opts.help || opts.version || opts.describeStats) return showInfo(opts, io, deps);
  if (opts.testConf) return testConf(opts, io);
  return run(argv, opts, io, deps);
}

async function showInfo(opts: CliOptions, io: CliIo, deps: CliDeps): Promise<number> {
  io.stderr.write(versionBanner(VERSION));
  if (opts.help) io.stderr.write(USAGE);
  if (opts.describeStats) {
    const describe =
      deps.describeStats ?? (await load('../observe/stats-table.js', io, async () => (await import('../observe/stats-table.js')).describeStats));
    if (describe === null) return 1;
    const text = describe();
    io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  }
  return 0;
}

function readConfig(opts: CliOptions, io: CliIo): NodeConfig | null {
  const parseOptions = { mbufSize: opts.mbufSize ?? undefined, maxMsgs: opts.maxMsgs ?? undefined };
  try {
    return loadConfig(opts.confFile, parseOptions);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`${err.message}\ndynomite: configuration file '${opts.confFile}' syntax is invalid\n`);
    return null;
  }
}

function testConf(opts: CliOptions, io: CliIo): number {
  const config = readConfig(opts, io);
  if (config === null) return 1;
  for (const w of config.warnings) io.stderr.write(`${w}\n`);
  io.stderr.write(`dynomite: configuration file '${opts.confFile}' syntax is valid\n`);
  return 0;
}

async function run(argv: readonly string[], opts: CliOptions, io: CliIo, deps: CliDeps): Promise<number> {
  const config = readConfig(opts, io);
  if (config === null) return 1;
  const env = deps.env ?? process.env;
  if (opts.daemonize && env[DAEMON_ENV] !== '1') return daemonize(argv, opts, io, deps, env);

  const log = openLog(opts, io);
  if (log === null) return 1;
  const { logger, destination } = log;
  for (const w of config.warnings) logger.warn(w);

  const pid = new PidFile(opts.pidFile);
  try {
    pid.write();
  } catch (err) {
    logger.fatal({ err }, `cannot write pid file '${opts.pidFile}'`);
    await closeLog(destination);
    return 1;
  }

  let node: NodeHandle;
  try {
    const start = deps.startNode ?? (await load('../node.js', io, defaultStartNode));
    if (start === null) throw new Error('startNode is not available');
    node = await start(config, { logger });
  } catch (err) {
    logger.fatal({ err }, 'dynomite failed to start');
    pid.remove();
    await closeLog(destination);
    return 1;
  }
  logger.info(
    { listen: config.listen.text, dynListen: config.dynListen?.text ?? null, statsListen: config.statsListen.text },
    `dynomite-ts ${VERSION} started on pid ${process.pid}, listening on ${config.listen.text}`,
  );
  const code = await serveUntilSignal(node, logger, destination, deps);
  pid.remove();
  logger.info('done, dynomite-ts stopped');
  await closeLog(destination);
  return code;
}

/** Waits for SIGTERM/SIGINT (close, exit 0), reopens logs and reloads TLS files on SIGHUP, exits 1 on an uncaught error. */
function serveUntilSignal(node: NodeHandle, logger: Logger, destination: LogDestination, deps: CliDeps): Promise<number> {
  const signals = deps.signals ?? process;
  const realProcess = deps.signals === undefined;
  return new Promise<number>((resolve) => {
    let closing = false;
    const finish = (code: number) => {
      signals.off('SIGTERM', onTerm);
      signals.off('SIGINT', onInt);
      signals.off('SIGHUP', onHup);
      if (realProcess) {
        process.off('uncaughtException', onFatal);
        process.off('unhandledRejection', onFatal);
      }
      resolve(code);
    };
    const shutdown = (signal: NodeJS.Signals) => {
      if (closing) {
        logger.warn({ signal }, 'second signal during shutdown, exiting now');
        finish(1);
        return;
      }
      closing = true;
      logger.info({ signal }, `received ${signal}, shutting down`);
      node.close(signal).then(
        () => finish(0),
        (err: unknown) => {
          logger.error({ err }, 'error while shutting down');
          finish(1);
        },
      );
    };
    const onTerm = () => shutdown('SIGTERM');
    const onInt = () => shutdown('SIGINT');
    const onHup = () => {
      destination.reopen?.();
      node.reopenLogs?.();
      logger.info('SIGHUP: log file reopened');
      try {
        node.reloadTls?.();
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'SIGHUP: TLS certificates not reloaded, the old ones stay in use');
      }
    };
    const onFatal = (err: unknown) => {
      logger.fatal({ err }, 'uncaught error, exiting');
      finish(1);
    };
    signals.on('SIGTERM', onTerm);
    signals.on('SIGINT', onInt);
    signals.on('SIGHUP', onHup);
    if (realProcess) {
      process.on('uncaughtException', onFatal);
      process.on('unhandledRejection', onFatal);
    }
  });
}

type LogDestination = DestinationStream & { reopen?(): void; end?(): void; flushSync?(): void };

/** pino at the -v level, to the -o file (reopenable) or to stderr. */
function openLog(opts: CliOptions, io: CliIo): { logger: Logger; destination: LogDestination } | null {
  let destination: LogDestination;
  if (opts.output === null) {
    destination = io.stderr;
  } else {
    try {
      closeSync(openSync(opts.output, 'a')); // fail now with a clear message, not later in the stream
    } catch (err) {
      io.stderr.write(`dynomite: cannot open log file '${opts.output}': ${(err as Error).message}\n`);
      return null;
    }
    destination = pino.destination({ dest: opts.output, sync: false, append: true });
  }
  const logger = pino({ name: 'dynomite', level: pinoLevel(opts.verbosity) }, destination);
  return { logger, destination };
}

async function closeLog(destination: LogDestination): Promise<void> {
  if (destination.end === undefined || destination.reopen === undefined) return; // stderr: leave open
  const stream = destination as LogDestination & { once(event: string, cb: () => void): void };
  await new Promise<void>((resolve) => {
    stream.once('close', resolve);
    stream.once('error', () => resolve());
    destination.end?.();
  });
}

class PidFile {
  private written = false;
  constructor(private readonly path: string | null) {}
  private readonly onExit = () => this.remove();

  write(): void {
    if (this.path === null) return;
    writeFileSync(this.path, String(process.pid));
    this.written = true;
    process.once('exit', this.onExit);
  }

  remove(): void {
    if (!this.written || this.path === null) return;
    this.written = false;
    process.off('exit', this.onExit);
    try {
      unlinkSync(this.path);
    } catch {
      // already gone: nothing to clean up
    }
  }
}

/**
 * Node cannot fork, so -d re-runs this same command detached (its own session, stdio to the -o
 * file or /dev/null) with DYNOMITE_DAEMONIZED=1, and the parent exits 0 at once, as Netflix's
 * parent does. The config was checked first, so a bad file still fails in the foreground.
 */
function daemonize(argv: readonly string[], opts: CliOptions, io: CliIo, deps: CliDeps, env: NodeJS.ProcessEnv): number {
  const entry = deps.entry ?? process.argv[1];
  if (entry === undefined) {
    io.stderr.write('dynomite: cannot daemonize: unknown entry script\n');
    return 1;
  }
  let out: number | 'ignore' = 'ignore';
  try {
    if (opts.output !== null) out = openSync(opts.output, 'a');
  } catch (err) {
    io.stderr.write(`dynomite: cannot open log file '${opts.output}': ${(err as Error).message}\n`);
    return 1;
  }
  const spawnDaemon = deps.spawnDaemon ?? spawn;
  const child = spawnDaemon(process.execPath, [...process.execArgv, entry, ...argv], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...env, [DAEMON_ENV]: '1' },
  });
  child.unref();
  if (typeof out === 'number') closeSync(out);
  return 0;
}

/** The real startNode: src/node.ts takes NodeOptions, mapped from the config here. */
async function defaultStartNode(): Promise<StartNode> {
  const [{ startNode }, { nodeOptionsFromConfig }] = await Promise.all([import('../node.js'), import('../conf/node-options.js')]);
  return (config, opts) => startNode(nodeOptionsFromConfig(config), opts);
}

/**
 * The node, the stats table and the hash tool are imported only when used, so `-h`, `-V` and `-t`
 * start fast and keep working if one of those modules fails to load; a failure names the module.
 */
async function load<T>(what: string, io: CliIo, importer: () => Promise<T>): Promise<T | null> {
  try {
    return await importer();
  } catch (err) {
    io.stderr.write(`dynomite: cannot load ${what}: ${(err as Error).message}\n`);
    return null;
  }
}

/** Entry point of bin/dynomite.js. */
export async function runCli(argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  const code = await main(argv);
  process.exit(code);
}

function isEntry(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntry()) void runCli();
