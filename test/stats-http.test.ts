import { request } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  adminRefusal,
  helpText,
  isLoopback,
  NETFLIX_CONTENT_TYPE,
  OK_BODY,
  startStatsServer,
  type AdminHooks,
  type ClusterDescription,
  type ConsistencyLevel,
  type PeerAction,
  type SettableState,
  type StatsServer,
} from '../src/observe/http.js';
import { metricName } from '../src/observe/prometheus.js';
import { HISTOGRAMS, PEER_STATS, POOL_STATS, SERVER_STATS } from '../src/observe/stats-table.js';
import { Stats } from '../src/observe/stats.js';

const CLUSTER: ClusterDescription = {
  dcs: [{ name: 'localdc', racks: [{ name: 'localrack', servers: [{ name: '127.0.0.1', host: '127.0.0.1', port: 28101, token: 437425602 }] }] }],
};

/** An in-memory node that records every call the endpoint makes. */
class FakeNode implements AdminHooks {
  calls: Array<[string, ...unknown[]]> = [];
  consistency: { read: ConsistencyLevel; write: ConsistencyLevel } = { read: 'DC_ONE', write: 'DC_ONE' };
  state = 'NORMAL';
  readRepairs = false;
  timeoutFactor = 1;
  getConsistency() { return { ...this.consistency }; }
  setConsistency(which: 'read' | 'write', level: ConsistencyLevel) {
    this.calls.push(['setConsistency', which, level]);
    this.consistency[which] = level;
  }
  getState() { return this.state; }
  setState(state: SettableState) { this.calls.push(['setState', state]); this.state = state; }
  getReadRepairs() { return this.readRepairs; }
  setReadRepairs(on: boolean) { this.calls.push(['setReadRepairs', on]); this.readRepairs = on; }
  clusterDescribe() { return CLUSTER; }
  setLogLevel(level: number) { this.calls.push(['setLogLevel', level]); }
  logLevelUp() { this.calls.push(['logLevelUp']); }
  logLevelDown() { this.calls.push(['logLevelDown']); }
  getTimeoutFactor() { return this.timeoutFactor; }
  setTimeoutFactor(f: number) { this.calls.push(['setTimeoutFactor', f]); this.timeoutFactor = f; }
  peer(action: PeerAction, target: string | undefined) { this.calls.push(['peer', action, target]); }
  antiEntropyStatus() { return undefined; }
  runAntiEntropy() { this.calls.push(['runAntiEntropy']); return undefined; }
}

interface Response {
  status: number;
  contentType: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode ?? 0,
        contentType: res.headers['content-type'],
        headers: res.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      }));
    });
    req.on('error', reject);
    req.end();
  });
}

let stats: Stats;
let node: FakeNode;
let server: StatsServer;
let logged: Array<[object, string | undefined]>;

beforeEach(async () => {
  stats = new Stats({ pool: 'dyn_o_mite', source: 'node-a', version: '0.0.1', rack: 'rack-1', dc: 'dc-1' });
  node = new FakeNode();
  logged = [];
  const log = (obj: object, msg?: string) => { logged.push([obj, msg]); };
  server = await startStatsServer({
    listen: { host: '127.0.0.1', port: 0 }, stats, admin: node, logger: { info: log, warn: log, error: log },
  });
});

afterEach(async () => {
  await server.close();
});

