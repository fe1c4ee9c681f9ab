// Value types of the config table: each one parses a raw YAML value, says why a value is bad, and
// describes itself for docs/config.md. The file is read with the YAML failsafe schema, so every
// scalar arrives as a string, exactly as Netflix's libyaml reader sees it: `timeout: 5000` and
// `timeout: '5000'` are the same value, and `preconnect: yes` is not a boolean.
import { Buffer } from 'node:buffer';
import type { HostPort, OutputLimit, SeedSpec, ServerSpec } from './types.js';

/** A value as the failsafe schema gives it: scalars are strings (an empty value is ""). */
export type RawValue = string | readonly RawValue[] | { readonly [key: string]: RawValue };

/** Thrown by a parser; `at` extends the key path, e.g. "[1]" for the second list entry. */
export class BadValue extends Error {
  constructor(
    readonly reason: string,
    readonly at = '',
  ) {
    super(reason);
  }
}

export interface ValueType<T> {
  /** Short type name for the docs table. */
  readonly kind: string;
  /** Extra constraint text for the docs, e.g. "512..512000, a multiple of 16". */
  readonly constraint?: string;
  parse(raw: RawValue): T;
}

/** How a raw value is named in an error: `"abc"`, `an empty value`, `a list`, `a mapping`. */
export function describeRaw(raw: RawValue): string {
  if (typeof raw === 'string') return raw === '' ? 'an empty value' : JSON.stringify(raw);
  return Array.isArray(raw) ? 'a list' : 'a mapping';
}

function scalar(raw: RawValue, expected: string): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw new BadValue(`${expected}, got ${describeRaw(raw)}`);
  return raw.trim();
}

export const MAX_TOKEN = 4294967295;
const DIGITS = /^[0-9]+$/;

export interface IntOptions {
  min?: number;
  max?: number;
  multipleOf?: number;
  /** Netflix treats 0 as "unset" for most numeric keys and applies the default. */
  zeroIsDefault?: number;
  /**
   * Netflix `conf_set_short`: the number is stored in 8 bits (uint8_t), so it is taken modulo 256
   * before the zero check (256 means 0, i.e. the default; 300 means 44).
   */
  eightBit?: boolean;
}

/** A non-negative decimal integer (Netflix `conf_set_num`), with optional range checks. */
export function integer(opts: IntOptions = {}): ValueType<number> {
  const parts: string[] = [];
  if (opts.min !== undefined && opts.max !== undefined) parts.push(`${opts.min}..${opts.max}`);
  else if (opts.min !== undefined && opts.min > 0) parts.push(`>= ${opts.min}`);
  if (opts.multipleOf !== undefined) parts.push(`a multiple of ${opts.multipleOf}`);
  if (opts.eightBit) parts.push('taken modulo 256');
  if (opts.zeroIsDefault !== undefined) parts.push('0 means the default');
  return {
    kind: 'integer',
    constraint: parts.length ? parts.join(', ') : undefined,
    parse(raw) {
      const text = scalar(raw, 'expected a non-negative integer');
      if (!DIGITS.test(text) || text.length > 15) {
        throw new BadValue(`expected a non-negative integer, got ${describeRaw(raw)}`);
      }
      let n = Number(text);
      if (opts.eightBit) n %= 256;
      if (n === 0 && opts.zeroIsDefault !== undefined) n = opts.zeroIsDefault;
      const { min, max, multipleOf } = opts;
      if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
        const range = max === undefined ? `at least ${min}` : `between ${min ?? 0} and ${max}`;
        throw new BadValue(`must be ${range}, got ${n}`);
      }
      if (multipleOf !== undefined && n % multipleOf !== 0) {
        throw new BadValue(`must be a multiple of ${multipleOf}, got ${n}`);
      }
      return n;
    },
  };
}

/** Exactly `true` or `false`, as Netflix `conf_set_bool` accepts. */
export function boolean(): ValueType<boolean> {
  return {
    kind: 'boolean',
    parse(raw) {
      const text = scalar(raw, 'expected true or false');
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw new BadValue(`expected true or false, got ${describeRaw(raw)}`);
    },
  };
}

/** One of a fixed list of names, matched case-insensitively, returned in canonical spelling. */
export function oneOf<const T extends string>(names: readonly T[]): ValueType<T> {
  const expected = `expected one of ${names.join(', ')}`;
  return {
    kind: 'enum',
    constraint: names.join(' \\| '),
    parse(raw) {
      const text = scalar(raw, expected).toLowerCase();
      const hit = names.find((n) => n.toLowerCase() === text);
      if (hit === undefined) throw new BadValue(`${expected}, got ${describeRaw(raw)}`);
      return hit;
    },
  };
}

