// dyn_seed_provider: where a node learns its peers. Netflix Dynomite has three providers:
//
//   simple_provider   the `dyn_seeds` list from the YAML.
//   dns_provider      a DNS TXT record (name from $DYNOMITE_DNS_NAME, default `_dynomite.ec2-internal`)
//                     whose text is a seed list.
//   florida_provider  an HTTP GET (default http://127.0.0.1:8080/REST/v1/admin/get_seeds, overridable
//                     with $DYNOMITE_FLORIDA_IP / _PORT / _REQUEST) whose body is a seed list.
//
// A seed list is `host:port:rack:dc:token` entries joined by `|` (Netflix's florida.js turns a seeds
// file's newlines into `|`; we accept either). Netflix polls the provider from its gossip thread at
// most every 30 s (SEEDS_CHECK_INTERVAL) and adds new nodes to gossip. This node resolves the list at
// start-up (startupSeeds, with retries) and then every `seeds_check_interval` (node-cluster.ts calls
// resolveSeeds; membership.ts adds the nodes that appeared and drops none: a node missing from one
// answer is gossip's to judge). Every failure names the provider, the DNS name or URL, and the reason.
import { request } from 'node:http';
import { Resolver } from 'node:dns/promises';
import type { Logger } from 'pino';
import { parseSeed } from '../conf/values.js';
import type { SeedProvider, SeedSpec } from '../conf/types.js';
import type { SeedProviderOptions, TxtResolver } from '../conf/options.js';

export type { SeedProviderOptions, TxtResolver };
import type { LocalNodeSpec, PeerSpec } from '../route/topology.js';

/** Netflix's compile-time defaults (dyn_dns.c DNS_TXT_NAME, dyn_florida.c FLORIDA_*). */
export const NETFLIX_DNS_NAME = '_dynomite.ec2-internal';
export const NETFLIX_FLORIDA_IP = '127.0.0.1';
export const NETFLIX_FLORIDA_PORT = 8080;
export const NETFLIX_FLORIDA_PATH = '/REST/v1/admin/get_seeds';
/** Netflix's seed buffer (dyn_gossip.h SEED_BUF_SIZE): a longer reply is refused, not truncated. */
export const MAX_SEED_REPLY_BYTES = 1024 * 1024;
export const DEFAULT_SEED_TIMEOUT_MS = 5000;

export interface SeedConfig {
  /** dyn_seeds. */
  seeds: readonly SeedSpec[] | readonly PeerSpec[];
  /** This node: an entry equal to it (providers list every node) is dropped. */
  self?: LocalNodeSpec;
}

export type SeedEnv = Readonly<Record<string, string | undefined>>;

/** A provider failure: which provider, what it asked (DNS name or URL), why. */
export class SeedProviderError extends Error {
  constructor(readonly provider: SeedProvider, readonly target: string, readonly reason: string) {
    super(`dyn_seed_provider ${provider} (${target}): ${reason}`);
    this.name = 'SeedProviderError';
  }
}

/**
 * The peers `provider` gives, this node excluded. simple_provider: dyn_seeds. dns_provider /
 * florida_provider: the fetched list (an entry that does not parse is skipped and passed to
 * `onWarning`; a reply with no valid entry at all is an error). Rejects with SeedProviderError.
 */
export async function resolveSeeds(
  provider: SeedProvider, config: SeedConfig, env: SeedEnv, opts: SeedProviderOptions = {},
  onWarning: (message: string) => void = () => {},
): Promise<PeerSpec[]> {
  let fetched: { target: string; text: string };
  if (provider === 'simple_provider') return withoutSelf(config.seeds, config.self);
  else if (provider === 'dns_provider') fetched = await fetchDns(env, opts);
  else fetched = await fetchFlorida(env, opts);
  const { seeds, bad } = parseSeedList(fetched.text);
  for (const b of bad) onWarning(`dyn_seed_provider ${provider} (${fetched.target}): skipped ${b}`);
  if (seeds.length === 0) {
    const why = bad.length > 0 ? `no valid seed entry (${bad[0]!})` : 'the reply holds no seed entry';
    throw new SeedProviderError(provider, fetched.target, why);
  }
  return withoutSelf(seeds, config.self);
}

/** Splits a `|` (or newline) separated seed list; `bad` describes each entry that did not parse. */
export function parseSeedList(text: string): { seeds: SeedSpec[]; bad: string[] } {
  const seeds: SeedSpec[] = [];
  const bad: string[] = [];
  for (const raw of text.split(/[|\r\n]+/)) {
    const entry = raw.trim();
    if (entry === '') continue;
    try {
      seeds.push(parseSeed(entry));
    } catch (err) {
      bad.push(`${JSON.stringify(entry.slice(0, 100))}: ${(err as Error).message}`);
    }
  }
  return { seeds, bad };
}