describe('stats paths', () => {
  it('/ and /info serve the live JSON with Netflix\'s content type', async () => {
    const ds = stats.server('127.0.0.1:22122');
    ds.read_requests = 16;
    stats.pool.client_read_requests = 13;
    stats.recordLatency(326);
    for (const path of ['/', '/info', '/info?pretty=1']) {
      const res = await get(server.port, path);
      expect(res.status).toBe(200);
      expect(res.contentType).toBe(NETFLIX_CONTENT_TYPE);
      const body = JSON.parse(res.body) as Record<string, unknown>;
      expect(body).toMatchObject({ service: 'dynomite', source: 'node-a', rack: 'rack-1', dc: 'dc-1', latency_max: 326 });
      const pool = body.dyn_o_mite as Record<string, unknown>;
      expect(pool.client_read_requests).toBe(13);
      expect(pool['127.0.0.1:22122']).toMatchObject({ read_requests: 16 });
    }
    ds.read_requests++;
    const again = JSON.parse((await get(server.port, '/info')).body) as Record<string, Record<string, Record<string, number>>>;
    expect(again.dyn_o_mite!['127.0.0.1:22122']!.read_requests).toBe(17);
    expect(again.dyn_o_mite!.stats_count).toBe(4); // counts the /info requests, this one included
  });

  it('/ping answers OK; /help lists the paths; /describe gives the -D text', async () => {
    const ping = await get(server.port, '/ping');
    expect([ping.status, ping.body, ping.contentType]).toEqual([200, OK_BODY, NETFLIX_CONTENT_TYPE]);
    const help = await get(server.port, '/help');
    expect(help.body).toBe(helpText());
    for (const path of ['/info', '/cluster_describe', '/get_consistency', '/set_consistency/<read|write>/',
      '/state/<get_state|standby|writes_only|normal|resuming>', '/setloglevel/<0-11>', '/metrics', '/historeset',
      '/peer/<up|down|reset>', '/get_timeout_factor', '/set_timeout_factor/<1-10>', '/read_repairs/<enable|disable>']) {
      expect(help.body).toContain(path);
    }
    const describe = await get(server.port, '/describe');
    expect(describe.body.startsWith('pool stats:\n  client_eof')).toBe(true);
  });

  it('/cluster_describe is the node\'s description as JSON', async () => {
    const res = await get(server.port, '/cluster_describe');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual(CLUSTER);
  });

  it('/historeset empties the histograms', async () => {
    stats.recordLatency(900);
    expect((await get(server.port, '/historeset')).body).toBe(OK_BODY);
    expect(stats.view().histograms.latency.count).toBe(0);
  });
});

