// Commands the node answers itself, about the connection or the node: HELLO, AUTH, CLIENT, SELECT,
// ECHO, RESET, COMMAND, INFO, CONFIG GET. Replies use Redis 7's words and shapes, in the
// connection's protocol (RESP2 arrays or RESP3 maps, sets, verbatim strings).
//
// A handler returns the reply bytes, SILENT (CLIENT REPLY OFF / SKIP are not answered), FORWARD
// (the request goes on to the datastore unchanged: CONFIG SET ...), or a merge function (INFO: the
// datastore's reply is appended to the node's own sections).
import { createHash, timingSafeEqual } from 'node:crypto';
import { RespBuilder } from '../protocol/resp3.js';
import { type CommandInfo, type CommandTable, commandClass, isScript, isWrite, isRead } from '../wasm/commands.js';
import { globMatch } from '../protocol/glob.js';
import { OPEN_DEFAULT, type ClientUser, type Session } from './session.js';

/** The Redis version the node reports (HELLO, INFO): the command set it implements is Redis 7.2's. */
export const REDIS_COMPAT_VERSION = '7.2.4';

/** What the handlers need to know about the node. */
export interface NodeView {
  readonly commands: CommandTable;
  /** Every user, `default` included when `requirepass` is set. */
  readonly users: ReadonlyMap<string, ClientUser>;
  /** The `default` user when it has a password; undefined: connections start authenticated. */
  readonly defaultUser: ClientUser | undefined;
  /** CONFIG GET's answers: parameter -> value, lower-case names. */
  configValues(): ReadonlyMap<string, string>;
  /** The node's own INFO sections (`# Name\r\nkey:value\r\n...`), for the sections asked for. */
  infoSections(sections: readonly string[]): string;
  /** The open client connections (CLIENT LIST). */
  connections(): Iterable<ConnHandle>;
}

/** The connection a command runs on. */
export interface ConnHandle {
  readonly id: number;
  readonly session: Session;
  /** Where the client is (CLIENT INFO / LIST); in-process links may know no address. */
  readonly socket: { readonly remoteAddress?: string; readonly remotePort?: number; readonly localAddress?: string; readonly localPort?: number };
  /** The protocol, the user or the reply mode changed: the connection re-reads its session. */
  sessionChanged(): void;
  /** RESET: the connection's own settings (consistency override, subscriptions) back to the node's. */
  resetSettings(): void;
  /** Channels, patterns and shard channels subscribed to (CLIENT LIST's sub, psub, ssub). */
  subscriptionCounts?(): readonly [number, number, number];
}

export const SILENT: unique symbol = Symbol('no reply');
export const FORWARD: unique symbol = Symbol('forward');
/** Builds the final reply from the datastore's reply bytes. */
export type MergeReply = (datastoreReply: Buffer) => Buffer;
export type ConnReply = Buffer | typeof SILENT | typeof FORWARD | MergeReply;

const str = (b: Buffer): string => b.toString('utf8');
const upper = (b: Buffer): string => b.toString('latin1').toUpperCase();

function err(proto: 2 | 3, text: string): Buffer {
  return new RespBuilder(proto).error(text).finish();
}
const ok = (proto: 2 | 3): Buffer => new RespBuilder(proto).status('OK').finish();
const arity = (proto: 2 | 3, name: string): Buffer => err(proto, `ERR wrong number of arguments for '${name}' command`);
const unknownSub = (proto: 2 | 3, sub: Buffer, cmd: string): Buffer =>
  err(proto, `ERR unknown subcommand '${str(sub).slice(0, 128)}'. Try ${cmd} HELP.`);

export const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';
export const NOAUTH = 'NOAUTH Authentication required.';

/** Runs one connection command; args[0] is its name. */
export function connCommand(view: NodeView, conn: ConnHandle, args: readonly Buffer[]): ConnReply {
  const s = conn.session;
  switch (upper(args[0])) {
    case 'HELLO': return hello(view, conn, args);
    case 'AUTH': return auth(view, conn, args);
    case 'CLIENT': return client(view, conn, args);
    case 'SELECT': return select(s.proto, args);
    case 'ECHO': return new RespBuilder(s.proto).bulk(args[1]).finish();
    case 'RESET':
      s.reset();
      conn.resetSettings();
      conn.sessionChanged();
      return new RespBuilder(2).status('RESET').finish();
    case 'COMMAND': return command(view, s.proto, args);
    case 'INFO': return info(view, s.proto, args);
    case 'CONFIG': return config(view, conn, args);
    default: return err(s.proto, `ERR unknown command '${str(args[0]).slice(0, 128)}'`);
  }
}