/** What the DNS provider would query, and the Florida URL (for logs and errors). */
export function providerTarget(provider: SeedProvider, env: SeedEnv, opts: SeedProviderOptions = {}): string {
  if (provider === 'dns_provider') return `TXT ${dnsName(env, opts)}`;
  if (provider === 'florida_provider') return floridaUrl(env, opts).href;
  return 'dyn_seeds';
}

/**
 * Start-up policy. simple_provider: dyn_seeds. Otherwise the provider is tried `startupAttempts`
 * times; its peers are merged with dyn_seeds (Netflix starts from dyn_seeds and adds what the
 * provider lists; an entry with the same dc, rack and tokens as a dyn_seeds one replaces it, as
 * Netflix's gossip replaces a node whose token moved to another host). If every attempt fails:
 * with dyn_seeds, start from them and log an error; without, throw, because the node would
 * otherwise run as a cluster of one forever (it never polls again) and take every key locally.
 */
export async function startupSeeds(
  provider: SeedProvider, config: SeedConfig, env: SeedEnv, opts: SeedProviderOptions, log: Logger,
): Promise<PeerSpec[]> {
  // dyn_seeds go to buildTopology as written: it warns about a seed that is this node (a config
  // slip there; in a provider's list, where every node appears, it is expected and dropped quietly).
  const dynSeeds: PeerSpec[] = [...config.seeds];
  if (provider === 'simple_provider') return dynSeeds;
  const target = providerTarget(provider, env, opts); // throws on a bad DYNOMITE_FLORIDA_PORT
  const attempts = Math.max(1, opts.startupAttempts ?? 5);
  let last: Error | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const found = await resolveSeeds(provider, config, env, opts, (w) => log.warn(w));
      const merged = mergeSeeds(dynSeeds, found);
      log.info({ provider, target, peers: merged.map(describePeer) },
        'dyn_seed_provider: seeds resolved at start-up (asked again every seeds_check_interval)');
      return merged;
    } catch (err) {
      last = err as Error;
      log.warn({ provider, target, attempt, of: attempts, err: last.message }, 'dyn_seed_provider: lookup failed');
      if (attempt < attempts) await sleep(opts.retryDelayMs ?? 2000);
    }
  }
  const reason = last?.message ?? 'failed';
  if (dynSeeds.length > 0) {
    log.error({ provider, target, err: reason, peers: dynSeeds.map(describePeer) },
      `dyn_seed_provider: ${provider} failed ${attempts} times; starting with dyn_seeds only`);
    return dynSeeds;
  }
  throw new Error(`${reason} (after ${attempts} attempt${attempts === 1 ? '' : 's'}; no dyn_seeds to start from, and a node started alone would never learn its peers)`);
}

function mergeSeeds(dynSeeds: readonly PeerSpec[], found: readonly PeerSpec[]): PeerSpec[] {
  const key = (p: PeerSpec): string => `${p.dc}\u0000${p.rack}\u0000${[...p.tokens].sort((a, b) => a - b).join(',')}`;
  const foundKeys = new Set(found.map(key));
  const foundAddrs = new Set(found.map(describePeer));
  return [...dynSeeds.filter((s) => !foundKeys.has(key(s)) && !foundAddrs.has(describePeer(s))), ...found];
}

function describePeer(p: PeerSpec): string {
  return `${p.host}:${p.port}`;
}

// ---- DNS ---------------------------------------------------------------------------------------

function dnsName(env: SeedEnv, opts: SeedProviderOptions): string {
  return opts.dnsName ?? nonEmpty(env['DYNOMITE_DNS_NAME']) ?? NETFLIX_DNS_NAME;
}

/**
 * Netflix res_query()s the name and copies the first character-string of each answer, keeping the
 * last. We join the character-strings of a record (a TXT value longer than 255 bytes is split into
 * several) and every record with `|`, so a list split over records also works.
 */