describe('admin paths', () => {
  it('/get_consistency and /set_consistency (case-insensitive)', async () => {
    expect((await get(server.port, '/get_consistency')).body).toBe('Read Consistency: DC_ONE\nWrite Consistency: DC_ONE\n');
    expect((await get(server.port, '/set_consistency/read/dc_quorum')).body).toBe(OK_BODY);
    expect((await get(server.port, '/set_consistency/WRITE/Dc_Safe_Quorum')).body).toBe(OK_BODY);
    expect((await get(server.port, '/set_consistency/write/dc_each_safe_quorum')).status).toBe(200);
    expect(node.calls).toEqual([
      ['setConsistency', 'read', 'DC_QUORUM'],
      ['setConsistency', 'write', 'DC_SAFE_QUORUM'],
      ['setConsistency', 'write', 'DC_EACH_SAFE_QUORUM'],
    ]);
    expect((await get(server.port, '/get_consistency')).body)
      .toBe('Read Consistency: DC_QUORUM\nWrite Consistency: DC_EACH_SAFE_QUORUM\n');
    expect(logged.map(([obj]) => obj)).toContainEqual({ which: 'read', level: 'DC_QUORUM' });
  });

  it('a bad consistency level or target is 400 with a clear message and changes nothing', async () => {
    const level = await get(server.port, '/set_consistency/read/bogus');
    expect(level.status).toBe(400);
    expect(level.body).toMatch(/unknown consistency level 'bogus' \(expected dc_one, dc_quorum/);
    const target = await get(server.port, '/set_consistency/sideways/dc_one');
    expect(target.status).toBe(400);
    expect(target.body).toMatch(/unknown consistency target 'sideways' \(expected read, write\)/);
    const missing = await get(server.port, '/set_consistency/read');
    expect(missing.status).toBe(400);
    expect(missing.body).toMatch(/^usage: \/set_consistency/);
    expect(node.calls).toEqual([]);
  });

  it('/read_repairs/enable|disable', async () => {
    expect((await get(server.port, '/read_repairs/enable')).body).toBe('Read Repairs: ENABLED\n');
    expect((await get(server.port, '/read_repairs/disable')).body).toBe('Read Repairs: DISABLED\n');
    expect((await get(server.port, '/read_repairs/maybe')).status).toBe(400);
    expect(node.calls).toEqual([['setReadRepairs', true], ['setReadRepairs', false]]);
  });

  it('/state/get_state and /state/<state>', async () => {
    expect((await get(server.port, '/state/get_state')).body).toBe('State: NORMAL\n');
    for (const s of ['standby', 'writes_only', 'resuming', 'normal']) {
      expect((await get(server.port, `/state/${s}`)).body).toBe(OK_BODY);
    }
    expect(node.calls).toEqual([['setState', 'STANDBY'], ['setState', 'WRITES_ONLY'], ['setState', 'RESUMING'], ['setState', 'NORMAL']]);
    node.state = 'WRITES_ONLY';
    expect((await get(server.port, '/state/get_state')).body).toBe('State: WRITES_ONLY\n');
    const bad = await get(server.port, '/state/asleep');
    expect([bad.status, bad.body]).toEqual([400, "unknown state 'asleep' (expected standby, writes_only, normal, resuming)\n"]);
  });

  it('/get_timeout_factor and /set_timeout_factor/<1-10>', async () => {
    expect((await get(server.port, '/get_timeout_factor')).body).toBe('Timeout factor: 1\n');
    expect((await get(server.port, '/set_timeout_factor/7')).body).toBe(OK_BODY);
    expect((await get(server.port, '/get_timeout_factor')).body).toBe('Timeout factor: 7\n');
    for (const bad of ['0', '11', 'x', '-1', '2.5']) {
      expect((await get(server.port, `/set_timeout_factor/${bad}`)).status).toBe(400);
    }
    expect(node.calls).toEqual([['setTimeoutFactor', 7]]);
  });

  it('/setloglevel/<0-11>, /loglevelup, /logleveldown', async () => {
    expect((await get(server.port, '/setloglevel/11')).body).toBe(OK_BODY);
    expect((await get(server.port, '/setloglevel/0')).body).toBe(OK_BODY);
    expect((await get(server.port, '/loglevelup')).body).toBe(OK_BODY);
    expect((await get(server.port, '/logleveldown')).body).toBe(OK_BODY);
    expect((await get(server.port, '/setloglevel/12')).status).toBe(400);
    expect((await get(server.port, '/setloglevel')).status).toBe(400);
    expect(node.calls).toEqual([['setLogLevel', 11], ['setLogLevel', 0], ['logLevelUp'], ['logLevelDown']]);
  });

  it('/peer/<up|down|reset>[/<name>]', async () => {
    expect((await get(server.port, '/peer/down/10.0.0.2:8101')).body).toBe(OK_BODY);
    expect((await get(server.port, '/peer/up')).body).toBe(OK_BODY);
    expect((await get(server.port, '/peer/reset/all')).body).toBe(OK_BODY);
    expect((await get(server.port, '/peer/sideways')).status).toBe(400);
    expect(node.calls).toEqual([['peer', 'down', '10.0.0.2:8101'], ['peer', 'up', undefined], ['peer', 'reset', 'all']]);
  });
});

describe('what Netflix gets wrong, we do not', () => {
  it('unknown paths are 404', async () => {
    for (const path of ['/nope', '/info/', '/ping/extra', '/INFO', '/metrics/x']) {
      const res = await get(server.port, path);
      expect(res.status, path).toBe(404);
      expect(res.body).toContain('not found');
    }
  });

  it('only GET: anything else is 405 with Allow: GET', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'HEAD']) {
      const res = await get(server.port, '/info', method);
      expect(res.status, method).toBe(405);
      expect(res.headers.allow).toBe('GET');
    }
    expect(stats.pool.stats_count).toBe(0);
  });

  it('a hook that throws is a 500, logged, and the server keeps serving', async () => {
    node.getTimeoutFactor = () => { throw new Error('disk on fire'); };
    const res = await get(server.port, '/get_timeout_factor');
    expect(res.status).toBe(500);
    expect(res.body).toContain('disk on fire');
    expect(logged.map(([, msg]) => msg)).toContain('stats endpoint handler failed');
    expect((await get(server.port, '/ping')).status).toBe(200);
  });

  it('malformed percent-encoding is 400', async () => {
    expect((await get(server.port, '/peer/down/%E0%A4%A')).status).toBe(400);
  });
});

