// Pub/sub at the node: one registry per node of its own clients' subscriptions (channels, glob
// patterns, shard channels), the (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PUBSUB replies, and the
// messages, in Redis 7's words and shapes (RESP2 arrays, RESP3 `>` pushes).
//
//   SUBSCRIBE ch ─► ClientConn ─► subscriptionCommand ─► PubSubHub.add(conn)
//   PUBLISH ch m ─► ClientConn ─► PubSubHub.deliver: every subscriber of ch, then every pattern
//                   that matches ch (one message per subscription, as Redis counts receivers)
//                   └─► PublishRelay (src/dispatch/publish.ts): the other nodes deliver to theirs
//
// Why the node and not the datastore: the datastore connections are shared by every client (a
// subscribed connection stops being request/reply), the embedded store and memcached have no
// pub/sub, and a redis behind one node never sees another node's messages. A registry per node
// costs one dnode request per peer per message and works over any datastore.
//
// Each message is encoded once per publish (RESP2; the RESP3 push differs in its first byte only)
// and the same bytes are appended to every subscriber's output, which bounds them (see
// ClientConn.push: client-output-buffer-limit pubsub).
import { RespBuilder } from '../protocol/resp3.js';
import { globMatch } from '../protocol/glob.js';

/** Subscription kinds: index into the registry's and each connection's tables. */
export const CHANNEL = 0;
export const PATTERN = 1;
export const SHARD = 2;
export type SubKind = typeof CHANNEL | typeof PATTERN | typeof SHARD;

/** A client connection as the registry sees it. */
export interface Subscriber {
  readonly id: number;
  /** Appends a message: `resp2` or its RESP3 push form, as the connection speaks. */
  push(msg: PushMessage): void;
}

/** One message for many subscribers: the RESP2 bytes, and the RESP3 push made from them once. */
export class PushMessage {
  private r3: Buffer | undefined;

  constructor(readonly resp2: Buffer) {}

  get resp3(): Buffer {
    if (this.r3 === undefined) {
      this.r3 = Buffer.from(this.resp2);
      this.r3[0] = 62; // '>' instead of '*': the same array as a push
    }
    return this.r3;
  }

  bytes(proto: 2 | 3): Buffer {
    return proto === 3 ? this.resp3 : this.resp2;
  }
}

function bulkHead(n: number): string {
  return `$${n}\r\n`;
}

/** `*<n>` + the bulks, as one Buffer. */
function arrayOf(parts: readonly Buffer[]): Buffer {
  const chunks: Buffer[] = [Buffer.from(`*${parts.length}\r\n`, 'latin1')];
  for (const p of parts) chunks.push(Buffer.from(bulkHead(p.length), 'latin1'), p, CRLF);
  return Buffer.concat(chunks);
}

const CRLF = Buffer.from('\r\n');
const MESSAGE = Buffer.from('message');
const PMESSAGE = Buffer.from('pmessage');
const SMESSAGE = Buffer.from('smessage');

/** The subscriptions of every client of this node. */
export class PubSubHub {
  private readonly tables: [Map<string, Set<Subscriber>>, Map<string, Set<Subscriber>>, Map<string, Set<Subscriber>>] =
    [new Map(), new Map(), new Map()];
  /** Adds s to `name`'s subscribers; false when it was there. */
  add(kind: SubKind, name: string, s: Subscriber): boolean {
    const t = this.tables[kind];
    let set = t.get(name);
    if (set === undefined) {
      set = new Set();
      t.set(name, set);
    }
    if (set.has(s)) return false;
    set.add(s);
    return true;
  }

  /** Removes s from `name`'s subscribers; false when it was not there. */
  remove(kind: SubKind, name: string, s: Subscriber): boolean {
    const t = this.tables[kind];
    const set = t.get(name);
    if (set === undefined || !set.delete(s)) return false;
    if (set.size === 0) t.delete(name);
    return true;
  }

