// MULTI / EXEC / DISCARD / WATCH / UNWATCH for the embedded datastore (multi.c), per client.
//
// A StoreClient is what a Redis connection holds for transactions: the commands queued since MULTI,
// whether one of them was refused when queued (EXEC then answers EXECABORT), and the keys it
// WATCHes. A watched key's change marks the client dirty (Keyspace.watchers, Keyspace.signal) and
// EXEC then answers nil. The store runs on the event loop, so EXEC's commands run back to back:
// nothing else can see or change the keyspace between them, which is what makes them atomic.
import { str } from './command.js';
import type { Keyspace, Watcher } from './keyspace.js';
import { NIL_ARRAY, OK, error, simple } from './resp-writer.js';

const QUEUED = simple('QUEUED');
const EXECABORT = error('EXECABORT Transaction discarded because of previous errors.');

/** The transaction commands: answered with the client's state, never queued (Redis: not UNWATCH). */
export const TX_COMMANDS: Readonly<Record<string, number>> = { multi: 1, exec: 1, discard: 1, watch: -2, unwatch: 1 };

export class StoreClient implements Watcher {
  /** Commands queued since MULTI (arguments copied), or undefined outside MULTI. */
  queue: Buffer[][] | undefined;
  /** A command was refused while queueing (unknown, arity): EXEC answers EXECABORT. */
  queueError = false;
  readonly watched = new Set<string>();
  dirty = false;

  get inMulti(): boolean {
    return this.queue !== undefined;
  }

  /** Queues a command after MULTI (its arguments copied: the caller's may be reused). */
  enqueue(args: Buffer[]): Buffer {
    this.queue!.push(args.map((a) => Buffer.from(a)));
    return QUEUED;
  }

  /** A command refused while queueing: answered now, the transaction will abort. */
  refuse(reply: Buffer): Buffer {
    this.queueError = true;
    return reply;
  }

  unwatch(ks: Keyspace): void {
    for (const key of this.watched) {
      const w = ks.watchers.get(key);
      if (w === undefined) continue;
      w.delete(this);
      if (w.size === 0) ks.watchers.delete(key);
    }
    this.watched.clear();
    this.dirty = false;
  }

  private endMulti(): void {
    this.queue = undefined;
    this.queueError = false;
  }

  /** The five transaction commands (name lower case, arity already checked). */
  control(ks: Keyspace, name: string, args: Buffer[], run: (args: Buffer[]) => Buffer): Buffer {
    switch (name) {
      case 'multi':
        if (this.queue !== undefined) return error('ERR MULTI calls can not be nested');
        this.queue = [];
        return OK;
      case 'discard':
        if (this.queue === undefined) return error('ERR DISCARD without MULTI');
        this.endMulti();
        this.unwatch(ks);
        return OK;
      case 'watch':
        if (this.queue !== undefined) return error('ERR WATCH inside MULTI is not allowed');
        for (let i = 1; i < args.length; i++) {
          const key = str(args[i]!);
          if (this.watched.has(key)) continue;
          // A key already expired is deleted now, before we watch it: only later changes count.
          ks.lookup(key);
          let w = ks.watchers.get(key);
          if (w === undefined) ks.watchers.set(key, (w = new Set()));
          w.add(this);
          this.watched.add(key);
        }
        return OK;
      case 'unwatch':
        this.unwatch(ks);
        return OK;
      default:
        return this.exec(ks, run);
    }
  }

  private exec(ks: Keyspace, run: (args: Buffer[]) => Buffer): Buffer {
    const queue = this.queue;
    if (queue === undefined) return error('ERR EXEC without MULTI');
    const aborted = this.queueError;
    this.endMulti();
    if (aborted) {
      this.unwatch(ks);
      return EXECABORT;
    }
    // A watched key that expired since WATCH is a change too (Redis 7): looking it up deletes it,
    // which signals its watchers.
    for (const key of this.watched) ks.lookup(key);
    if (this.dirty) {
      this.unwatch(ks);
      return NIL_ARRAY;
    }
    this.unwatch(ks);
    const replies: Buffer[] = [Buffer.from(`*${queue.length}\r\n`, 'latin1')];
    for (const cmd of queue) replies.push(run(cmd));
    return Buffer.concat(replies);
  }
}