// ---- authentication ----

const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

/** The user `name` if `password` is theirs. Hashes are compared in constant time. */
export function checkPassword(view: NodeView, name: string, password: Buffer): ClientUser | undefined {
  const u = view.users.get(name);
  if (u === undefined) {
    // Without any password configured, `default` takes any password (Redis's `nopass`).
    return name === 'default' && view.defaultUser === undefined ? OPEN_DEFAULT : undefined;
  }
  const want = Buffer.from(u.sha256, 'hex');
  const got = sha256(password);
  return want.length === got.length && timingSafeEqual(want, got) && u.enabled ? u : undefined;
}

function auth(view: NodeView, conn: ConnHandle, args: readonly Buffer[]): Buffer {
  const s = conn.session;
  if (args.length > 3) return err(s.proto, 'ERR syntax error');
  if (args.length === 2 && view.defaultUser === undefined && view.users.size === 0) {
    return err(s.proto, 'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
  }
  const name = args.length === 3 ? str(args[1]) : 'default';
  const user = checkPassword(view, name, args[args.length - 1]);
  if (user === undefined) return err(s.proto, WRONGPASS);
  s.user = user;
  conn.sessionChanged();
  return ok(s.proto);
}

function hello(view: NodeView, conn: ConnHandle, args: readonly Buffer[]): Buffer {
  const s = conn.session;
  let proto = s.proto;
  let user: ClientUser | undefined;
  let name: string | undefined;
  if (args.length >= 2) {
    const text = args[1].toString('latin1');
    const v = /^-?\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(v)) return err(s.proto, 'ERR Protocol version is not an integer or out of range');
    if (v !== 2 && v !== 3) return err(s.proto, 'NOPROTO unsupported protocol version');
    proto = v;
  }
  for (let i = 2; i < args.length; i++) {
    const opt = upper(args[i]);
    const more = args.length - i - 1;
    if (opt === 'AUTH' && more >= 2) {
      user = checkPassword(view, str(args[i + 1]), args[i + 2]);
      if (user === undefined) return err(s.proto, WRONGPASS);
      i += 2;
    } else if (opt === 'SETNAME' && more >= 1) {
      name = str(args[i + 1]);
      if (!validName(name)) return err(s.proto, NAME_ERROR);
      i += 1;
    } else {
      return err(s.proto, `ERR Syntax error in HELLO option '${str(args[i]).slice(0, 64)}'`);
    }
  }
  if (user === undefined && s.user === undefined) {
    return err(s.proto, 'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time');
  }
  if (user !== undefined) s.user = user;
  if (name !== undefined) s.name = name;
  s.proto = proto;
  conn.sessionChanged();
  return new RespBuilder(proto).map(7)
    .bulk('server').bulk('redis')
    .bulk('version').bulk(REDIS_COMPAT_VERSION)
    .bulk('proto').int(proto)
    .bulk('id').int(conn.id)
    .bulk('mode').bulk('standalone')
    .bulk('role').bulk('master')
    .bulk('modules').array(0)
    .finish();
}

// ---- CLIENT ----

const NAME_ERROR = 'ERR Client names cannot contain spaces, newlines or special characters.';

/** Redis accepts names of printable ASCII without spaces ('!' .. '~'). */
function validName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 33 || c > 126) return false;
  }
  return true;
}

/** One CLIENT INFO / CLIENT LIST line, with Redis's field names (no trailing newline). */
export function clientLine(c: ConnHandle): string {
  const s = c.session;
  const now = Date.now();
  const addr = `${c.socket.remoteAddress ?? '?'}:${c.socket.remotePort ?? 0}`;
  const laddr = `${c.socket.localAddress ?? '?'}:${c.socket.localPort ?? 0}`;
  const [sub, psub, ssub] = c.subscriptionCounts?.() ?? [0, 0, 0];
  const flags = (sub + psub + ssub > 0 ? 'P' : '') + (s.noEvict ? 'e' : '') + (s.noTouch ? 'T' : '') || 'N';
  return `id=${c.id} addr=${addr} laddr=${laddr} fd=-1 name=${s.name} age=${Math.floor((now - s.createdAt) / 1000)} ` +
    `idle=${Math.floor((now - s.lastCommandAt) / 1000)} flags=${flags} db=0 sub=${sub} psub=${psub} ssub=${ssub} multi=-1 ` +
    `user=${s.user?.name ?? 'default'} redir=-1 resp=${s.proto} lib-name=${s.libName} lib-ver=${s.libVer}`;
}