const MEM_UNITS: Record<string, number> = { '': 1, b: 1, k: 1000, kb: 1024, m: 1e6, mb: 1024 * 1024, g: 1e9, gb: 1024 * 1024 * 1024 };

/** A size as Redis's memtoull reads it: digits and an optional unit (k kb m mb g gb, any case). */
function memBytes(word: string): number | undefined {
  const m = /^([0-9]{1,15})([a-zA-Z]*)$/.exec(word);
  const unit = m === null ? undefined : MEM_UNITS[m[2]!.toLowerCase()];
  return unit === undefined ? undefined : Number(m![1]) * unit;
}

/** `<hard> <soft> <soft seconds>`, Redis's client-output-buffer-limit words for one class. */
export function outputLimit(): ValueType<OutputLimit> {
  const expected = 'expected "<hard limit> <soft limit> <soft seconds>", e.g. "32mb 8mb 60"';
  return {
    kind: 'limit',
    constraint: 'sizes in bytes or with k kb m mb g gb; 0 = no limit',
    parse(raw) {
      const words = scalar(raw, expected).split(/\s+/);
      const hard = memBytes(words[0] ?? '');
      const soft = memBytes(words[1] ?? '');
      const secs = words[2] !== undefined && DIGITS.test(words[2]) ? Number(words[2]) : undefined;
      if (words.length !== 3 || hard === undefined || soft === undefined || secs === undefined) {
        throw new BadValue(`${expected}, got ${describeRaw(raw)}`);
      }
      return { hard, soft, softSeconds: secs };
    },
  };
}

/** Any non-empty string. */
export function text(kind = 'string'): ValueType<string> {
  return { kind, parse: (raw) => scalar(raw, 'expected a non-empty string') };
}

/** A non-empty string taken as written (no trimming: spaces may be part of a password). */
export function password(): ValueType<string> {
  return {
    kind: 'string',
    parse(raw) {
      if (typeof raw !== 'string' || raw === '') throw new BadValue(`expected a non-empty string, got ${describeRaw(raw)}`);
      return raw;
    },
  };
}

/** A string of exactly two bytes (Netflix `conf_set_hashtag` compares the byte length). */
export function hashTag(): ValueType<string> {
  const expected = 'expected exactly two characters, e.g. "{}"';
  return {
    kind: 'string',
    constraint: 'two characters',
    parse(raw) {
      if (typeof raw !== 'string' || Buffer.byteLength(raw) !== 2) throw new BadValue(`${expected}, got ${describeRaw(raw)}`);
      return raw;
    },
  };
}

/** Parses one port, 1..65535 (Netflix `dn_valid_port`). */
function port(text: string, raw: string, format: string): number {
  const n = DIGITS.test(text) && text.length <= 5 ? Number(text) : -1;
  if (n < 1 || n > 65535) throw new BadValue(`invalid port ${JSON.stringify(text)} in ${JSON.stringify(raw)} (expected ${format}, port 1..65535)`);
  return n;
}

/** Splits "host:port" at the last colon; "[::1]:8102" and "::1:8102" both give host "::1". */
function hostPortOf(addr: string, raw: string, format: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(':');
  if (colon <= 0) throw new BadValue(`expected ${format}, got ${JSON.stringify(raw)}`);
  let host = addr.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') throw new BadValue(`missing host in ${JSON.stringify(raw)} (expected ${format})`);
  return { host, port: port(addr.slice(colon + 1), raw, format) };
}

function noUnixSocket(text: string, format: string): void {
  if (text.startsWith('/')) throw new BadValue(`unix socket paths are not supported, expected ${format}, got ${JSON.stringify(text)}`);
}

/** A listen address, `host:port`. */
export function hostPort(): ValueType<HostPort> {
  const format = '"host:port"';
  return {
    kind: 'host:port',
    parse(raw) {
      const t = scalar(raw, `expected ${format}`);
      noUnixSocket(t, format);
      return { ...hostPortOf(t, t, format), text: t };
    },
  };
}

/** A comma list of u32 ring points, written as a string ('1,2') or a plain number. */
export function parseTokens(t: string, raw: string): number[] {
  const out: number[] = [];
  for (const part of t.split(',')) {
    const p = part.trim();
    const n = DIGITS.test(p) && p.length <= 10 ? Number(p) : -1;
    if (n < 0 || n > MAX_TOKEN) {
      throw new BadValue(`expected a comma-separated list of tokens (integers 0..${MAX_TOKEN}), got ${JSON.stringify(raw)}`);
    }
    out.push(n);
  }
  return out;
}