  /**
   * Delivers a message to this node's subscribers: SPUBLISH to the shard channel's, PUBLISH to
   * the channel's and then to every matching pattern's. Returns the receivers, counted as Redis
   * does: one per subscription the message went out on.
   */
  deliver(shard: boolean, channel: Buffer, message: Buffer): number {
    const name = channel.toString('latin1');
    let n = 0;
    const direct = this.tables[shard ? SHARD : CHANNEL].get(name);
    if (direct !== undefined && direct.size > 0) {
      const msg = new PushMessage(arrayOf([shard ? SMESSAGE : MESSAGE, channel, message]));
      for (const s of [...direct]) {
        s.push(msg);
        n++;
      }
    }
    if (shard) return n;
    for (const [pattern, subs] of this.tables[PATTERN]) {
      if (subs.size === 0 || !globMatch(pattern, name)) continue;
      const msg = new PushMessage(arrayOf([PMESSAGE, Buffer.from(pattern, 'latin1'), channel, message]));
      // A copy: a subscriber may be disconnected (output limit) while we iterate.
      for (const s of [...subs]) {
        s.push(msg);
        n++;
      }
    }
    return n;
  }

  /** Active channels (or shard channels), optionally those matching a glob. */
  names(kind: typeof CHANNEL | typeof SHARD, pattern?: string): string[] {
    const out: string[] = [];
    for (const [name, subs] of this.tables[kind]) {
      if (subs.size > 0 && (pattern === undefined || globMatch(pattern, name))) out.push(name);
    }
    return out;
  }

  /** Subscribers of one channel (or shard channel). */
  count(kind: typeof CHANNEL | typeof SHARD, name: string): number {
    return this.tables[kind].get(name)?.size ?? 0;
  }

  /** Patterns subscribed to by at least one client (PUBSUB NUMPAT). */
  patternCount(): number {
    return this.tables[PATTERN].size;
  }
}

/** One connection's subscriptions, in the order they were made. */
export class Subscriptions {
  readonly sets: [Set<string>, Set<string>, Set<string>] = [new Set(), new Set(), new Set()];

  get total(): number {
    return this.sets[0].size + this.sets[1].size + this.sets[2].size;
  }

  /** The count a (P)(UN)SUBSCRIBE reply carries: channels + patterns; shard commands: shard channels. */
  countFor(kind: SubKind): number {
    return kind === SHARD ? this.sets[2].size : this.sets[0].size + this.sets[1].size;
  }

  /** Drops every subscription of s from the hub (the connection closed, or RESET). */
  clear(hub: PubSubHub, s: Subscriber): void {
    for (let k = 0; k < 3; k++) {
      for (const name of this.sets[k]!) hub.remove(k as SubKind, name, s);
      this.sets[k]!.clear();
    }
  }
}

/** The pub/sub commands the node answers, by command id. */
export type PubSubOp =
  | 'subscribe' | 'psubscribe' | 'ssubscribe' | 'unsubscribe' | 'punsubscribe' | 'sunsubscribe'
  | 'publish' | 'spublish' | 'pubsub';

const SUBSCRIBE_KIND: Record<string, [SubKind, boolean]> = {
  subscribe: [CHANNEL, true], psubscribe: [PATTERN, true], ssubscribe: [SHARD, true],
  unsubscribe: [CHANNEL, false], punsubscribe: [PATTERN, false], sunsubscribe: [SHARD, false],
};

/**
 * (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE: changes the connection's subscriptions and returns the
 * confirmations, one per name (an UNSUBSCRIBE without names: one per subscription it had, or one
 * with a nil name when it had none), each carrying the count after that step.
 */