const CLIENT_HELP = [
  'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GETNAME', '    Return the name of the current connection.',
  'ID', '    Return the ID of the current connection.',
  'INFO', '    Return information about the current client connection.',
  'LIST [TYPE normal] [ID <id> [<id> ...]]', '    Return information about client connections.',
  'NO-EVICT (ON|OFF)', '    Accepted; the proxy evicts no clients.',
  'NO-TOUCH (ON|OFF)', '    Accepted; the datastore connection is shared, so LRU/LFU stats are touched.',
  'REPLY (ON|OFF|SKIP)', '    Control the replies sent to the current connection.',
  'SETINFO <LIB-NAME|LIB-VER> <value>', '    Set client meta attr.',
  'SETNAME <name>', '    Assign the name <name> to the current connection.',
  'HELP', '    Print this help.',
];

function onOff(proto: 2 | 3, arg: Buffer | undefined, set: (on: boolean) => void): Buffer {
  const v = arg === undefined ? '' : upper(arg);
  if (v !== 'ON' && v !== 'OFF') return err(proto, 'ERR syntax error');
  set(v === 'ON');
  return ok(proto);
}

function client(view: NodeView, conn: ConnHandle, args: readonly Buffer[]): ConnReply {
  const s = conn.session;
  const p = s.proto;
  const sub = upper(args[1]);
  const n = args.length;
  switch (sub) {
    case 'ID': return n === 2 ? new RespBuilder(p).int(conn.id).finish() : arity(p, 'client|id');
    case 'GETNAME':
      if (n !== 2) return arity(p, 'client|getname');
      return s.name === '' ? new RespBuilder(p).nil().finish() : new RespBuilder(p).bulk(s.name).finish();
    case 'SETNAME': {
      if (n !== 3) return arity(p, 'client|setname');
      const name = str(args[2]);
      if (!validName(name)) return err(p, NAME_ERROR);
      s.name = name;
      return ok(p);
    }
    case 'SETINFO': {
      if (n !== 4) return arity(p, 'client|setinfo');
      const attr = upper(args[2]);
      const value = str(args[3]);
      if (attr !== 'LIB-NAME' && attr !== 'LIB-VER') return err(p, `ERR Unrecognized option '${str(args[2]).slice(0, 64)}'`);
      if (!validName(value) && value !== '') {
        return err(p, `ERR ${attr === 'LIB-NAME' ? 'lib-name' : 'lib-ver'} cannot contain spaces, newlines or special characters.`);
      }
      if (attr === 'LIB-NAME') s.libName = value;
      else s.libVer = value;
      return ok(p);
    }
    case 'INFO': return n === 2 ? new RespBuilder(p).verbatim(`${clientLine(conn)}\n`).finish() : arity(p, 'client|info');
    case 'LIST': return clientList(view, p, args);
    case 'NO-EVICT':
      return n === 3 ? onOff(p, args[2], (on) => { s.noEvict = on; }) : arity(p, 'client|no-evict');
    case 'NO-TOUCH':
      return n === 3 ? onOff(p, args[2], (on) => { s.noTouch = on; }) : arity(p, 'client|no-touch');
    case 'REPLY': {
      if (n !== 3) return arity(p, 'client|reply');
      const mode = upper(args[2]);
      if (mode !== 'ON' && mode !== 'OFF' && mode !== 'SKIP') return err(p, 'ERR syntax error');
      s.reply = mode === 'ON' ? 'on' : mode === 'OFF' ? 'off' : 'skip';
      conn.sessionChanged();
      // ON is answered; OFF and SKIP are not (the SKIP applies to the command after this one).
      return mode === 'ON' ? ok(p) : SILENT;
    }
    case 'HELP': {
      const b = new RespBuilder(p).array(CLIENT_HELP.length);
      for (const line of CLIENT_HELP) b.status(line);
      return b.finish();
    }
    default: return unknownSub(p, args[1], 'CLIENT');
  }
}

