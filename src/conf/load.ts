// Reads a Netflix-compatible YAML file into a frozen NodeConfig, or throws one ConfigError that
// lists every problem in the file (not just the first), each naming the file, the key path and the
// reason:   conf/x.yml: dyn_o_mite.timeout: expected a non-negative integer, got "abc"
//
//   text --parseAllDocuments (failsafe)--> one document --> { pool: { key: raw } }
//        --CONFIG_KEYS[key].type.parse--> values --defaults, cross-key checks--> NodeConfig
import { readFileSync } from 'node:fs';
import { parseAllDocuments, type YAMLError } from 'yaml';
import { CONFIG_KEY_NAMES, CONFIG_KEYS, REQUIRED, keyDef, type ConfigKey } from './schema.js';
import type { ConfigValues, HostPort, NodeConfig } from './types.js';
import { BadValue, describeRaw, type RawValue, type UserEntry } from './values.js';
import { PROCESS_SECRETS, SecretError, secretFromEnv, secretFromFile, type SecretSources } from './secrets.js';

export interface ConfigIssue {
  /** Key path such as "dyn_o_mite.dyn_seeds[1]"; "" for problems of the file as a whole. */
  readonly path: string;
  readonly reason: string;
  /** 1-based position, for YAML syntax errors. */
  readonly line?: number;
  readonly col?: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(issues.map((i) => formatIssue(file, i)).join('\n'));
  }
}

export function formatIssue(file: string, issue: ConfigIssue): string {
  if (issue.line !== undefined) return `${file}:${issue.line}:${issue.col ?? 1}: ${issue.reason}`;
  return issue.path === '' ? `${file}: ${issue.reason}` : `${file}: ${issue.path}: ${issue.reason}`;
}

export interface ParseOptions {
  /** `mbuf_size` to use when the file does not set it (the deprecated `-m` flag). */
  readonly mbufSize?: number;
  /** `max_msgs` to use when the file does not set it (the deprecated `-M` flag). */
  readonly maxMsgs?: number;
  /** Where `*_file` / `*_env` secrets are read from. @default the process's environment and files */
  readonly secrets?: SecretSources;
}

/** Reads and parses a config file. Throws ConfigError (unreadable file included). */
export function loadConfig(path: string, options: ParseOptions = {}): NodeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [{ path: '', reason: `cannot read the file: ${readFailure(err)}` }]);
  }
  return parseConfig(text, path, options);
}

function readFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return err instanceof Error ? err.message : String(err);
}

const POOL_HINT = 'one top-level key naming the pool (e.g. dyn_o_mite:)';

/** Parses config text; `fileName` is only used in messages and NodeConfig.file. */
export function parseConfig(text: string, fileName: string, options: ParseOptions = {}): NodeConfig {
  const { pool, keys } = readPool(text, fileName);
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  const values: Partial<Record<keyof ConfigValues, unknown>> = {};
  const present = new Set<ConfigKey>();

  for (const [name, raw] of Object.entries(keys)) {
    const path = `${pool}.${name}`;
    const def = keyDef(name);
    if (def === undefined) {
      issues.push({ path, reason: `unknown key${suggest(name)}` });
      continue;
    }
    present.add(name as ConfigKey);
    if (def.field === null) {
      warnings.push(`${fileName}: ${path}: deprecated, accepted and ignored`);
      continue;
    }
    try {
      values[def.field] = def.type.parse(raw);
    } catch (err) {
      if (!(err instanceof BadValue)) throw err;
      issues.push({ path: path + err.at, reason: err.reason });
    }
  }

  applyDefaults(pool, present, values, issues, options);
  if (issues.length === 0) crossCheck(pool, fileName, values as ConfigValues, present, issues, warnings);
  if (issues.length === 0) readSecrets(pool, values as Mutable<ConfigValues>, issues, options.secrets ?? PROCESS_SECRETS);
  if (issues.length > 0) throw new ConfigError(fileName, issues);
  return deepFreeze({ file: fileName, pool, warnings, ...(values as ConfigValues) });
}

