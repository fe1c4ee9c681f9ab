import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderConfigDocs, DOCS_PATH } from '../src/cli/config-docs.js';
import { ConfigError, loadConfig, parseConfig } from '../src/conf/load.js';
import { nodeOptionsFromConfig } from '../src/conf/node-options.js';
import { DEFAULT_NODE_OPTIONS, type NodeOptions } from '../src/conf/options.js';
import { CONFIG_KEY_NAMES, CONFIG_KEYS, REQUIRED, type AnyKeyDef } from '../src/conf/schema.js';
import type { NodeConfig } from '../src/conf/types.js';
import { Prng } from './helpers/prng.js';
import type { SecretSources } from '../src/conf/secrets.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REFERENCE = join(ROOT, 'test/fixtures/reference/conf');

const BASE: Record<string, string[]> = {
  listen: ['listen: 127.0.0.1:8102'],
  tokens: ["tokens: '101134286'"],
  servers: ['servers:', '- 127.0.0.1:22122:1'],
};

/** A valid file plus `extra` lines (indented under the pool); an extra top key replaces the base one. */
function conf(...extra: string[]): string {
  const overridden = new Set(extra.filter((l) => /^[a-z_]+ ?:/.test(l)).map((l) => l.split(':')[0]?.trim()));
  const base = Object.entries(BASE).flatMap(([k, lines]) => (overridden.has(k) ? [] : lines));
  return ['dyn_o_mite:', ...[...base, ...extra].map((l) => `  ${l}`)].join('\n') + '\n';
}

function parse(text: string): NodeConfig {
  return parseConfig(text, 'f.yml');
}