async function fetchDns(env: SeedEnv, opts: SeedProviderOptions): Promise<{ target: string; text: string }> {
  const name = dnsName(env, opts);
  const target = `TXT ${name}`;
  const type = (opts.dnsType ?? nonEmpty(env['DYNOMITE_DNS_TYPE']) ?? 'TXT').toUpperCase();
  if (type !== 'TXT') {
    throw new SeedProviderError('dns_provider', target, `DYNOMITE_DNS_TYPE=${type} is not supported: the seed list must be a TXT record`);
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_SEED_TIMEOUT_MS;
  let resolver = opts.resolver;
  if (resolver === undefined) {
    const r = new Resolver({ timeout: timeoutMs, tries: 2 });
    if (opts.dnsServers !== undefined) r.setServers([...opts.dnsServers]);
    resolver = r;
  }
  let records: string[][];
  try {
    records = await withTimeout(resolver.resolveTxt(name), timeoutMs * 2 + 100, 'no DNS answer');
  } catch (err) {
    throw new SeedProviderError('dns_provider', target, dnsReason(err));
  }
  const text = records.map((chunks) => chunks.join('')).join('|');
  if (text.length > MAX_SEED_REPLY_BYTES) throw new SeedProviderError('dns_provider', target, `TXT record longer than ${MAX_SEED_REPLY_BYTES} bytes`);
  return { target, text };
}

function dnsReason(err: unknown): string {
  const code = (err as { code?: string }).code;
  const reasons: Record<string, string> = {
    ENOTFOUND: 'no such name (NXDOMAIN)',
    ENODATA: 'the name has no TXT record',
    ETIMEOUT: 'DNS query timed out',
    ECONNREFUSED: 'DNS server refused the connection',
    ESERVFAIL: 'DNS server failure (SERVFAIL)',
    EREFUSED: 'DNS server refused the query',
    EBADRESP: 'malformed DNS reply',
  };
  const message = (err as Error).message ?? String(err);
  return code !== undefined && reasons[code] !== undefined ? `${reasons[code]} [${code}]` : message;
}

// ---- Florida -----------------------------------------------------------------------------------

function floridaUrl(env: SeedEnv, opts: SeedProviderOptions): URL {
  const host = opts.floridaIp ?? nonEmpty(env['DYNOMITE_FLORIDA_IP']) ?? NETFLIX_FLORIDA_IP;
  const portText = env['DYNOMITE_FLORIDA_PORT'];
  const port = opts.floridaPort ?? (nonEmpty(portText) !== undefined ? Number(portText) : NETFLIX_FLORIDA_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SeedProviderError('florida_provider', `${host}:${String(portText)}`, `DYNOMITE_FLORIDA_PORT ${JSON.stringify(portText)} is not a port`);
  }
  const path = requestPath(opts.floridaRequest ?? nonEmpty(env['DYNOMITE_FLORIDA_REQUEST']) ?? NETFLIX_FLORIDA_PATH);
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return new URL(`http://${h}:${port}${path}`);
}

/** `GET /x HTTP/1.0\r\nHost: ...` (Netflix's raw request form) or a plain path -> the path. */
function requestPath(request: string): string {
  const first = request.trim().split(/\r?\n/)[0]!.trim();
  const m = /^[A-Z]+\s+(\S+)/.exec(first);
  const path = m !== null ? m[1]! : first;
  return path.startsWith('/') ? path : `/${path}`;
}

/** Netflix: a reply without `200 OK` is an error, the body is after the blank line, empty = error. */
function fetchFlorida(env: SeedEnv, opts: SeedProviderOptions): Promise<{ target: string; text: string }> {
  const url = floridaUrl(env, opts);
  const target = `GET ${url.href}`;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_SEED_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const fail = (reason: string): void => {
      clearTimeout(timer);
      req.destroy();
      reject(new SeedProviderError('florida_provider', target, reason));
    };
    const timer = setTimeout(() => fail(`no complete reply within ${timeoutMs} ms`), timeoutMs);
    const req = request(url, { method: 'GET', headers: { 'User-Agent': 'dynomite-ts' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        fail(`HTTP ${String(res.statusCode)} ${res.statusMessage ?? ''}`.trim());
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_SEED_REPLY_BYTES) fail(`reply longer than ${MAX_SEED_REPLY_BYTES} bytes`);
        else chunks.push(c);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ target, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => fail(err.message));
    });
    req.on('error', (err) => fail(err.message));
    req.end();
  });
}

// ---- helpers -----------------------------------------------------------------------------------

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '']);

/** The rule buildTopology uses: same dc, rack, port and tokens, same host or a wildcard local one. */
function withoutSelf(seeds: readonly PeerSpec[], self: LocalNodeSpec | undefined): PeerSpec[] {
  if (self === undefined) return [...seeds];
  const mine = [...new Set(self.tokens)].sort((a, b) => a - b).join(',');
  return seeds.filter((p) => !(p.dc === self.dc && p.rack === self.rack && p.port === self.port
    && (p.host === self.host || WILDCARD_HOSTS.has(self.host))
    && [...new Set(p.tokens)].sort((a, b) => a - b).join(',') === mine));
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(what), { code: 'ETIMEOUT' })), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