function clientList(view: NodeView, p: 2 | 3, args: readonly Buffer[]): Buffer {
  let ids: Set<number> | undefined;
  let type: 'normal' | 'pubsub' | undefined;
  for (let i = 2; i < args.length; i++) {
    const opt = upper(args[i]);
    if (opt === 'TYPE' && i + 1 < args.length) {
      const t = upper(args[++i]);
      if (t === 'NORMAL' || t === 'PUBSUB') {
        type = t === 'NORMAL' ? 'normal' : 'pubsub';
        continue;
      }
      if (t === 'MASTER' || t === 'REPLICA') return new RespBuilder(p).verbatim('').finish();
      return err(p, `ERR Unknown client type '${str(args[i])}'`);
    }
    if (opt === 'ID' && i + 1 < args.length) {
      ids = new Set();
      for (i++; i < args.length; i++) {
        const v = Number(args[i].toString('latin1'));
        if (!Number.isSafeInteger(v) || v < 0) return err(p, 'ERR Invalid client ID');
        ids.add(v);
      }
      break;
    }
    return err(p, 'ERR syntax error');
  }
  let text = '';
  for (const c of view.connections()) {
    if (ids !== undefined && !ids.has(c.id)) continue;
    if (type !== undefined) {
      const [a, b, d] = c.subscriptionCounts?.() ?? [0, 0, 0];
      // Redis's client types: a connection with a subscription is `pubsub`, any other `normal`.
      if ((a + b + d > 0) !== (type === 'pubsub')) continue;
    }
    text += `${clientLine(c)}\n`;
  }
  return new RespBuilder(p).verbatim(text).finish();
}

// ---- SELECT ----

function select(p: 2 | 3, args: readonly Buffer[]): Buffer {
  const text = args[1].toString('latin1');
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) return err(p, 'ERR value is not an integer or out of range');
  if (Number(text) === 0) return ok(p);
  return err(p, 'ERR DB index is out of range (this proxy has one database: 0)');
}

// ---- COMMAND ----

function redisFlags(c: CommandInfo): string[] {
  const f: string[] = [];
  // Read | write (PFCOUNT, replicated) is `readonly` to Redis, as its COMMAND INFO says.
  if (isRead(c.flags)) f.push('readonly');
  else if (isWrite(c.flags)) f.push('write');
  if (commandClass(c) === 'pseudo') f.push('noscript', 'loading', 'stale');
  if (isScript(c.flags) || c.firstKey === 0 && c.step > 0) f.push('movablekeys');
  return f;
}

function aclCategories(c: CommandInfo): string[] {
  const cls = commandClass(c);
  if (cls === 'pseudo') return ['@connection'];
  if (cls === 'admin') return ['@admin'];
  if (isScript(c.flags)) return ['@scripting'];
  return isWrite(c.flags) && !isRead(c.flags) ? ['@write'] : ['@read'];
}

function commandInfo(b: RespBuilder, c: CommandInfo): void {
  const flags = redisFlags(c);
  const cats = aclCategories(c);
  // Scripts count their keys with numkeys: Redis reports 0 0 0 (movablekeys), so do we.
  const [first, last, step] = isScript(c.flags) ? [0, 0, 0] : [c.firstKey, c.lastKey, c.step];
  b.array(10).bulk(c.name.toLowerCase()).int(c.arity).set(flags.length);
  for (const f of flags) b.status(f);
  b.int(first).int(last).int(step).set(cats.length);
  for (const cat of cats) b.status(cat);
  b.array(0).array(0).array(0);
}

const COMMAND_HELP = [
  'COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  '(no subcommand)', '    Return details about all commands.',
  'COUNT', '    Return the total number of commands in this proxy.',
  'LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]', '    Return a list of all commands.',
  'INFO [<command-name> ...]', '    Return details about multiple commands.',
  'DOCS [<command-name> ...]', '    Return documentation details about multiple commands.',
  'HELP', '    Print this help.',
];