function errorOf(text: string, file = 'f.yml'): ConfigError {
  try {
    parseConfig(text, file);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('reference configs (Netflix samples)', () => {
  it('every file in reference/conf parses without warnings', () => {
    const files = readdirSync(REFERENCE).filter((f) => f.endsWith('.yml'));
    expect(files.length).toBeGreaterThanOrEqual(15);
    for (const f of files) {
      const c = loadConfig(join(REFERENCE, f));
      expect(c.pool, f).toBe('dyn_o_mite');
      expect(c.warnings, f).toEqual([]);
    }
  });

  it('spot-checks values', () => {
    const load = (f: string) => loadConfig(join(REFERENCE, f));
    const single = load('dynomite.yml');
    expect(single.listen).toEqual({ host: '127.0.0.1', port: 8102, text: '127.0.0.1:8102' });
    expect(single.dynListen).toEqual({ host: '127.0.0.1', port: 8101, text: '127.0.0.1:8101' });
    expect(single.tokens).toEqual([101134286]);
    expect(single.servers).toEqual([{ host: '127.0.0.1', port: 22122, weight: 1, name: null, text: '127.0.0.1:22122:1' }]);
    expect(single.dataStore).toBe('redis');
    expect(single.mbufSize).toBe(16384);
    expect(single.maxMsgs).toBe(300000);
    expect(single.statsListen.text).toBe('0.0.0.0:22222');

    const mc = load('mc_single.yml');
    expect(mc.dataStore).toBe('memcache');
    expect(mc.tokens).toEqual([437425602]); // written as a plain number

    const node1 = load('node1.yml');
    expect([node1.datacenter, node1.rack, node1.preconnect, node1.dynSeedProvider]).toEqual(['dc1', 'rack1', true, 'simple_provider']);
    expect(node1.dynSeeds).toEqual([
      { host: '127.0.0.1', port: 8113, rack: 'rack1', dc: 'dc2', tokens: [101134286], name: null, text: '127.0.0.1:8113:rack1:dc2:101134286' },
    ]);
    expect(node1.statsListen.port).toBe(33331);

    const dc1 = load('redis_dc1.yml');
    expect([dc1.secureServerOption, dc1.pemKeyFile]).toEqual(['datacenter', 'conf/dynomite.pem']);
    expect([dc1.datastoreConnections, dc1.localPeerConnections, dc1.remotePeerConnections]).toEqual([3, 3, 3]);
    expect(dc1.dynSeeds[0]).toMatchObject({ host: '127.0.0.2', port: 8101, rack: 'rack2', dc: 'dc2', tokens: [1383429731] });

    const rack1 = load('redis_rack1_node.yml');
    expect([rack1.readConsistency, rack1.writeConsistency]).toEqual(['DC_SAFE_QUORUM', 'DC_SAFE_QUORUM']);
    expect(rack1.dynSeeds.map((s) => `${s.host}:${s.rack}`)).toEqual(['127.0.0.2:rack2', '127.0.0.3:rack3']);

    expect(load('dynomite_dns_single.yml')).toMatchObject({ dynSeedProvider: 'dns_provider', tokens: [0], datacenter: 'dc' });
    expect(load('dynomite_florida_single.yml').dynSeedProvider).toBe('florida_provider');
    const pw = load('redis_with_password.yml');
    expect(pw.redisRequirepass).toBe('my-redis-password');
    expect(pw.statsListen.text).toBe('127.0.0.1:22222');
  });
});

describe('our sample configs (conf/)', () => {
  it('every file parses', () => {
    const files = readdirSync(join(ROOT, 'conf')).filter((f) => f.endsWith('.yml'));
    expect(files.sort()).toEqual(['dynomite.yml', 'mc_single.yml', 'rack1.yml', 'rack2.yml', 'rack3.yml', 'redis_single.yml']);
    for (const f of files) expect(loadConfig(join(ROOT, 'conf', f)).warnings, f).toEqual([]);
  });

  it('conf/dynomite.yml is a single in-memory node on loopback', () => {
    const c = loadConfig(join(ROOT, 'conf/dynomite.yml'));
    expect(c.dataStore).toBe('memory');
    expect(c.servers).toEqual([]);
    expect([c.listen.text, c.dynListen?.text, c.statsListen.text]).toEqual(['127.0.0.1:8102', '127.0.0.1:8101', '127.0.0.1:22222']);
  });

  it('the three rack files point at each other', () => {
    const racks = [1, 2, 3].map((r) => loadConfig(join(ROOT, `conf/rack${r}.yml`)));
    const ports = new Set(racks.flatMap((c) => [c.listen.port, c.dynListen?.port, c.statsListen.port]));
    expect(ports.size).toBe(9);
    for (const c of racks) {
      const others = racks.filter((o) => o !== c);
      expect(c.dynSeeds.map((s) => [s.port, s.rack, s.dc])).toEqual(others.map((o) => [o.dynListen?.port, o.rack, o.datacenter]));
      expect(c.dynSeeds.map((s) => s.tokens[0])).toEqual(c.dynSeeds.map(() => c.tokens[0]));
    }
  });
});

describe('defaults', () => {
  it('every unset key takes the table default', () => {
    const c = parse(conf()) as unknown as Record<string, unknown>;
    for (const name of CONFIG_KEY_NAMES) {
      const def: AnyKeyDef = CONFIG_KEYS[name];
      if (def.field === null || def.default === REQUIRED || name === 'servers') continue;
      expect(c[def.field], name).toEqual(def.default);
    }
  });

  it('matches the documented Netflix defaults', () => {
    const c = parse(conf());
    expect(c).toMatchObject({
      statsListen: { host: '0.0.0.0', port: 22222 },
      hash: 'murmur',
      hashTag: null,
      timeout: 5000,
      backlog: 512,
      datacenter: 'localdc',
      rack: 'localrack',
      readConsistency: 'DC_ONE',
      writeConsistency: 'DC_ONE',
      mbufSize: 16384,
      maxMsgs: 200000,
      gosInterval: 30000,
      enableGossip: false,
      dynConnections: 100,
      serverRetryTimeout: 10000,
      serverFailureLimit: 3,
      dynReadTimeout: 10000,
      dynWriteTimeout: 10000,
      secureServerOption: 'none',
      pemKeyFile: 'conf/dynomite.pem',
      env: 'aws',
      connMsgRate: 50000,
      preconnect: true,
      autoEjectHosts: true,
      dataStore: 'redis',
      dynSeedProvider: 'simple_provider',
      dynSeeds: [],
      dynListen: null,
      maxMessageBytes: 64 * 1024 * 1024,
      warnings: [],
    });
  });

  it('0 means the default for Netflix "unset" numbers', () => {
    expect(parse(conf('timeout: 0', 'gos_interval: 0')).timeout).toBe(5000);
    expect(parse(conf('gos_interval: 0')).gosInterval).toBe(30000);
  });

  it('connection counts are 8-bit as in Netflix (conf_set_short): modulo 256, then 0 means 1', () => {
    const c = (v: string) => parse(conf(`local_peer_connections: ${v}`, `remote_peer_connections: ${v}`, `datastore_connections: ${v}`));
    for (const [v, want] of [['0', 1], ['1', 1], ['3', 3], ['255', 255], ['256', 1], ['300', 44]] as const) {
      const got = c(v);
      expect([got.localPeerConnections, got.remotePeerConnections, got.datastoreConnections], v).toEqual([want, want, want]);
    }
  });

  it('-m / -M values apply only when the file does not set the key', () => {
    expect(parseConfig(conf(), 'f.yml', { mbufSize: 1024, maxMsgs: 500000 })).toMatchObject({ mbufSize: 1024, maxMsgs: 500000 });
    expect(parseConfig(conf('mbuf_size: 512'), 'f.yml', { mbufSize: 1024 }).mbufSize).toBe(512);
  });

  it('the result is deeply frozen', () => {
    const c = parse(conf('dyn_seeds:', '  - 10.0.0.1:8101:r:d:1'));
    expect(Object.isFrozen(c) && Object.isFrozen(c.tokens) && Object.isFrozen(c.dynSeeds[0]?.tokens)).toBe(true);
    expect(() => ((c as { timeout: number }).timeout = 1)).toThrow(TypeError);
  });
});

describe('values', () => {
  const cases: [string, string[], Partial<Record<keyof NodeConfig, unknown>>][] = [
    ['token lists', ["tokens: '1, 2,4294967295'"], { tokens: [1, 2, 4294967295] }],
    ['unquoted token', ['tokens: 0'], { tokens: [0] }],
    ['vnode seeds with a name', ['dyn_seeds:', "  - '10.0.0.2:8101:rack2:dc:1,2147483648 node-b'"], {
      dynSeeds: [{ host: '10.0.0.2', port: 8101, rack: 'rack2', dc: 'dc', tokens: [1, 2147483648], name: 'node-b', text: '10.0.0.2:8101:rack2:dc:1,2147483648' }],
    }],
    ['a single seed as a scalar', ['dyn_seeds: 10.0.0.2:8101:r:d:5'], { dynSeeds: [expect.objectContaining({ tokens: [5] })] }],
    ['ipv6 listen', ["listen: '[::1]:8102'", "dyn_listen: '::1:8101'"], { listen: { host: '::1', port: 8102, text: '[::1]:8102' }, dynListen: expect.objectContaining({ host: '::1', port: 8101 }) }],
    ['consistency is case-insensitive', ['read_consistency: dc_quorum', 'write_consistency : Dc_Each_Safe_Quorum'], { readConsistency: 'DC_QUORUM', writeConsistency: 'DC_EACH_SAFE_QUORUM' }],
    ['hash and hash_tag', ['hash: fnv1a_64', "hash_tag: '{}'"], { hash: 'fnv1a_64', hashTag: '{}' }],
    ['data_store memory without servers', ['data_store: memory'], { dataStore: 'memory' }],
    ['data_store 1', ['data_store: 1'], { dataStore: 'memcache' }],
    ['quoted numbers and booleans', ["timeout: '250'", "enable_gossip: 'true'"], { timeout: 250, enableGossip: true }],
    ['named server', [], { servers: [expect.objectContaining({ port: 22122, weight: 1 })] }],
    ['password kept as written', ["redis_requirepass: ' p w '"], { redisRequirepass: ' p w ' }],
  ];
  it.each(cases)('%s', (_name, lines, expected) => {
    expect(parse(conf(...lines))).toMatchObject(expected);
  });

  it('a server entry may carry a name', () => {
    const text = ['dyn_o_mite:', '  listen: 127.0.0.1:8102', '  tokens: 1', '  servers:', "  - '127.0.0.1:6379:2 primary'"].join('\n');
    expect(parse(text).servers[0]).toEqual({ host: '127.0.0.1', port: 6379, weight: 2, name: 'primary', text: '127.0.0.1:6379:2' });
  });

  it('every hash name is accepted', () => {
    for (const h of ['one_at_a_time', 'md5', 'crc16', 'crc32', 'crc32a', 'fnv1_64', 'fnv1a_64', 'fnv1_32', 'fnv1a_32', 'hsieh', 'murmur', 'jenkins', 'murmur3', 'murmur3_x64_64']) {
      expect(parse(conf(`hash: ${h}`)).hash).toBe(h);
    }
  });

  it('round-trips random seeds and token lists (seeded property test)', () => {
    const rng = new Prng(0x9e3779b9);
    for (let i = 0; i < 300; i++) {
      const tokens = Array.from({ length: 1 + rng.int(4) }, () => rng.next());
      const port = 1 + rng.int(65535);
      const host = `10.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`;
      const rack = `rack${rng.int(9)}`;
      const seed = `${host}:${port}:${rack}:dc${rng.int(3)}:${tokens.join(',')}`;
      const c = parse(conf(`tokens: '${tokens.join(',')}'`, 'dyn_seeds:', `  - ${seed}`));
      expect(c.tokens).toEqual(tokens);
      expect(c.dynSeeds[0]).toMatchObject({ host, port, rack, tokens });
    }
  });
});

describe('errors name the file, the key path and the reason', () => {
  const one = (line: string) => `f.yml: dyn_o_mite.${line}`;
  const cases: [string[], string][] = [
    [['timeout: abc'], one('timeout: expected a non-negative integer, got "abc"')],
    [['timeout: -5'], one('timeout: expected a non-negative integer, got "-5"')],
    [['timeout:'], one('timeout: expected a non-negative integer, got an empty value')],
    [['preconnect: yes'], one('preconnect: expected true or false, got "yes"')],
    [['hash: sha1'], one('hash: expected one of one_at_a_time, md5, crc16, crc32, crc32a, fnv1_64, fnv1a_64, fnv1_32, fnv1a_32, hsieh, murmur, jenkins, murmur3, murmur3_x64_64, got "sha1"')],
    [["hash_tag: '{'"], one('hash_tag: expected exactly two characters, e.g. "{}", got "{"')],
    [['tokens: 4294967296'], one('tokens: expected a comma-separated list of tokens (integers 0..4294967295), got "4294967296"')],
    [['read_consistency: DC_TWO'], one('read_consistency: expected one of DC_ONE, DC_QUORUM, DC_SAFE_QUORUM, DC_EACH_SAFE_QUORUM, got "DC_TWO"')],
    [['data_store: 2'], one('data_store: expected 0 (redis), 1 (memcache) or memory, got "2"')],
    [['secure_server_option: some'], one('secure_server_option: expected one of none, rack, datacenter, all, got "some"')],
    [['env: gcp'], one('env: expected one of aws, network, got "gcp"')],
    [['dyn_seed_provider: zk'], one('dyn_seed_provider: expected one of simple_provider, florida_provider, dns_provider, got "zk"')],
    [['mbuf_size: 100'], one('mbuf_size: must be between 512 and 512000, got 100')],
    [['mbuf_size: 1000'], one('mbuf_size: must be a multiple of 16, got 1000')],
    [['max_msgs: 50'], one('max_msgs: must be between 100000 and 1000000, got 50')],
    [['dyn_connections: 0'], one('dyn_connections: must be at least 1, got 0')],
    [['local_peer_connections: -1'], one('local_peer_connections: expected a non-negative integer, got "-1"')],
    [['dyn_listen: 127.0.0.1'], one('dyn_listen: expected "host:port", got "127.0.0.1"')],
    [['dyn_listen: 127.0.0.1:0'], one('dyn_listen: invalid port "0" in "127.0.0.1:0" (expected "host:port", port 1..65535)')],
    [['dyn_listen: /tmp/dyn.sock'], one('dyn_listen: unix socket paths are not supported, expected "host:port", got "/tmp/dyn.sock"')],
    [['dyn_listen: {a: b}'], one('dyn_listen: expected "host:port", got a mapping')],
    [['dyn_seeds:', '  - 10.0.0.1:8101:r:d:1', '  - 10.0.0.2:99999:rack2:dc:0'], one('dyn_seeds[1]: invalid port "99999" in "10.0.0.2:99999:rack2:dc:0" (expected "host:port:rack:dc:tokens [name]", port 1..65535)')],
    [['dyn_seeds:', '  - 10.0.0.1:8101:rack1:dc1'], one('dyn_seeds[0]: expected "host:port:rack:dc:tokens [name]", got "10.0.0.1:8101:rack1:dc1"')],
    [['dyn_seeds:', '  - 10.0.0.1:8101::dc1:5'], one('dyn_seeds[0]: expected "host:port:rack:dc:tokens [name]" with no empty field, got "10.0.0.1:8101::dc1:5"')],
    [['dyn_seeds:', '  - 10.0.0.1:8101:r:d:x'], one('dyn_seeds[0]: expected a comma-separated list of tokens (integers 0..4294967295), got "10.0.0.1:8101:r:d:x"')],
    [['listne: 1'], one('listne: unknown key (did you mean listen?)')],
    [['frobnicate: 1'], one('frobnicate: unknown key')],
    [['dyn_listen: 127.0.0.1:8102'], one('dyn_listen: 127.0.0.1:8102 clashes with listen 127.0.0.1:8102')],
    [['stats_listen: 0.0.0.0:8102'], one('stats_listen: 0.0.0.0:8102 clashes with listen 127.0.0.1:8102')],
  ];
  it.each(cases)('%j', (lines, message) => {
    const err = errorOf(conf(...lines));
    expect(err.message).toBe(message);
    expect(err.issues).toHaveLength(1);
    expect(err.file).toBe('f.yml');
  });

  it('servers: required for redis, exactly one entry', () => {
    const noServers = ['dyn_o_mite:', '  listen: 127.0.0.1:8102', '  tokens: 1'].join('\n');
    expect(errorOf(noServers).message).toBe(
      'f.yml: dyn_o_mite.servers: required: exactly one "host:port:weight" entry (the local datastore) unless data_store is memory',
    );
    expect(errorOf(conf('- 127.0.0.1:22123:1')).message).toBe('f.yml: dyn_o_mite.servers: expected exactly one entry (the local datastore), got 2');
    expect(errorOf(noServers.replace('8102', '8102\n  servers:\n  - localhost:6379')).message).toBe(
      'f.yml: dyn_o_mite.servers[0]: expected "host:port:weight [name]", got "localhost:6379"',
    );
  });

  it('missing required keys', () => {
    const err = errorOf('dyn_o_mite:\n  data_store: memory\n', 'conf/x.yml');
    expect(err.message).toBe('conf/x.yml: dyn_o_mite.listen: missing required key\nconf/x.yml: dyn_o_mite.tokens: missing required key');
  });

  it('collects every error of a file, one line each', () => {
    const err = errorOf(conf('timeout: abc', 'hash: nope', 'bogus: 1', 'dyn_seeds:', '  - bad'), 'conf/x.yml');
    expect(err.issues.map((i) => i.path)).toEqual(['dyn_o_mite.timeout', 'dyn_o_mite.hash', 'dyn_o_mite.bogus', 'dyn_o_mite.dyn_seeds[0]']);
    const lines = err.message.split('\n');
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(l).toMatch(/^conf\/x\.yml: dyn_o_mite\./);
  });

  it('the file shape', () => {
    const shapes: [string, string][] = [
      ['', 'f.yml: the file is empty; expected one top-level key naming the pool (e.g. dyn_o_mite:)'],
      ['# only a comment\n', 'f.yml: the file is empty; expected one top-level key naming the pool (e.g. dyn_o_mite:)'],
      ['- a\n- b\n', 'f.yml: expected one top-level key naming the pool (e.g. dyn_o_mite:), got a list'],
      ['just text\n', 'f.yml: expected one top-level key naming the pool (e.g. dyn_o_mite:), got "just text"'],
      ['a:\n  listen: 1.2.3.4:1\nb:\n  listen: 1.2.3.4:2\n', 'f.yml: expected one top-level key naming the pool (e.g. dyn_o_mite:), found 2: a, b'],
      ['dyn_o_mite: 3\n', 'f.yml: dyn_o_mite: expected a mapping of config keys, got "3"'],
      ['dyn_o_mite:\n  - listen\n', 'f.yml: dyn_o_mite: expected a mapping of config keys, got a list'],
      [`${conf()}---\n${conf()}`, 'f.yml: expected exactly one YAML document, found 2'],
    ];
    for (const [text, message] of shapes) expect(errorOf(text).message, JSON.stringify(text)).toBe(message);
  });

  it('YAML syntax errors give line and column', () => {
    const err = errorOf('dyn_o_mite:\n  listen: 127.0.0.1:8102\n  tokens: [1,\n', 'conf/x.yml');
    expect(err.message).toMatch(/^conf\/x\.yml:\d+:\d+: YAML syntax error: \S/);
    expect(err.issues[0]?.line).toBeGreaterThanOrEqual(3);

    const dup = errorOf('dyn_o_mite:\n  listen: 127.0.0.1:8102\n  listen: 127.0.0.1:8103\n');
    expect(dup.message).toBe('f.yml:3:3: YAML syntax error: Map keys must be unique');
  });

  it('unreadable files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dyn-conf-'));
    try {
      expect(() => loadConfig(join(dir, 'nope.yml'))).toThrow(`${join(dir, 'nope.yml')}: cannot read the file: no such file`);
      expect(() => loadConfig(dir)).toThrow(`${dir}: cannot read the file: it is a directory`);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('warnings', () => {
  it('deprecated keys are accepted and reported', () => {
    const c = parse(conf('distribution: ketama', 'server_connections: 4'));
    expect(c.warnings).toEqual([
      'f.yml: dyn_o_mite.distribution: deprecated, accepted and ignored',
      'f.yml: dyn_o_mite.server_connections: deprecated, accepted and ignored',
    ]);
  });

  it('servers with data_store: memory are ignored with a warning', () => {
    expect(parse(conf('data_store: memory')).warnings).toEqual(['f.yml: dyn_o_mite.servers: ignored with data_store: memory']);
  });
});

describe('the key table', () => {
  it('each key maps to the camelCase field of its name and has a doc', () => {
    for (const name of CONFIG_KEY_NAMES) {
      const def: AnyKeyDef = CONFIG_KEYS[name];
      expect(def.doc.length, name).toBeGreaterThan(10);
      if (def.field !== null) expect(def.field, name).toBe(name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));
    }
  });

  it('holds every key of netflix-behaviour.md section 3 and of the reference files', () => {
    const netflix = `listen dyn_listen dyn_seeds dyn_seed_provider servers tokens datacenter rack data_store read_consistency
      write_consistency stats_listen stats_interval hash hash_tag timeout backlog client_connections preconnect auto_eject_hosts
      server_retry_timeout server_failure_limit dyn_read_timeout dyn_write_timeout dyn_port dyn_connections gos_interval
      enable_gossip secure_server_option pem_key_file recon_key_file recon_iv_file env conn_msg_rate mbuf_size max_msgs
      datastore_connections local_peer_connections remote_peer_connections read_repairs_enabled distribution
      server_connections redis_requirepass`.split(/\s+/);
    for (const k of netflix) expect(CONFIG_KEY_NAMES, k).toContain(k);
    const ours = CONFIG_KEY_NAMES.filter((k) => !CONFIG_KEYS[k].netflix);
    expect(ours).toEqual(['phi_convict_threshold', 'phi_window_size', 'gos_removal_time', 'seeds_check_interval', 'redis_requirepass', 'client_protocol', 'max_message_bytes', 'search_definitions_file', 'hints_dir', 'hints_max_bytes', 'hints_ttl', 'tombstone_grace', 'write_journal_max_keys', 'anti_entropy_interval', 'anti_entropy_rate', 'pubsub_scope', 'client_output_buffer_limit_pubsub',
      'requirepass', 'requirepass_file', 'requirepass_env', 'users', 'stats_admin_token', 'stats_admin_token_file', 'stats_admin_token_env', 'stats_admin_require_token',
      'tls_port', 'tls_cert_file', 'tls_key_file', 'tls_ca_cert_file', 'tls_auth_clients',
      'datastore_tls', 'datastore_tls_cert_file', 'datastore_tls_key_file', 'datastore_tls_ca_cert_file', 'datastore_tls_server_name',
      'peer_tls_cert', 'peer_tls_key', 'peer_tls_ca']);
  });

  it('docs/config.md is generated from the table (run `npx tsx src/cli/config-docs.ts` if this fails)', () => {
    expect(readFileSync(DOCS_PATH, 'utf8')).toBe(renderConfigDocs());
  });
});

describe('nodeOptionsFromConfig (what startNode takes)', () => {
  it('maps a redis node', () => {
    const o = nodeOptionsFromConfig(parse(conf('redis_requirepass: pw', "hash_tag: '{}'", 'timeout: 250', 'datacenter: dc9')));
    expect(o).toMatchObject({
      poolName: 'dyn_o_mite', listen: { host: '127.0.0.1', port: 8102 }, dataStore: 'redis', server: { host: '127.0.0.1', port: 22122 },
      password: 'pw', hashTag: '{}', timeoutMs: 250, datacenter: 'dc9', failureLimit: 3, retryTimeoutMs: 10000, autoEject: true,
    });
  });

  it('maps an in-memory node: no server, no password, no tag', () => {
    const o = nodeOptionsFromConfig(parse(conf('data_store: memory')));
    expect([o.dataStore, o.server, o.password, o.hashTag, o.mbufSize, o.maxMessageBytes]).toEqual(['memory', undefined, undefined, undefined, 16384, 67108864]);
  });

  it('DEFAULT_NODE_OPTIONS is what a file with only the required keys gives', () => {
    const o = nodeOptionsFromConfig(parse(conf()));
    const same = Object.fromEntries(Object.keys(DEFAULT_NODE_OPTIONS).map((k) => [k, o[k as keyof NodeOptions]]));
    expect(same).toEqual(DEFAULT_NODE_OPTIONS);
  });
});

describe('client_protocol (ours)', () => {
  const base = 'dyn_o_mite:\n  listen: 127.0.0.1:8102\n  tokens: 1\n';
  it('chooses the protocol of the embedded datastore', () => {
    expect(parseConfig(`${base}  data_store: memory\n  client_protocol: memcache\n`, 'x.yml').clientProtocol).toBe('memcache');
    expect(parseConfig(`${base}  data_store: memory\n`, 'x.yml').clientProtocol).toBeNull();
  });
  it('must agree with data_store 0 / 1', () => {
    expect(() => parseConfig(`${base}  data_store: 0\n  servers:\n  - 127.0.0.1:6379:1\n  client_protocol: memcache\n`, 'x.yml'))
      .toThrow(/x\.yml: dyn_o_mite\.client_protocol: memcache contradicts data_store/);
  });
});

describe('enable_gossip', () => {
  it('is implemented: true parses without a warning', () => {
    const c = parseConfig('dyn_o_mite:\n  listen: 127.0.0.1:8102\n  tokens: 1\n  data_store: memory\n  enable_gossip: true\n  gos_interval: 500\n', 'g.yml');
    expect(c.enableGossip).toBe(true);
    expect(c.gosInterval).toBe(500);
    expect(c.warnings.filter((w) => /gossip/.test(w))).toEqual([]);
  });
});

describe('pub/sub keys (ours)', () => {
  const base = 'dyn_o_mite:\n  listen: 127.0.0.1:8102\n  tokens: 1\n  data_store: memory\n';
  it('client_output_buffer_limit_pubsub takes Redis\'s words and units', () => {
    expect(parseConfig(base, 'p.yml').clientOutputBufferLimitPubsub).toEqual({ hard: 32 * 1024 * 1024, soft: 8 * 1024 * 1024, softSeconds: 60 });
    expect(parseConfig(`${base}  client_output_buffer_limit_pubsub: 1gb 64k 5\n`, 'p.yml').clientOutputBufferLimitPubsub)
      .toEqual({ hard: 1024 * 1024 * 1024, soft: 64000, softSeconds: 5 });
    expect(parseConfig(`${base}  client_output_buffer_limit_pubsub: 0 0 0\n`, 'p.yml').clientOutputBufferLimitPubsub)
      .toEqual({ hard: 0, soft: 0, softSeconds: 0 });
    expect(() => parseConfig(`${base}  client_output_buffer_limit_pubsub: 32mb 8mb\n`, 'p.yml'))
      .toThrow(/p\.yml: dyn_o_mite\.client_output_buffer_limit_pubsub: expected "<hard limit> <soft limit> <soft seconds>"/);
    expect(() => parseConfig(`${base}  client_output_buffer_limit_pubsub: 32 tb 8mb 60\n`, 'p.yml')).toThrow(/client_output_buffer_limit_pubsub/);
  });
  it('pubsub_scope is cluster or datacenter', () => {
    expect(parseConfig(base, 'p.yml').pubsubScope).toBe('cluster');
    expect(parseConfig(`${base}  pubsub_scope: datacenter\n`, 'p.yml').pubsubScope).toBe('datacenter');
    expect(() => parseConfig(`${base}  pubsub_scope: world\n`, 'p.yml')).toThrow(/expected one of cluster, datacenter/);
  });
});

describe('authentication keys (ours): requirepass, users, stats_admin_token', () => {
  const HASH = '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8'; // sha256("password")
  const files: Record<string, string> = { '/run/secrets/pw': 'from file\n', '/run/secrets/crlf': 'crlf pw\r\n', '/run/secrets/empty': '\n' };
  const secrets: SecretSources = {
    env: { DYN_PW: 'from env', DYN_EMPTY: '' },
    readFile(path) {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return text;
    },
  };
  const load = (...lines: string[]) => parseConfig(conf(...lines), 'f.yml', { secrets });
  const failure = (...lines: string[]): string => {
    try {
      load(...lines);
    } catch (err) {
      if (err instanceof ConfigError) return err.message;
      throw err;
    }
    throw new Error('expected a ConfigError');
  };

  it('requirepass from the file, a file or an environment variable', () => {
    expect(load("requirepass: ' p w '").requirepass).toBe(' p w ');
    expect(load('requirepass_file: /run/secrets/pw').requirepass).toBe('from file');
    expect(load('requirepass_file: /run/secrets/crlf').requirepass).toBe('crlf pw');
    expect(load('requirepass_env: DYN_PW').requirepass).toBe('from env');
    expect(load().requirepass).toBeNull();
  });

  it('users: every password source, read_only and enabled', () => {
    const c = load('users:', '  - name: app', '    password: pw1', '  - name: ro', `    password_hash: '#${HASH.toUpperCase()}'`, '    read_only: true',
      '  - name: f', '    password_file: /run/secrets/pw', '    enabled: false', '  - name: e', '    password_env: DYN_PW');
    expect(c.users).toEqual([
      { name: 'app', password: 'pw1', passwordHash: null, passwordFile: null, passwordEnv: null, readOnly: false, enabled: true },
      { name: 'ro', password: null, passwordHash: HASH, passwordFile: null, passwordEnv: null, readOnly: true, enabled: true },
      { name: 'f', password: 'from file', passwordHash: null, passwordFile: '/run/secrets/pw', passwordEnv: null, readOnly: false, enabled: false },
      { name: 'e', password: 'from env', passwordHash: null, passwordFile: null, passwordEnv: 'DYN_PW', readOnly: false, enabled: true },
    ]);
    expect(nodeOptionsFromConfig(c).users).toEqual([
      { name: 'app', password: 'pw1', readonly: false, enabled: true },
      { name: 'ro', sha256: HASH, readonly: true, enabled: true },
      { name: 'f', password: 'from file', readonly: false, enabled: false },
      { name: 'e', password: 'from env', readonly: false, enabled: true },
    ]);
  });

  it('stats_admin_token and its file / env var reach the node options', () => {
    const o = nodeOptionsFromConfig(load('stats_admin_token_env: DYN_PW', 'stats_admin_require_token: true', 'requirepass_file: /run/secrets/pw'));
    expect([o.statsAdminToken, o.statsAdminRequireToken, o.requirepass]).toEqual(['from env', true, 'from file']);
  });

  const one = (line: string) => `f.yml: dyn_o_mite.${line}`;
  const cases: [string[], string][] = [
    [['requirepass_file: /run/secrets/nope'], one('requirepass_file: cannot read /run/secrets/nope: no such file')],
    [['requirepass_file: /run/secrets/empty'], one('requirepass_file: /run/secrets/empty is empty')],
    [['requirepass_env: DYN_UNSET'], one('requirepass_env: environment variable DYN_UNSET is not set')],
    [['requirepass_env: DYN_EMPTY'], one('requirepass_env: environment variable DYN_EMPTY is empty')],
    [['requirepass_env: 1BAD'], one('requirepass_env: expected an environment variable name (letters, digits, _), got "1BAD"')],
    [['requirepass: a', 'requirepass_env: DYN_PW'], one('requirepass_env: set only one of requirepass, requirepass_env')],
    [['stats_admin_token_file: /x', 'stats_admin_token_env: DYN_PW'], one('stats_admin_token_env: set only one of stats_admin_token_file, stats_admin_token_env')],
    [['stats_admin_require_token: true'], one('stats_admin_require_token: true needs stats_admin_token (or its _file / _env)')],
    [['users: bob'], one('users: expected a list of users (mappings with name and password), got "bob"')],
    [['users:', '  - bob'], one('users[0]: expected a mapping with name and password, got "bob"')],
    [['users:', '  - name: bob'], one('users[0]: exactly one of password, password_hash, password_file, password_env is needed (missing)')],
    [['users:', '  - name: bob', '    password: a', '    password_env: DYN_PW'], one('users[0]: exactly one of password, password_hash, password_file, password_env is needed (password, password_env are set)')],
    [['users:', '  - password: a'], one('users[0]: missing name')],
    [['users:', '  - name: a b', '    password: x'], one('users[0].name: a user name has no spaces, got "a b"')],
    [['users:', '  - name: a', '    password: x', '  - name: a', '    password: y'], one('users[1].name: user "a" is defined twice')],
    [['users:', '  - name: a', '    password: x', '    readonly: true'], one('users[0].readonly: unknown key (expected name, password, password_hash, password_file, password_env, read_only, enabled)')],
    [['users:', '  - name: a', '    password: x', '    read_only: yes'], one('users[0].read_only: expected true or false, got "yes"')],
    [['users:', '  - name: a', `    password_hash: #${HASH}`], one("users[0].password_hash: expected '#' and 64 hex digits, the password's SHA-256 (quote it: an unquoted # starts a YAML comment), got an empty value")],
    [['users:', '  - name: a', "    password_hash: '#abc'"], one(`users[0].password_hash: expected '#' and 64 hex digits, the password's SHA-256 (quote it: an unquoted # starts a YAML comment), got "#abc"`)],
    [['users:', '  - name: a', '    password_file: /run/secrets/nope'], one('users[0].password_file: cannot read /run/secrets/nope: no such file')],
    [['users:', '  - name: a', '    password_env: DYN_UNSET'], one('users[0].password_env: environment variable DYN_UNSET is not set')],
    [['requirepass: x', 'users:', '  - name: default', '    password: y'], one('users[0]: user "default" and requirepass both set the default user\'s password: keep one')],
  ];
  it.each(cases)('%j', (lines, message) => {
    expect(failure(...lines)).toBe(message);
  });

  it('by default secrets come from the process: a missing env var names it', () => {
    delete process.env.DYN_TEST_SURELY_UNSET;
    expect(errorOf(conf('requirepass_env: DYN_TEST_SURELY_UNSET')).message).toBe(one('requirepass_env: environment variable DYN_TEST_SURELY_UNSET is not set'));
  });
});

describe('TLS keys (ours, Redis names)', () => {
  it('map to the listener and datastore options', () => {
    const o = nodeOptionsFromConfig(parse(conf('tls_port: 6380', 'tls_cert_file: s.crt', 'tls_key_file: s.key', 'tls_ca_cert_file: ca.crt', 'tls_auth_clients: OPTIONAL',
      'datastore_tls: true', 'datastore_tls_ca_cert_file: ca.crt', 'datastore_tls_server_name: redis.internal')));
    expect(o.tls).toEqual({ port: 6380, certFile: 's.crt', keyFile: 's.key', caCertFile: 'ca.crt', authClients: 'optional' });
    expect(o.datastoreTls).toEqual({ certFile: undefined, keyFile: undefined, caCertFile: 'ca.crt', serverName: 'redis.internal' });
    const none = nodeOptionsFromConfig(parse(conf()));
    expect([none.tls, none.datastoreTls]).toEqual([undefined, undefined]);
  });

  it('files without tls_port are ignored with a warning', () => {
    expect(parse(conf('tls_cert_file: s.crt')).warnings).toEqual(['f.yml: dyn_o_mite.tls_cert_file: ignored without tls_port']);
  });

  const one = (line: string) => `f.yml: dyn_o_mite.${line}`;
  const cases: [string[], string][] = [
    [['tls_port: 6380', 'tls_key_file: k', 'tls_auth_clients: no'], one('tls_cert_file: required with tls_port')],
    [['tls_port: 6380', 'tls_cert_file: c', 'tls_auth_clients: no'], one('tls_key_file: required with tls_port')],
    [['tls_port: 6380', 'tls_cert_file: c', 'tls_key_file: k'], one('tls_ca_cert_file: required with tls_auth_clients yes (the default, as in Redis): the CA that signs client certificates; or set tls_auth_clients: no')],
    [['tls_port: 8102', 'tls_cert_file: c', 'tls_key_file: k', 'tls_auth_clients: no'], one('tls_port: 127.0.0.1:8102 clashes with listen 127.0.0.1:8102')],
    [['tls_port: 70000'], one('tls_port: must be between 1 and 65535, got 70000')],
    [['tls_auth_clients: maybe'], one('tls_auth_clients: expected one of yes, no, optional, got "maybe"')],
    [['datastore_tls_ca_cert_file: ca.crt'], one('datastore_tls_ca_cert_file: needs datastore_tls: true')],
    [['datastore_tls: true', 'datastore_tls_cert_file: c'], one('datastore_tls_key_file: datastore_tls_cert_file and datastore_tls_key_file go together')],
    [['datastore_tls: true', 'data_store: memory'], one('datastore_tls: only with data_store 0 (redis), not memory')],
    [['dyn_listen: 127.0.0.1:8101', 'peer_tls_cert: p.crt', 'peer_tls_ca: ca.crt'], one('peer_tls_key: peer_tls_cert, peer_tls_key and peer_tls_ca go together')],
  ];

  it('peer_tls_* reach the cluster options', () => {
    const o = nodeOptionsFromConfig(parse(conf('dyn_listen: 127.0.0.1:8101', 'peer_tls_cert: p.crt', 'peer_tls_key: p.key', 'peer_tls_ca: ca.crt')));
    expect(o.cluster?.peerTls).toEqual({ certFile: 'p.crt', keyFile: 'p.key', caFile: 'ca.crt' });
    expect(parse(conf('peer_tls_cert: p.crt', 'peer_tls_key: p.key', 'peer_tls_ca: ca.crt')).warnings).toEqual(['f.yml: dyn_o_mite.peer_tls_cert: ignored without dyn_listen']);
  });
  it.each(cases)('%j', (lines, message) => {
    expect(errorOf(conf(...lines)).message).toBe(message);
  });
});