export function tokens(): ValueType<number[]> {
  return {
    kind: 'tokens',
    constraint: `comma list of integers 0..${MAX_TOKEN}`,
    parse(raw) {
      const t = scalar(raw, 'expected a comma-separated list of tokens');
      return parseTokens(t, t);
    },
  };
}

/** Splits an optional trailing " name" (Netflix parses entries from the right). */
function splitName(t: string): { body: string; name: string | null } {
  const sp = t.lastIndexOf(' ');
  if (sp < 0) return { body: t, name: null };
  return { body: t.slice(0, sp).trim(), name: t.slice(sp + 1) };
}

/** Splits `body` at its last `count` colons: returns [head, ...count fields]. */
function splitRight(body: string, count: number): string[] | null {
  const fields: string[] = [];
  let rest = body;
  for (let i = 0; i < count; i++) {
    const colon = rest.lastIndexOf(':');
    if (colon < 0) return null;
    fields.unshift(rest.slice(colon + 1));
    rest = rest.slice(0, colon);
  }
  return [rest, ...fields];
}

/** A list value; a single scalar is taken as a one-entry list (Netflix accepts both). */
function list<T>(kind: string, entry: (t: string) => T): ValueType<T[]> {
  return {
    kind,
    parse(raw) {
      const items = typeof raw === 'string' ? [raw] : raw;
      if (!Array.isArray(items)) throw new BadValue(`expected a list, got ${describeRaw(raw)}`);
      return items.map((item: RawValue, i: number) => {
        const at = typeof raw === 'string' ? '' : `[${i}]`;
        try {
          return entry(scalar(item, 'expected a string entry'));
        } catch (e) {
          if (e instanceof BadValue) throw new BadValue(e.reason, at);
          throw e;
        }
      });
    },
  };
}

const SERVER_FORMAT = '"host:port:weight [name]"';

export function parseServer(t: string): ServerSpec {
  noUnixSocket(t, SERVER_FORMAT);
  const { body, name } = splitName(t);
  const parts = splitRight(body, 2);
  if (parts === null) throw new BadValue(`expected ${SERVER_FORMAT}, got ${JSON.stringify(t)}`);
  const [host, portText, weightText] = parts as [string, string, string];
  if (host === '') throw new BadValue(`missing host in ${JSON.stringify(t)} (expected ${SERVER_FORMAT})`);
  if (!DIGITS.test(weightText)) throw new BadValue(`invalid weight ${JSON.stringify(weightText)} in ${JSON.stringify(t)} (expected ${SERVER_FORMAT})`);
  const hp = hostPortOf(`${host}:${portText}`, t, SERVER_FORMAT);
  return { ...hp, weight: Number(weightText), name, text: body };
}

export function servers(): ValueType<ServerSpec[]> {
  return list('list of host:port:weight', parseServer);
}

const SEED_FORMAT = '"host:port:rack:dc:tokens [name]"';

export function parseSeed(t: string): SeedSpec {
  const { body, name } = splitName(t);
  const parts = splitRight(body, 4);
  if (parts === null) throw new BadValue(`expected ${SEED_FORMAT}, got ${JSON.stringify(t)}`);
  const [host, portText, rack, dc, tokenText] = parts as [string, string, string, string, string];
  if (host === '' || rack === '' || dc === '' || tokenText === '') {
    throw new BadValue(`expected ${SEED_FORMAT} with no empty field, got ${JSON.stringify(t)}`);
  }
  const hp = hostPortOf(`${host}:${portText}`, t, SEED_FORMAT);
  return { ...hp, rack, dc, tokens: parseTokens(tokenText, t), name, text: body };
}

export function seeds(): ValueType<SeedSpec[]> {
  return list('list of host:port:rack:dc:tokens', parseSeed);
}

/** `data_store`: 0 = redis, 1 = memcache (Netflix), `memory` = ours; names also accepted. */
export function dataStore(): ValueType<'redis' | 'memcache' | 'memory'> {
  const expected = 'expected 0 (redis), 1 (memcache) or memory';
  return {
    kind: 'enum',
    constraint: '0 (redis) \\| 1 (memcache) \\| memory',
    parse(raw) {
      const t = scalar(raw, expected).toLowerCase();
      if (t === '0' || t === 'redis') return 'redis';
      if (t === '1' || t === 'memcache' || t === 'memcached') return 'memcache';
      if (t === 'memory') return 'memory';
      throw new BadValue(`${expected}, got ${describeRaw(raw)}`);
    },
  };
}

/** Deprecated keys: any value is accepted and ignored (a warning is returned). */
export function ignored(): ValueType<null> {
  return { kind: 'any', parse: () => null };
}