export function subscriptionCommand(hub: PubSubHub, subs: Subscriptions, s: Subscriber, proto: 2 | 3, op: PubSubOp,
  args: readonly Buffer[]): Buffer {
  const [kind, on] = SUBSCRIBE_KIND[op]!;
  const b = new RespBuilder(proto);
  const mine = subs.sets[kind];
  let names = args.slice(1).map((a) => a.toString('latin1'));
  if (!on && names.length === 0) {
    names = [...mine];
    if (names.length === 0) {
      b.push(3).bulk(op).nil().int(subs.countFor(kind));
      return b.finish();
    }
  }
  for (const name of names) {
    if (on) {
      if (!mine.has(name)) {
        mine.add(name);
        hub.add(kind, name, s);
      }
    } else if (mine.delete(name)) {
      hub.remove(kind, name, s);
    }
    b.push(3).bulk(op).bulk(Buffer.from(name, 'latin1')).int(subs.countFor(kind));
  }
  return b.finish();
}

const PUBSUB_HELP = [
  'PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CHANNELS [<pattern>]',
  "    Return the currently active channels matching a <pattern> (default: '*').",
  'NUMPAT',
  '    Return number of subscriptions to patterns.',
  'NUMSUB [<channel> ...]',
  '    Return the number of subscribers for the specified channels, excluding',
  '    pattern subscriptions(default: no channels).',
  'SHARDCHANNELS [<pattern>]',
  '    Return the currently active shard level channels matching a <pattern> (default: \'*\').',
  'SHARDNUMSUB [<shardchannel> ...]',
  '    Return the number of subscribers for the specified shard level channel(s)',
  'HELP',
  '    Print this help.',
];

/** PUBSUB CHANNELS / NUMSUB / NUMPAT / SHARDCHANNELS / SHARDNUMSUB / HELP over this node's registry. */
export function pubsubCommand(hub: PubSubHub, proto: 2 | 3, args: readonly Buffer[]): Buffer {
  const b = new RespBuilder(proto);
  const sub = args[1]!.toString('latin1');
  const n = args.length;
  switch (sub.toUpperCase()) {
    case 'CHANNELS':
    case 'SHARDCHANNELS': {
      if (n > 3) break;
      const kind = sub.length === 'CHANNELS'.length ? CHANNEL : SHARD;
      const names = hub.names(kind, n === 3 ? args[2]!.toString('latin1') : undefined);
      b.array(names.length);
      for (const name of names) b.bulk(Buffer.from(name, 'latin1'));
      return b.finish();
    }
    case 'NUMSUB':
    case 'SHARDNUMSUB': {
      const kind = sub.length === 'NUMSUB'.length ? CHANNEL : SHARD;
      b.array((n - 2) * 2);
      for (let i = 2; i < n; i++) b.bulk(args[i]!).int(hub.count(kind, args[i]!.toString('latin1')));
      return b.finish();
    }
    case 'NUMPAT':
      if (n !== 2) return b.error("ERR wrong number of arguments for 'pubsub|numpat' command").finish();
      return b.int(hub.patternCount()).finish();
    case 'HELP':
      if (n !== 2) return b.error("ERR wrong number of arguments for 'pubsub|help' command").finish();
      b.array(PUBSUB_HELP.length);
      for (const line of PUBSUB_HELP) b.status(line);
      return b.finish();
    default:
      return b.error(`ERR unknown subcommand '${sub.slice(0, 128)}'. Try PUBSUB HELP.`).finish();
  }
  return b.error(`ERR unknown subcommand or wrong number of arguments for '${sub.slice(0, 128)}'. Try PUBSUB HELP.`).finish();
}

/** PING in RESP2 subscriber mode: `*2 pong <message or "">`. */
export function subscriberPing(args: readonly Buffer[]): Buffer {
  if (args.length > 2) return new RespBuilder(2).error("ERR wrong number of arguments for 'ping' command").finish();
  return new RespBuilder(2).array(2).bulk('pong').bulk(args[1] ?? Buffer.alloc(0)).finish();
}

/** Redis's refusal of a command in RESP2 subscriber mode. */
export function subscriberModeError(name: string): Buffer {
  return new RespBuilder(2)
    .error(`ERR Can't execute '${name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`)
    .finish();
}