/** YAML text -> the pool name and its raw key map, or a ConfigError about the file's shape. */
function readPool(text: string, file: string): { pool: string; keys: Record<string, RawValue> } {
  const docs = parseAllDocuments(text, { schema: 'failsafe', prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [];
  const syntax = list.flatMap((d) => d.errors).map(syntaxIssue);
  if (syntax.length > 0) throw new ConfigError(file, syntax);
  if (list.length > 1) {
    throw new ConfigError(file, [{ path: '', reason: `expected exactly one YAML document, found ${list.length}` }]);
  }
  const top: unknown = list[0]?.toJS({ maxAliasCount: 100 });
  if (top === undefined || top === null || top === '') {
    throw new ConfigError(file, [{ path: '', reason: `the file is empty; expected ${POOL_HINT}` }]);
  }
  if (typeof top !== 'object' || Array.isArray(top)) {
    throw new ConfigError(file, [{ path: '', reason: `expected ${POOL_HINT}, got ${describeRaw(top as RawValue)}` }]);
  }
  const names = Object.keys(top);
  if (names.length !== 1) {
    throw new ConfigError(file, [{ path: '', reason: `expected ${POOL_HINT}, found ${names.length}: ${names.join(', ')}` }]);
  }
  const pool = names[0] as string;
  const body = (top as Record<string, RawValue>)[pool] as RawValue;
  if (body === '') return { pool, keys: {} };
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new ConfigError(file, [{ path: pool, reason: `expected a mapping of config keys, got ${describeRaw(body)}` }]);
  }
  return { pool, keys: body as Record<string, RawValue> };
}

function syntaxIssue(err: YAMLError): ConfigIssue {
  // yaml's message is "<reason> at line L, column C:\n\n<excerpt>"; keep the reason, position apart.
  const reason = (err.message.split('\n')[0] ?? err.message).replace(/ at line \d+, column \d+:?$/, '');
  const pos = err.linePos?.[0];
  return { path: '', reason: `YAML syntax error: ${reason}`, line: pos?.line ?? 1, col: pos?.col ?? 1 };
}

function applyDefaults(
  pool: string,
  present: Set<ConfigKey>,
  values: Partial<Record<keyof ConfigValues, unknown>>,
  issues: ConfigIssue[],
  options: ParseOptions,
): void {
  for (const name of CONFIG_KEY_NAMES) {
    const def = CONFIG_KEYS[name];
    if (def.field === null || present.has(name)) continue;
    if (def.default === REQUIRED) {
      issues.push({ path: `${pool}.${name}`, reason: 'missing required key' });
      continue;
    }
    values[def.field] = def.default;
  }
  if (!present.has('mbuf_size') && options.mbufSize !== undefined) values.mbufSize = options.mbufSize;
  if (!present.has('max_msgs') && options.maxMsgs !== undefined) values.maxMsgs = options.maxMsgs;
}

/** Rules that involve more than one key. Runs only when every key parsed. */
function crossCheck(
  pool: string,
  file: string,
  v: ConfigValues,
  present: Set<ConfigKey>,
  issues: ConfigIssue[],
  warnings: string[],
): void {
  if (v.clientProtocol !== null && v.dataStore !== 'memory' && v.clientProtocol !== v.dataStore) {
    issues.push({ path: `${pool}.client_protocol`, reason: `${v.clientProtocol} contradicts data_store (${v.dataStore}); it only chooses the protocol of data_store: memory` });
  }
  if (v.dataStore === 'memory') {
    if (present.has('servers')) warnings.push(`${file}: ${pool}.servers: ignored with data_store: memory`);
  } else if (v.servers.length !== 1) {
    const reason =
      v.servers.length === 0
        ? 'required: exactly one "host:port:weight" entry (the local datastore) unless data_store is memory'
        : `expected exactly one entry (the local datastore), got ${v.servers.length}`;
    issues.push({ path: `${pool}.servers`, reason });
  }
  const listeners: [ConfigKey, HostPort | null][] = [
    ['listen', v.listen],
    ['dyn_listen', v.dynListen],
    ['stats_listen', v.statsListen],
    ['tls_port', v.tlsPort === null ? null : { host: v.listen.host, port: v.tlsPort, text: `${v.listen.host}:${v.tlsPort}` }],
  ];
  tlsCheck(pool, file, v, present, issues, warnings);
  for (let i = 0; i < listeners.length; i++) {
    for (let j = 0; j < i; j++) {
      const [a, x] = listeners[j] as [ConfigKey, HostPort | null];
      const [b, y] = listeners[i] as [ConfigKey, HostPort | null];
      if (x !== null && y !== null && x.port === y.port && sameHost(x.host, y.host)) {
        const which = present.has(b) ? '' : ' (the default)';
        issues.push({ path: `${pool}.${b}`, reason: `${y.text}${which} clashes with ${a} ${x.text}` });
      }
    }
  }
}

/** TLS keys that need each other. Files are read when the node starts (and on SIGHUP), not here. */
function tlsCheck(pool: string, file: string, v: ConfigValues, present: Set<ConfigKey>, issues: ConfigIssue[], warnings: string[]): void {
  const need = (key: ConfigKey, why: string) => issues.push({ path: `${pool}.${key}`, reason: why });
  if (v.tlsPort !== null) {
    if (v.tlsCertFile === null) need('tls_cert_file', 'required with tls_port');
    if (v.tlsKeyFile === null) need('tls_key_file', 'required with tls_port');
    if (v.tlsAuthClients !== 'no' && v.tlsCaCertFile === null) {
      need('tls_ca_cert_file', `required with tls_auth_clients ${v.tlsAuthClients}${present.has('tls_auth_clients') ? '' : ' (the default, as in Redis)'}: the CA that signs client certificates; or set tls_auth_clients: no`);
    }
  } else {
    for (const k of ['tls_cert_file', 'tls_key_file', 'tls_ca_cert_file', 'tls_auth_clients'] as const) {
      if (present.has(k)) warnings.push(`${file}: ${pool}.${k}: ignored without tls_port`);
    }
  }
  const dsKeys = ['datastore_tls_cert_file', 'datastore_tls_key_file', 'datastore_tls_ca_cert_file', 'datastore_tls_server_name'] as const;
  if (v.datastoreTls) {
    if (v.dataStore !== 'redis') need('datastore_tls', `only with data_store 0 (redis), not ${v.dataStore}`);
    if ((v.datastoreTlsCertFile === null) !== (v.datastoreTlsKeyFile === null)) {
      need(v.datastoreTlsCertFile === null ? 'datastore_tls_cert_file' : 'datastore_tls_key_file', 'datastore_tls_cert_file and datastore_tls_key_file go together');
    }
  } else {
    for (const k of dsKeys) if (present.has(k)) need(k, 'needs datastore_tls: true');
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Fills requirepass, the users' passwords and stats_admin_token from their files / env vars. */
function readSecrets(pool: string, v: Mutable<ConfigValues>, issues: ConfigIssue[], src: SecretSources): void {
  const one = (base: string, value: string | null, file: string | null, env: string | null): string | null => {
    const given = [[base, value], [`${base}_file`, file], [`${base}_env`, env]].filter(([, x]) => x !== null).map(([k]) => k as string);
    if (given.length > 1) {
      issues.push({ path: `${pool}.${given[1]}`, reason: `set only one of ${given.join(', ')}` });
      return null;
    }
    try {
      if (file !== null) return secretFromFile(src, file);
      if (env !== null) return secretFromEnv(src, env);
    } catch (err) {
      if (!(err instanceof SecretError)) throw err;
      issues.push({ path: `${pool}.${base}_${file !== null ? 'file' : 'env'}`, reason: err.message });
      return null;
    }
    return value;
  };
  v.requirepass = one('requirepass', v.requirepass, v.requirepassFile, v.requirepassEnv);
  v.statsAdminToken = one('stats_admin_token', v.statsAdminToken, v.statsAdminTokenFile, v.statsAdminTokenEnv);
  v.users = v.users.map((u: UserEntry, i: number): UserEntry => {
    const at = `${pool}.users[${i}]`;
    try {
      if (u.passwordFile !== null) return { ...u, password: secretFromFile(src, u.passwordFile) };
      if (u.passwordEnv !== null) return { ...u, password: secretFromEnv(src, u.passwordEnv) };
    } catch (err) {
      if (!(err instanceof SecretError)) throw err;
      issues.push({ path: `${at}.password_${u.passwordFile !== null ? 'file' : 'env'}`, reason: err.message });
    }
    return u;
  });
  const dflt = v.users.findIndex((u) => u.name === 'default');
  if (dflt >= 0 && v.requirepass !== null) {
    issues.push({ path: `${pool}.users[${dflt}]`, reason: 'user "default" and requirepass both set the default user\'s password: keep one' });
  }
  if (v.statsAdminRequireToken && v.statsAdminToken === null) {
    issues.push({ path: `${pool}.stats_admin_require_token`, reason: 'true needs stats_admin_token (or its _file / _env)' });
  }
}

// Two listeners clash on the same port if either is a wildcard or both name the same host.
function sameHost(a: string, b: string): boolean {
  const wild = (h: string) => h === '0.0.0.0' || h === '::' || h === '*';
  return a === b || wild(a) || wild(b);
}

function suggest(name: string): string {
  let best: string | null = null;
  let bestDistance = 3;
  for (const known of CONFIG_KEY_NAMES) {
    const d = editDistance(name.toLowerCase(), known);
    if (d < bestDistance) [best, bestDistance] = [known, d];
  }
  return best === null ? '' : ` (did you mean ${best}?)`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost));
    }
    prev = row;
  }
  return prev[b.length] as number;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