function command(view: NodeView, p: 2 | 3, args: readonly Buffer[]): Buffer {
  const all = view.commands.all();
  if (args.length === 1) {
    const b = new RespBuilder(p).array(all.length);
    for (const c of all) commandInfo(b, c);
    return b.finish();
  }
  const sub = upper(args[1]);
  switch (sub) {
    case 'COUNT': return new RespBuilder(p).int(all.length).finish();
    case 'INFO': {
      const list = args.length === 2 ? all : args.slice(2).map((a) => view.commands.byName(a.toString('latin1')));
      const b = new RespBuilder(p).array(list.length);
      for (const c of list) {
        if (c === undefined) b.nil();
        else commandInfo(b, c);
      }
      return b.finish();
    }
    case 'LIST': {
      let names = all.map((c) => c.name.toLowerCase());
      if (args.length === 5 && upper(args[2]) === 'FILTERBY') {
        const by = upper(args[3]);
        const arg = args[4].toString('latin1');
        if (by === 'PATTERN') names = names.filter((n) => globMatch(arg.toLowerCase(), n));
        else if (by === 'ACLCAT') names = all.filter((c) => aclCategories(c).includes(`@${arg.toLowerCase()}`)).map((c) => c.name.toLowerCase());
        else if (by === 'MODULE') names = [];
        else return err(p, 'ERR syntax error');
      } else if (args.length !== 2) {
        return err(p, 'ERR syntax error');
      }
      const b = new RespBuilder(p).array(names.length);
      for (const n of names) b.bulk(n);
      return b.finish();
    }
    case 'DOCS': {
      const list = args.length === 2 ? all : args.slice(2).map((a) => view.commands.byName(a.toString('latin1'))).filter((c) => c !== undefined);
      const b = new RespBuilder(p).map(list.length);
      for (const c of list) {
        b.bulk(c.name.toLowerCase()).map(2)
          .bulk('summary').bulk(`${commandClass(c)} command (dynomite-ts: ${docRouting(c)})`)
          .bulk('group').bulk(commandClass(c));
      }
      return b.finish();
    }
    case 'HELP': {
      const b = new RespBuilder(p).array(COMMAND_HELP.length);
      for (const line of COMMAND_HELP) b.status(line);
      return b.finish();
    }
    default: return unknownSub(p, args[1], 'COMMAND');
  }
}

function docRouting(c: CommandInfo): string {
  switch (commandClass(c)) {
    case 'unsupported': return 'refused';
    case 'pseudo': return 'answered by the node';
    case 'admin': return 'answered by the local datastore';
    case 'search': return 'scattered over the nodes';
    default:
      if (isRead(c.flags) && isWrite(c.flags)) return 'read, and sent to every replica like a write (it rewrites a cache in the value)';
      return isWrite(c.flags) ? 'written to every replica' : 'read from the replicas the consistency level asks';
  }
}

// ---- INFO, CONFIG ----

function info(view: NodeView, p: 2 | 3, args: readonly Buffer[]): MergeReply {
  const own = view.infoSections(args.slice(1).map((a) => a.toString('latin1').toLowerCase()));
  return (ds) => {
    // A datastore that cannot answer INFO (a user's own store, a backend refusing it) does not cost
    // the client the node's sections: they come with the datastore's error stated in its own section
    // (clients such as ioredis send INFO on connect and give up on an error reply).
    if (ds[0] === 45 /* - */ && own !== '') {
      const why = ds.subarray(1, ds.indexOf(13) < 0 ? ds.length : ds.indexOf(13)).toString('latin1');
      return new RespBuilder(p).verbatim(`${own}\r\n# Datastore\r\ndatastore_info_error:${why}\r\n`).finish();
    }
    // The datastore's reply is a bulk (RESP2): its payload follows the node's sections.
    if (ds[0] !== 36 /* $ */) return ds;
    const nl = ds.indexOf(13);
    const payload = ds.subarray(nl + 2, ds.length - 2).toString('latin1');
    const text = own === '' ? payload : payload === '' ? own : `${own}\r\n${payload}`;
    return new RespBuilder(p).verbatim(text).finish();
  };
}

function config(view: NodeView, conn: ConnHandle, args: readonly Buffer[]): ConnReply {
  const p = conn.session.proto;
  if (upper(args[1]) !== 'GET') {
    // CONFIG SET / RESETSTAT / REWRITE change the datastore: not for read-only users.
    if (conn.session.user?.readonly === true) return err(p, noPerm(conn.session.user.name, `config|${str(args[1]).toLowerCase()}`));
    return FORWARD;
  }
  if (args.length < 3) return arity(p, 'config|get');
  const values = view.configValues();
  const out: [string, string][] = [];
  const seen = new Set<string>();
  for (const a of args.slice(2)) {
    const pat = a.toString('latin1').toLowerCase();
    for (const [k, v] of values) {
      if (!seen.has(k) && globMatch(pat, k)) {
        seen.add(k);
        out.push([k, v]);
      }
    }
  }
  const b = new RespBuilder(p).map(out.length);
  for (const [k, v] of out) b.bulk(k).bulk(v);
  return b.finish();
}

/** Redis 7.2's words for a command the user may not run. */
export function noPerm(user: string, cmd: string): string {
  return `NOPERM User ${user} has no permissions to run the '${cmd}' command`;
}
