import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseArgs, pinoLevel, USAGE, versionBanner, type CliOptions } from '../src/cli/args.js';
import { DAEMON_ENV, main, VERSION, type CliDeps, type CliIo, type NodeHandle, type StartNode } from '../src/cli/main.js';
import type { NodeConfig } from '../src/conf/types.js';
import { NETFLIX_HELP } from './helpers/netflix-help.js';
import { until } from './helpers/until.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GOOD_CONF = join(ROOT, 'conf/dynomite.yml');


class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

function makeIo(): CliIo & { stdout: Capture; stderr: Capture } {
  return { stdin: new PassThrough(), stdout: new Capture(), stderr: new Capture() };
}

async function cli(argv: string[], deps: CliDeps = {}) {
  const io = makeIo();
  const code = await main(argv, io, deps);
  return { code, out: io.stdout.text, err: io.stderr.text };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dyn-cli-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('help and version (stderr, as Netflix)', () => {
  it('NETFLIX_HELP is the text of netflix-behaviour.md section 2', () => {
    const md = readFileSync(join(ROOT, 'test/fixtures/reference/netflix-behaviour.md'), 'utf8');
    const block = /## 2\. CLI[^\n]*\n\n```\n([\s\S]*?)```/.exec(md)?.[1];
    expect(block).toBe(NETFLIX_HELP);
  });

  it('-h prints the banner and the Netflix usage text', async () => {
    const r = await cli(['-h']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    const expected = NETFLIX_HELP.replace('/usr/local/etc/dynomite.yml', 'conf/dynomite.yml');
    expect(r.err).toBe(`This is dynomite-${VERSION}\n\n${expected}\n`);
  });

  it('--help and -? print the same', async () => {
    const h = (await cli(['-h'])).err;
    expect((await cli(['--help'])).err).toBe(h);
    expect((await cli(['-?'])).err).toBe(h);
  });

  it('-V prints the version banner', async () => {
    const r = await cli(['-V']);
    expect([r.code, r.out, r.err]).toEqual([0, '', `This is dynomite-${VERSION}\n\n`]);
    expect(VERSION).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('-D prints the stats description after the banner', async () => {
    const r = await cli(['-D'], { describeStats: () => 'pool stats:\n  client_eof  "# eof on client connections"' });
    expect(r.code).toBe(0);
    expect(r.err).toBe(`${versionBanner(VERSION)}pool stats:\n  client_eof  "# eof on client connections"\n`);
  });

  it('-D without injection loads src/observe/stats-table.js or says why it cannot', async () => {
    const r = await cli(['-D']);
    if (r.code === 0) expect(r.err.length).toBeGreaterThan(versionBanner(VERSION).length + 20);
    else expect(r.err).toContain('dynomite: cannot load ../observe/stats-table.js: ');
  });
});

describe('-t', () => {
  it('a valid file', async () => {
    const r = await cli(['-t', '-c', GOOD_CONF]);
    expect([r.code, r.out, r.err]).toEqual([0, '', `dynomite: configuration file '${GOOD_CONF}' syntax is valid\n`]);
  });

  it('a bad file: every problem, then the Netflix failure line', async () => {
    const f = join(dir, 'bad.yml');
    writeFileSync(f, 'dyn_o_mite:\n  listen: 127.0.0.1:8102\n  tokens: 1\n  data_store: memory\n  timeout: abc\n  hash: nope\n');
    const r = await cli(['--test-conf', `--conf-file=${f}`]);
    expect(r.code).toBe(1);
    expect(r.err.split('\n')).toEqual([
      `${f}: dyn_o_mite.timeout: expected a non-negative integer, got "abc"`,
      expect.stringMatching(new RegExp(`^${f}: dyn_o_mite.hash: expected one of `)),
      `dynomite: configuration file '${f}' syntax is invalid`,
      '',
    ]);
  });

  it('a missing file', async () => {
    const r = await cli(['-tc', join(dir, 'none.yml')]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`${join(dir, 'none.yml')}: cannot read the file: no such file\ndynomite: configuration file '${join(dir, 'none.yml')}' syntax is invalid\n`);
  });

  it('warnings are printed, the file is still valid', async () => {
    const f = join(dir, 'w.yml');
    writeFileSync(f, 'dyn_o_mite:\n  listen: 127.0.0.1:8102\n  tokens: 1\n  data_store: memory\n  distribution: ketama\n');
    const r = await cli(['-t', '-c', f]);
    expect(r.code).toBe(0);
    expect(r.err).toBe(`${f}: dyn_o_mite.distribution: deprecated, accepted and ignored\ndynomite: configuration file '${f}' syntax is valid\n`);
  });
});

describe('flag parsing', () => {
  const ok = (argv: string[]): CliOptions => {
    const r = parseArgs(argv);
    if (!r.ok) throw new Error(r.error);
    return r.options;
  };

  it('defaults', () => {
    expect(ok([])).toMatchObject({ verbosity: 5, confFile: 'conf/dynomite.yml', output: null, pidFile: null, mbufSize: null, testConf: false });
  });

  const forms: [string[], Partial<CliOptions>][] = [
    [['-v', '6'], { verbosity: 6 }],
    [['-v6'], { verbosity: 6 }],
    [['--verbosity=6'], { verbosity: 6 }],
    [['--verbosity', '6'], { verbosity: 6 }],
    [['--verb=7'], { verbosity: 7 }],
    [['--verbose=3'], { verbosity: 3 }],
    [['-v20'], { verbosity: 11 }],
    [['-tv6', '-cfoo.yml'], { testConf: true, verbosity: 6, confFile: 'foo.yml' }],
    [['-dt'], { daemonize: true, testConf: true }],
    [['-o', 'l.log', '-p', 'x.pid'], { output: 'l.log', pidFile: 'x.pid' }],
    [['--output', 'l.log', '--pid-file=x.pid', '--conf-file', 'c.yml'], { output: 'l.log', pidFile: 'x.pid', confFile: 'c.yml' }],
    [['-m', '512', '-M', '100000'], { mbufSize: 512, maxMsgs: 100000 }],
    [['--mbuf-size=16384', '--max-msgs=1000000'], { mbufSize: 16384, maxMsgs: 1000000 }],
    [['-x', '2', '-y', 'p', '--admin-param=q'], { adminOperation: 2, adminParam: 'q' }],
    [['-D', '--'], { describeStats: true }],
  ];
  it.each(forms)('%j', (argv, expected) => {
    expect(ok(argv)).toMatchObject(expected);
  });

  const bad: [string[], string][] = [
    [['-z'], "dynomite: invalid option -- 'z'"],
    [['-tz'], "dynomite: invalid option -- 'z'"],
    [['-g'], "dynomite: invalid option -- 'g' (gossip is turned on with enable_gossip: true in the configuration file)"],
    [['-c'], 'dynomite: option -c requires a file name'],
    [['-o'], 'dynomite: option -o requires a file name'],
    [['--pid-file'], 'dynomite: option -p requires a file name'],
    [['-v'], 'dynomite: option -v requires a number'],
    [['-v', 'x'], 'dynomite: option -v requires a number'],
    [['-v', '-1'], 'dynomite: option -v requires a number'],
    [['-y'], 'dynomite: option -y requires a string'],
    [['-m', '0'], 'dynomite: option -m requires a non-zero number'],
    [['-m', '100'], 'dynomite: mbuf chunk size must be between 512 and 512000 bytes'],
    [['-m', '520'], 'dynomite: mbuf chunk size must be a multiple of 16'],
    [['-M', '5'], 'dynomite: max allocated messages buffer must be between 100000 and 1000000 messages'],
    [['-x', '0'], 'dynomite: option -x requires a non-zero number'],
    [['--foo'], "dynomite: unrecognized option '--foo'"],
    [['--help=1'], "dynomite: option '--help' doesn't allow an argument"],
    [['--m', '1'], "dynomite: option '--m' is ambiguous; possibilities: '--mbuf-size' '--max-msgs'"],
    [['extra'], "dynomite: unexpected argument 'extra'"],
    [['--', 'extra'], "dynomite: unexpected argument 'extra'"],
  ];
  it.each(bad)('%j fails with a clear message, the usage and exit 1', async (argv, message) => {
    expect(parseArgs(argv)).toEqual({ ok: false, error: message });
    const r = await cli(argv);
    expect([r.code, r.out, r.err]).toEqual([1, '', `${message}\n${USAGE}`]);
  });

  it('-v maps Netflix levels to pino levels', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 99].map(pinoLevel)).toEqual(
      ['fatal', 'fatal', 'fatal', 'error', 'warn', 'info', 'info', 'debug', 'trace', 'trace', 'trace'],
    );
  });
});

describe('dynomite hash', () => {
  it('delegates to runHashCommand with the rest of argv', async () => {
    const seen: string[][] = [];
    const r = await cli(['hash', '--algo', 'murmur', 'k1'], {
      runHashCommand: async (argv, io) => {
        seen.push(argv);
        io.stdout.write('token\n');
        return 3;
      },
    });
    expect(seen).toEqual([['--algo', 'murmur', 'k1']]);
    expect([r.code, r.out]).toEqual([3, 'token\n']);
  });
});

/** A fake node and signal source: drive a full run in-process. */
function harness(opts: { failStart?: boolean; slowClose?: boolean } = {}) {
  const signals = new EventEmitter();
  const calls: string[] = [];
  let started: (config: NodeConfig) => void = () => undefined;
  const startedP = new Promise<NodeConfig>((r) => (started = r));
  const startNode: StartNode = async (config, { logger }) => {
    calls.push('start');
    if (opts.failStart) throw new Error('EADDRINUSE 127.0.0.1:8102');
    logger.info('fake node up');
    started(config);
    const node: NodeHandle = {
      close: (reason) => {
        calls.push(`close:${reason}`);
        return opts.slowClose ? new Promise(() => undefined) : Promise.resolve();
      },
      reopenLogs: () => calls.push('reopenLogs'),
    };
    return node;
  };
  return { signals, calls, startedP, deps: { startNode, signals, env: {} } satisfies CliDeps };
}

describe('running a node', () => {
  it('writes the pid file, logs to -o, reopens on SIGHUP, closes on SIGTERM', async () => {
    const h = harness();
    const pid = join(dir, 'dyn.pid');
    const log = join(dir, 'dyn.log');
    const io = makeIo();
    const done = main(['-c', GOOD_CONF, '-p', pid, '-o', log, '-v', '6'], io, h.deps);
    const config = await h.startedP;
    expect(config.listen.text).toBe('127.0.0.1:8102');
    expect(readFileSync(pid, 'utf8')).toBe(String(process.pid));

    await until('the start-up line in the log', () => existsSync(log) && readFileSync(log, 'utf8').includes('started on pid'), 2000);
    renameSync(log, `${log}.1`); // log rotation
    h.signals.emit('SIGHUP');
    expect(h.calls).toContain('reopenLogs');
    h.signals.emit('SIGTERM');
    expect(await done).toBe(0);

    expect(h.calls).toEqual(['start', 'reopenLogs', 'close:SIGTERM']);
    expect(existsSync(pid)).toBe(false);
    const before = readFileSync(`${log}.1`, 'utf8');
    const after = readFileSync(log, 'utf8');
    expect(before).toContain(`dynomite-ts ${VERSION} started on pid ${process.pid}, listening on 127.0.0.1:8102`);
    expect(after).toContain('received SIGTERM, shutting down');
    expect(after).not.toContain('started on pid');
    expect(io.stdout.text + io.stderr.text).toBe('');
    expect(h.signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('logs to stderr without -o, at the -v level', async () => {
    const h = harness();
    const io = makeIo();
    const done = main(['-c', GOOD_CONF, '-v', '4'], io, h.deps);
    await h.startedP;
    h.signals.emit('SIGINT');
    expect(await done).toBe(0);
    expect(io.stdout.text).toBe('');
    expect(io.stderr.text).toBe(''); // -v 4 = warn: info lines are filtered

    const h2 = harness();
    const io2 = makeIo();
    const done2 = main(['-c', GOOD_CONF], io2, h2.deps);
    await h2.startedP;
    h2.signals.emit('SIGINT');
    expect(await done2).toBe(0);
    const lines = io2.stderr.text.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: number });
    expect(lines.map((l) => l.msg)).toContain('received SIGINT, shutting down');
  });

  it('a second signal during shutdown exits 1 at once', async () => {
    const h = harness({ slowClose: true });
    const done = main(['-c', GOOD_CONF], makeIo(), h.deps);
    await h.startedP;
    h.signals.emit('SIGTERM');
    h.signals.emit('SIGINT');
    expect(await done).toBe(1);
  });

  it('a bad config never starts the node', async () => {
    const h = harness();
    const f = join(dir, 'bad.yml');
    writeFileSync(f, 'dyn_o_mite:\n  tokens: 1\n');
    const io = makeIo();
    expect(await main(['-c', f], io, h.deps)).toBe(1);
    expect(io.stderr.text).toBe(`${f}: dyn_o_mite.listen: missing required key\ndynomite: configuration file '${f}' syntax is invalid\n`);
    expect(h.calls).toEqual([]);
  });

  it('a node that fails to start: fatal log, pid file removed, exit 1', async () => {
    const h = harness({ failStart: true });
    const pid = join(dir, 'dyn.pid');
    const io = makeIo();
    expect(await main(['-c', GOOD_CONF, '-p', pid], io, h.deps)).toBe(1);
    expect(existsSync(pid)).toBe(false);
    expect(io.stderr.text).toContain('EADDRINUSE 127.0.0.1:8102');
    expect(io.stderr.text).toContain('"level":60');
  });

  it('an unwritable pid file is an error', async () => {
    const h = harness();
    const io = makeIo();
    expect(await main(['-c', GOOD_CONF, '-p', join(dir, 'no/such/dir/x.pid')], io, h.deps)).toBe(1);
    expect(io.stderr.text).toContain('cannot write pid file');
    expect(h.calls).toEqual([]);
  });

  it('an unopenable log file is an error', async () => {
    const h = harness();
    const io = makeIo();
    expect(await main(['-c', GOOD_CONF, '-o', join(dir, 'no/such/dir/x.log')], io, h.deps)).toBe(1);
    expect(io.stderr.text).toMatch(/^dynomite: cannot open log file '.*x\.log': ENOENT/);
  });
});

describe('-d', () => {
  it('re-spawns itself detached with DYNOMITE_DAEMONIZED=1 and exits 0', async () => {
    const h = harness();
    const spawned: { command: string; args: string[]; options: Record<string, unknown> }[] = [];
    const log = join(dir, 'd.log');
    const argv = ['-d', '-c', GOOD_CONF, '-o', log];
    const code = await main(argv, makeIo(), {
      ...h.deps,
      entry: '/opt/dynomite/bin/dynomite.js',
      spawnDaemon: (command, args, options) => {
        spawned.push({ command, args, options: options as Record<string, unknown> });
        return { unref: () => undefined };
      },
    });
    expect(code).toBe(0);
    expect(h.calls).toEqual([]);
    expect(spawned).toHaveLength(1);
    const [s] = spawned;
    expect(s?.command).toBe(process.execPath);
    expect(s?.args.slice(-6)).toEqual(['/opt/dynomite/bin/dynomite.js', ...argv]);
    expect(s?.options.detached).toBe(true);
    expect((s?.options.env as Record<string, string>)[DAEMON_ENV]).toBe('1');
    expect((s?.options.stdio as unknown[])[0]).toBe('ignore');
  });

  it('the daemon child runs in the foreground', async () => {
    const h = harness();
    const done = main(['-d', '-c', GOOD_CONF], makeIo(), { ...h.deps, env: { [DAEMON_ENV]: '1' } });
    await h.startedP;
    h.signals.emit('SIGTERM');
    expect(await done).toBe(0);
  });

  it('a bad config fails in the foreground', async () => {
    const io = makeIo();
    expect(await main(['-d', '-c', join(dir, 'none.yml')], io, { spawnDaemon: () => { throw new Error('must not spawn'); } })).toBe(1);
    expect(io.stderr.text).toContain('syntax is invalid');
  });
});

describe('spawned smoke tests', () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20000 });

  it('src/cli/main.ts runs as a script: -V, -t good and bad', () => {
    const v = run(['-V']);
    expect([v.status, v.stdout, v.stderr]).toEqual([0, '', `This is dynomite-${VERSION}\n\n`]);
    const t = run(['-t']); // default conf path: conf/dynomite.yml in the working directory
    expect([t.status, t.stderr]).toEqual([0, "dynomite: configuration file 'conf/dynomite.yml' syntax is valid\n"]);
    const bad = run(['-t', '-c', 'package.json']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/syntax is invalid\n$/);
  });

  it('bin/dynomite.js runs dist/ or says to build it', () => {
    const r = spawnSync(process.execPath, ['bin/dynomite.js', '-V'], { cwd: ROOT, encoding: 'utf8', timeout: 20000 });
    if (existsSync(join(ROOT, 'dist/cli/main.js'))) {
      expect([r.status, r.stderr]).toEqual([0, `This is dynomite-${VERSION}\n\n`]);
    } else {
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/dist\/cli\/main\.js is missing; run npm run build/);
    }
  });
});
