// A local redis as a search DocSource. Every write path ends in this redis (client writes through
// any node, replication from peers, hint replays, repairs, expiry, RENAME, DEL), so we watch redis
// itself: the node turns on keyspace notifications (keyevent class, generic / string / hash / list /
// set / zset / expired / evicted events), a dedicated subscriber connection receives the changed key
// names, and a second connection re-reads them with HGETALL in pipelined batches.
//
// sync() is the read-your-writes barrier for a query: a PING on the subscriber connection comes
// back after every notification redis published before it, so once the PING returns and the
// batch it flushed is applied, every write redis acknowledged before the query is indexed.
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import { RespConn, RespError, type RespValue } from './resp-conn.js';
import type { DocSource, SearchEngine } from './engine.js';

/** Keyspace-event classes the search layer needs: E keyevent, g generic, $ string, h hash, l s z, x expired, e evicted. */
const NEEDED_FLAGS = 'Eg$hlszxe';

export function mergeNotifyFlags(current: string): string {
  let out = current;
  for (const c of NEEDED_FLAGS) if (!out.includes(c) && !(out.includes('A') && 'g$lshzxe'.includes(c))) out += c;
  return out;
}

export class RedisSource implements DocSource {
  private sub: RespConn | undefined;
  private cmd: RespConn | undefined;
  private readonly dirty = new Set<string>();
  private flushing: Promise<void> | undefined;
  private started: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly engine: SearchEngine,
    private readonly log: Logger,
    private readonly password?: string,
    private readonly tls?: () => ConnectionOptions,
  ) {}

  activate(on: boolean): void {
    if (on && !this.started) this.started = this.start().catch((e: Error) => {
      this.log.error({ err: e.message }, 'search: cannot watch the datastore');
      this.started = undefined;
    });
  }

  private async start(): Promise<void> {
    const cmd = new RespConn(this.host, this.port, this.password, this.tls);
    await cmd.open();
    const cur = await cmd.call(['CONFIG', 'GET', 'notify-keyspace-events']);
    const flags = Array.isArray(cur) && Buffer.isBuffer(cur[1]) ? cur[1].toString('latin1') : '';
    const want = mergeNotifyFlags(flags);
    if (want !== flags) {
      const r = await cmd.call(['CONFIG', 'SET', 'notify-keyspace-events', want]);
      if (r instanceof RespError) throw new Error(`CONFIG SET notify-keyspace-events: ${r.message}`);
    }
    const sub = new RespConn(this.host, this.port, this.password, this.tls);
    await sub.open();
    sub.subscriber = true;
    sub.onPush = (v) => this.onEvent(v);
    sub.onClose = () => {
      if (!this.closed) this.log.warn('search: datastore notification connection closed');
    };
    await sub.call(['PSUBSCRIBE', '__keyevent@0__:*']);
    this.cmd = cmd;
    this.sub = sub;
  }

  private onEvent(v: RespValue[]): void {
    // pmessage <pattern> <channel> <key>
    const channel = v[2];
    const key = v[3];
    if (!Buffer.isBuffer(channel) || !Buffer.isBuffer(key)) return;
    const event = channel.toString('latin1').slice('__keyevent@0__:'.length);
    if (event === 'flushdb' || event === 'flushall') {
      for (const ix of this.engine.indexes.values()) for (const k of [...ix.byKey.keys()]) ix.update(k, null);
      return;
    }
    const k = key.toString('latin1');
    if (this.engine.wants(k)) {
      this.dirty.add(k);
      if (!this.flushing) this.flushing = new Promise<void>((r) => setImmediate(r)).then(() => this.flush());
    }
  }

  /** Re-reads the dirty keys (batches of 256 HGETALLs) and applies them. */
  private async flush(): Promise<void> {
    try {
      while (this.dirty.size > 0 && this.cmd) {
        const keys = [...this.dirty].slice(0, 256);
        for (const k of keys) this.dirty.delete(k);
        const replies = await this.cmd.pipeline(keys.map((k) => ['HGETALL', Buffer.from(k, 'latin1')]));
        keys.forEach((k, i) => this.engine.changed(k, toHash(replies[i]!)));
      }
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'search: re-reading changed keys failed');
    } finally {
      this.flushing = undefined;
    }
  }

  async sync(): Promise<void> {
    if (this.started) await this.started;
    if (!this.sub) return;
    await this.sub.call(['PING']);
    while (this.flushing || this.dirty.size > 0) {
      if (this.flushing) await this.flushing;
      else await this.flush();
    }
  }

  async scan(visit: (key: string, fields: Map<string, Buffer>) => void, progress: (f: number) => void): Promise<void> {
    if (this.started) await this.started;
    const cmd = this.cmd;
    if (!cmd) throw new Error(`no connection to the datastore ${this.host}:${this.port} (not watching it)`);
    const size = await cmd.call(['DBSIZE']);
    const total = Math.max(1, typeof size === 'number' ? size : 1);
    let cursor = '0';
    let seen = 0;
    do {
      const r = await cmd.call(['SCAN', cursor, 'COUNT', '1000', 'TYPE', 'hash']);
      if (!Array.isArray(r) || !Buffer.isBuffer(r[0]) || !Array.isArray(r[1])) {
        throw new Error(`SCAN answered ${r instanceof RespError ? r.message : 'an unexpected reply'}`);
      }
      cursor = r[0].toString('latin1');
      const keys = (r[1] as RespValue[]).filter(Buffer.isBuffer).map((b) => (b as Buffer).toString('latin1'));
      if (keys.length > 0) {
        const replies = await cmd.pipeline(keys.map((k) => ['HGETALL', Buffer.from(k, 'latin1')]));
        keys.forEach((k, i) => {
          const h = toHash(replies[i]!);
          if (h !== null) visit(k, h);
        });
      }
      seen += keys.length;
      progress(Math.min(1, seen / total));
    } while (cursor !== '0');
  }

  async deleteKeys(keys: string[]): Promise<void> {
    if (this.started) await this.started;
    if (!this.cmd) return;
    for (let i = 0; i < keys.length; i += 512) {
      await this.cmd.call(['DEL', ...keys.slice(i, i + 512).map((k) => Buffer.from(k, 'latin1'))]);
    }
  }

  close(): void {
    this.closed = true;
    this.sub?.close();
    this.cmd?.close();
  }
}

function toHash(v: RespValue): Map<string, Buffer> | null {
  if (!Array.isArray(v) || v.length === 0) return null;
  const m = new Map<string, Buffer>();
  for (let i = 0; i + 1 < v.length; i += 2) {
    const f = v[i];
    const x = v[i + 1];
    if (Buffer.isBuffer(f) && Buffer.isBuffer(x)) m.set(f.toString('latin1'), Buffer.from(x));
  }
  return m;
}
