// The embedded datastore as a search DocSource: the store tells us which keys each command changed
// (StoreWatcher), and we re-read those hashes synchronously, so a search right after a write through
// any path (client, peer replication, hint replay, repair, expiry, RENAME, FLUSHALL) sees it.
import type { MemoryStore } from '../store/memory/index.js';
import type { DocSource, SearchEngine } from './engine.js';

export class MemorySource implements DocSource {
  private watching = false;

  constructor(private readonly store: MemoryStore, private readonly engine: SearchEngine) {}

  /** Watches the store only while some index exists: without indexes writes pay nothing. */
  activate(on: boolean): void {
    if (on === this.watching) return;
    this.watching = on;
    const engine = this.engine;
    const store = this.store;
    if (!on) {
      store.unwatch();
      return;
    }
    store.watch({
      changed: (keys) => {
        if (!engine.active) return;
        for (const k of keys) if (engine.wants(k)) engine.changed(k, store.readHash(k));
      },
      flushed: () => {
        for (const ix of engine.indexes.values()) for (const k of [...ix.byKey.keys()]) ix.update(k, null);
      },
    });
  }

  async scan(visit: (key: string, fields: Map<string, Buffer>) => void, progress: (f: number) => void): Promise<void> {
    let cursor = 0;
    let seen = 0;
    do {
      const total = Math.max(1, this.store.dbsize());
      const keys: string[] = [];
      cursor = this.store.ks.scan(cursor, 1000, (k) => keys.push(k));
      for (const k of keys) {
        const h = this.store.readHash(k);
        if (h !== null) visit(k, h);
      }
      seen += keys.length;
      progress(Math.min(1, seen / total));
      // Yield between batches: a big keyspace is indexed in the background.
      if (cursor !== 0) await new Promise((r) => setImmediate(r));
    } while (cursor !== 0);
  }

  async deleteKeys(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 512) {
      this.store.execute([Buffer.from('DEL'), ...keys.slice(i, i + 512).map((k) => Buffer.from(k, 'latin1'))]);
    }
  }

  async sync(): Promise<void> {
    // Changes are applied synchronously after each command.
  }
}