/** Parse Prometheus text exposition format strictly enough to catch malformed output. */
function parsePrometheus(text: string): { types: Map<string, string>; samples: Map<string, number> } {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+]+|NaN|[+-]Inf)$/;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const typed = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|summary|histogram|untyped)$/.exec(line);
    if (typed) {
      expect(types.has(typed[1]!), `duplicate family ${typed[1]}`).toBe(false);
      types.set(typed[1]!, typed[2]!);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$/.test(line)) continue;
    const m = sample.exec(line);
    expect(m, `bad line: ${line}`).not.toBeNull();
    samples.set(`${m![1]}${m![2] ?? ''}`, Number(m![3]));
  }
  return { types, samples };
}

describe('/metrics', () => {
  it('is Prometheus text with every table stat, live values and labels', async () => {
    const ds = stats.server('127.0.0.1:22122');
    ds.read_requests = 42;
    stats.pool.client_read_requests = 9;
    stats.pool.client_connections = 2;
    const p = stats.peer('10.1.0.2:8101', { dc: 'dc-2', rack: 'rack-1', remote: true });
    p.timedout = 3;
    for (let v = 1; v <= 100; v++) stats.recordLatency(v);
    const res = await get(server.port, '/metrics');
    expect(res.status).toBe(200);
    expect(res.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const { types, samples } = parsePrometheus(res.body);
    for (const s of POOL_STATS) expect(types.get(metricName(s.name, s.type))).toBe(s.type === 'counter' ? 'counter' : 'gauge');
    for (const s of SERVER_STATS) expect(types.has(metricName(s.name, s.type)), s.name).toBe(true);
    for (const s of PEER_STATS) expect(types.has(metricName(`dnode_peer_${s.name}`, s.type)), s.name).toBe(true);
    for (const h of HISTOGRAMS) expect(types.get(`dynomite_${h.name}_${h.unit}`)).toBe('summary');
    expect(samples.get('dynomite_client_read_requests_total{pool="dyn_o_mite"}')).toBe(9);
    expect(samples.get('dynomite_client_connections{pool="dyn_o_mite"}')).toBe(2);
    expect(samples.get('dynomite_read_requests_total{pool="dyn_o_mite",server="127.0.0.1:22122"}')).toBe(42);
    expect(samples.get('dynomite_dnode_peer_timedout_total{pool="dyn_o_mite",peer="10.1.0.2:8101",dc="dc-2",rack="rack-1"}')).toBe(3);
    expect(samples.get('dynomite_remote_peer_timedout_total{pool="dyn_o_mite"}')).toBe(3);
    expect(samples.get('dynomite_latency_microseconds{quantile="0.99"}')).toBe(99);
    expect(samples.get('dynomite_latency_microseconds_count')).toBe(100);
    expect(samples.get('dynomite_latency_microseconds_sum')).toBe(5050);
    expect(samples.get('dynomite_info{service="dynomite",source="node-a",version="0.0.1",rack="rack-1",dc="dc-1"}')).toBe(1);
    ds.read_requests++;
    const again = parsePrometheus((await get(server.port, '/metrics')).body);
    expect(again.samples.get('dynomite_read_requests_total{pool="dyn_o_mite",server="127.0.0.1:22122"}')).toBe(43);
  });
});

describe('lifecycle', () => {
  it('close() frees the port', async () => {
    const port = server.port;
    await server.close();
    await expect(get(port, '/ping')).rejects.toThrow(/ECONNREFUSED/);
    const tcp = createTcpServer();
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    server = await startStatsServer({ listen: { host: '127.0.0.1', port: 0 }, stats, admin: node });
  });

  it('close() does not wait for idle keep-alive connections', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: '/ping' }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1000);
    server = await startStatsServer({ listen: { host: '127.0.0.1', port: 0 }, stats, admin: node });
  });

  it('a port in use is a rejected start naming the address', async () => {
    await expect(startStatsServer({ listen: { host: '127.0.0.1', port: server.port }, stats, admin: node }))
      .rejects.toThrow(new RegExp(`stats_listen 127.0.0.1:${server.port}: .*EADDRINUSE`));
  });
});