/** One `users:` entry as written: the password comes from exactly one of its four sources. */
export interface UserEntry {
  readonly name: string;
  /** The password in clear, after `password_file` / `password_env` are read (load.ts). */
  readonly password: string | null;
  /** Lower-case hex SHA-256 of the password (`password_hash: '#<64 hex>'`, Redis ACL style). */
  readonly passwordHash: string | null;
  readonly passwordFile: string | null;
  readonly passwordEnv: string | null;
  /** Only reads (commands without Redis's write flag) and connection commands. */
  readonly readOnly: boolean;
  /** false: AUTH as this user fails, as for a Redis user that is `off`. */
  readonly enabled: boolean;
}

const USER_FIELDS = ['name', 'password', 'password_hash', 'password_file', 'password_env', 'read_only', 'enabled'] as const;
const PASSWORD_SOURCES = ['password', 'password_hash', 'password_file', 'password_env'] as const;
/** A user name as Redis accepts it in ACL SETUSER: no spaces, not empty. */
const USER_NAME = /^[^\s]+$/;
const SHA256_HEX = /^#?[0-9a-fA-F]{64}$/;

/** `users:`: a list of mappings `{name, password | password_hash | password_file | password_env, read_only, enabled}`. */
export function users(): ValueType<UserEntry[]> {
  const flag = boolean();
  return {
    kind: 'list of users',
    constraint: 'see [Authentication](#authentication)',
    parse(raw) {
      if (!Array.isArray(raw)) throw new BadValue(`expected a list of users (mappings with name and password), got ${describeRaw(raw)}`);
      const seen = new Set<string>();
      return raw.map((item: RawValue, i: number) => {
        const at = `[${i}]`;
        if (typeof item !== 'object' || Array.isArray(item)) {
          throw new BadValue(`expected a mapping with name and password, got ${describeRaw(item)}`, at);
        }
        const m = item as Readonly<Record<string, RawValue>>;
        for (const k of Object.keys(m)) {
          if (!(USER_FIELDS as readonly string[]).includes(k)) throw new BadValue(`unknown key (expected ${USER_FIELDS.join(', ')})`, `${at}.${k}`);
        }
        const field = <T>(k: (typeof USER_FIELDS)[number], type: ValueType<T>): T | null => {
          if (m[k] === undefined) return null;
          try {
            return type.parse(m[k] as RawValue);
          } catch (e) {
            if (e instanceof BadValue) throw new BadValue(e.reason, `${at}.${k}`);
            throw e;
          }
        };
        const name = field('name', text());
        if (name === null) throw new BadValue('missing name', at);
        if (!USER_NAME.test(name)) throw new BadValue(`a user name has no spaces, got ${JSON.stringify(name)}`, `${at}.name`);
        if (seen.has(name)) throw new BadValue(`user ${JSON.stringify(name)} is defined twice`, `${at}.name`);
        seen.add(name);
        const given = PASSWORD_SOURCES.filter((k) => m[k] !== undefined);
        if (given.length !== 1) {
          const why = given.length === 0 ? 'missing' : `${given.join(', ')} are set`;
          throw new BadValue(`exactly one of ${PASSWORD_SOURCES.join(', ')} is needed (${why})`, at);
        }
        return {
          name,
          password: field('password', password()),
          passwordHash: field('password_hash', sha256Hash()),
          passwordFile: field('password_file', text('path')),
          passwordEnv: field('password_env', envName()),
          readOnly: field('read_only', flag) ?? false,
          enabled: field('enabled', flag) ?? true,
        };
      });
    },
  };
}

/** An environment variable's name (letters, digits, underscores; not starting with a digit). */
export function envName(): ValueType<string> {
  return {
    kind: 'env var name',
    parse(raw) {
      const t = scalar(raw, 'expected an environment variable name');
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(t)) throw new BadValue(`expected an environment variable name (letters, digits, _), got ${describeRaw(raw)}`);
      return t;
    },
  };
}

/** A password's SHA-256 as Redis ACL writes it, `#<64 hex>` (the `#` may be left out); lower-cased. */
export function sha256Hash(): ValueType<string> {
  // An unquoted `#...` is a YAML comment, so the value arrives empty: say so.
  const expected = "expected '#' and 64 hex digits, the password's SHA-256 (quote it: an unquoted # starts a YAML comment)";
  return {
    kind: 'sha256',
    parse(raw) {
      if (typeof raw !== 'string' || !SHA256_HEX.test(raw.trim())) throw new BadValue(`${expected}, got ${describeRaw(raw)}`);
      return raw.trim().replace(/^#/, '').toLowerCase();
    },
  };
}
