// The `dynomite` command end to end: bin/dynomite.js spawned as a user runs it (dist/ built first),
// checking exit codes and the exact text on stderr/stdout. In-process CLI behaviour is in cli.test.ts;
// this file checks the installed entry point, the compiled code and the real process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ensureBuilt, ROOT } from './helpers/node-process.js';
import { OUR_HELP } from './helpers/netflix-help.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

// netflix-behaviour.md section 2 (cli.test.ts checks this text against the reference file); only the
// -c default differs (docs/config.md).
const HELP = OUR_HELP;

function dynomite(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000, input });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let dir: string;
beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'dyn-cli-e2e-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('dynomite (spawned bin/dynomite.js)', () => {
  it('-h prints the banner and the Netflix help on stderr, exit 0', () => {
    const r = dynomite(['-h']);
    expect([r.code, r.out, r.err]).toEqual([0, '', `This is dynomite-${VERSION}\n\n${HELP}\n`]);
  });

  it('-V prints the version banner, exit 0', () => {
    const r = dynomite(['-V']);
    expect([r.code, r.out, r.err]).toEqual([0, '', `This is dynomite-${VERSION}\n\n`]);
  });

  it('-t -c conf/dynomite.yml: valid, exit 0', () => {
    const r = dynomite(['-t', '-c', 'conf/dynomite.yml']);
    expect([r.code, r.out, r.err]).toEqual([0, '', "dynomite: configuration file 'conf/dynomite.yml' syntax is valid\n"]);
  });

  it('-t accepts every shipped config', () => {
    for (const f of ['dynomite.yml', 'redis_single.yml', 'mc_single.yml', 'rack1.yml', 'rack2.yml', 'rack3.yml']) {
      const r = dynomite(['-t', '-c', `conf/${f}`]);
      expect([f, r.code, r.err]).toEqual([f, 0, `dynomite: configuration file 'conf/${f}' syntax is valid\n`]);
    }
  });

  it('-t on an unknown key and a bad value: exit 1, every problem named with file and key', () => {
    const f = join(dir, 'bad.yml');
    writeFileSync(f, 'dyn_o_mite:\n  listen: 127.0.0.1:8102\n  tokens: 1\n  data_store: memory\n  listne: 127.0.0.1:1\n  timeout: abc\n');
    const r = dynomite(['-t', '-c', f]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(
      `${f}: dyn_o_mite.listne: unknown key (did you mean listen?)\n` +
      `${f}: dyn_o_mite.timeout: expected a non-negative integer, got "abc"\n` +
      `dynomite: configuration file '${f}' syntax is invalid\n`,
    );
  });

  it('-t on a YAML syntax error and on a missing file: exit 1', () => {
    const f = join(dir, 'broken.yml');
    writeFileSync(f, 'dyn_o_mite:\n  listen: [127.0.0.1:8102\n');
    const r = dynomite(['-t', '-c', f]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^${f}:\\d+:\\d+: YAML syntax error`));
    expect(r.err).toMatch(/syntax is invalid\n$/);
    const m = dynomite(['-t', '-c', join(dir, 'missing.yml')]);
    expect(m.code).toBe(1);
    expect(m.err).toMatch(/missing\.yml: cannot read the file/);
  });

  it('running with a bad config never starts: exit 1', () => {
    const f = join(dir, 'bad2.yml');
    writeFileSync(f, 'dyn_o_mite:\n  listen: 127.0.0.1:8102\n  data_store: memory\n');
    const r = dynomite(['-c', f]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${f}: dyn_o_mite.tokens: missing required key`);
  });

  it('an unknown flag: the error, the usage, exit 1', () => {
    const r = dynomite(['-q']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(HELP);
  });

  it('-D lists the pool and server stats with descriptions, exit 0', () => {
    const r = dynomite(['-D']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    expect(r.err.startsWith(`This is dynomite-${VERSION}\n\npool stats:\n`)).toBe(true);
    expect(r.err).toMatch(/\n\s+client_connections\s*"# active client connections"\n/);
    expect(r.err).toMatch(/\nserver stats:\n/);
    expect(r.err).toMatch(/\n\s+server_timedout\s*"#[^"]+"\n/);
  });

  it('hash -a murmur prints the Netflix tokens (hashkit vectors)', () => {
    const list0 = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/reference/hashkit_vectors.json'), 'utf8')) as {
      algo: string; key_hex: string; token_hex: string;
    }[];
    const list = list0
      .filter((v) => v.algo === 'murmur' && v.key_hex !== '' && /^[0-9a-f]+$/.test(v.key_hex))
      .map((v) => ({ key: Buffer.from(v.key_hex, 'hex').toString('latin1'), token: v.token_hex }))
      .filter((v) => /^[a-z0-9]+$/i.test(v.key))
      .slice(0, 8);
    expect(list.length).toBeGreaterThan(3);
    const r = dynomite(['hash', '-a', 'murmur', ...list.map((v) => v.key)]);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toBe(list.map((v) => `${v.token}\n`).join(''));
  });

  it('hash -a murmur foo: one 8-digit token, the same from stdin', () => {
    const a = dynomite(['hash', '-a', 'murmur', 'foo']);
    expect(a.code).toBe(0);
    expect(a.out).toMatch(/^[0-9a-f]{8}\n$/);
    const b = dynomite(['hash', '-a', 'murmur'], 'foo\n');
    expect(b.out).toBe(a.out);
    const bad = dynomite(['hash', '-a', 'nope', 'foo']);
    expect(bad.code).not.toBe(0);
  });
});