describe('the admin guard: loopback or the token', () => {
  it('isLoopback: 127.0.0.0/8 and ::1, also IPv4-mapped; nothing else', () => {
    const cases: [string | undefined, boolean][] = [
      ['127.0.0.1', true], ['127.1.2.3', true], ['::ffff:127.0.0.1', true], ['::FFFF:127.0.0.9', true], ['::1', true],
      ['0:0:0:0:0:0:0:1', true], ['10.0.0.1', false], ['::ffff:10.0.0.1', false], ['192.168.1.127', false],
      ['::', false], ['0.0.0.0', false], ['fe80::1', false], ['128.0.0.1', false], [undefined, false],
    ];
    expect(cases.map(([a]) => [a, isLoopback(a)])).toEqual(cases);
  });

  it('adminRefusal: what each client is told', () => {
    const none = {};
    const token = { token: 't0k3n' };
    const strict = { token: 't0k3n', requireToken: true };
    expect(adminRefusal(none, '::ffff:127.0.0.1', undefined)).toBeUndefined();
    expect(adminRefusal(none, '10.0.0.1', undefined)).toBe('admin paths are served to loopback clients only (10.0.0.1 is not; set stats_admin_token to allow others)');
    expect(adminRefusal(none, '10.0.0.1', 'Bearer anything')).toMatch(/loopback clients only/);
    expect(adminRefusal(token, '10.0.0.1', 'Bearer t0k3n')).toBeUndefined();
    expect(adminRefusal(token, '10.0.0.1', 'bearer  t0k3n')).toBeUndefined();
    expect(adminRefusal(token, '10.0.0.1', undefined)).toBe('admin paths need Authorization: Bearer <stats_admin_token>');
    expect(adminRefusal(token, '10.0.0.1', 'Bearer t0k3n-not')).toBe('wrong stats_admin_token');
    expect(adminRefusal(token, '10.0.0.1', 'Basic dXNlcjpwdw==')).toBe('Authorization header is not "Bearer <token>"');
    expect(adminRefusal(token, '::1', undefined)).toBeUndefined();
    expect(adminRefusal(strict, '::1', undefined)).toBe('admin paths need Authorization: Bearer <stats_admin_token>');
    expect(adminRefusal(strict, '127.0.0.1', 'Bearer t0k3n')).toBeUndefined();
  });

  it('with stats_admin_require_token, loopback requests need the bearer token; reading paths stay open', async () => {
    const strict = await startStatsServer({
      listen: { host: '127.0.0.1', port: 0 }, stats, admin: node, guard: { token: 's3cret', requireToken: true },
      logger: { info: () => {}, warn: (obj, msg) => logged.push([obj, msg]), error: () => {} },
    });
    try {
      const refused = await get(strict.port, '/set_consistency/read/dc_quorum');
      expect([refused.status, refused.body]).toEqual([403, 'forbidden: /set_consistency: admin paths need Authorization: Bearer <stats_admin_token>\n']);
      const wrong = await get(strict.port, '/state/standby', 'GET', { authorization: 'Bearer nope' });
      expect([wrong.status, wrong.body]).toEqual([403, 'forbidden: /state: wrong stats_admin_token\n']);
      for (const path of ['/peer/down/all', '/read_repairs/enable', '/setloglevel/3', '/loglevelup', '/logleveldown', '/set_timeout_factor/2', '/historeset']) {
        expect((await get(strict.port, path)).status, path).toBe(403);
      }
      expect(node.calls).toEqual([]);
      expect(logged).toContainEqual([{ url: '/state/standby', from: '127.0.0.1', reason: 'wrong stats_admin_token' }, 'stats endpoint: admin request refused']);

      const allowed = await get(strict.port, '/set_consistency/read/dc_quorum', 'GET', { authorization: 'Bearer s3cret' });
      expect([allowed.status, allowed.body]).toEqual([200, OK_BODY]);
      expect(node.calls).toEqual([['setConsistency', 'read', 'DC_QUORUM']]);
      for (const path of ['/info', '/get_consistency', '/state/get_state', '/cluster_describe', '/metrics', '/ping', '/help']) {
        expect((await get(strict.port, path)).status, path).toBe(200);
      }
    } finally {
      await strict.close();
    }
  });
});
