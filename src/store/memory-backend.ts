// The embedded datastore as a Backend: requests are decoded into arguments and answered
// synchronously by the in-process MemoryStore (no socket, no datastore to run).
import type { Core } from '../wasm/core.js';
import { decodeInline, decodeMultibulk } from '../protocol/args.js';
import { respErrorText } from '../errors.js';
import { MemoryStore, StoreClient } from './memory/index.js';
import type { Backend, BlockBackend, FramedRequest, ReplyTarget } from '../dispatch/request.js';
import { NO_REPLY } from '../protocol/replies.js';

export class MemoryBackend implements Backend, BlockBackend {
  readonly name = 'memory';
  private sweeper: NodeJS.Timeout | undefined;
  /** Transaction state of the clients that WATCH (by affinity): the store's per-connection state. */
  private readonly clients = new Map<number, StoreClient>();
  readonly blocks: BlockBackend | undefined;

  constructor(
    private readonly core: Core,
    private readonly protocol: 'redis' | 'memcache',
    readonly store: MemoryStore = new MemoryStore(),
  ) {
    this.blocks = protocol === 'redis' ? this : undefined;
  }

  async start(): Promise<void> {
    // Active expiry in small bounded steps, as Redis's activeExpireCycle does.
    this.sweeper = setInterval(() => this.store.sweep(2), 100);
    this.sweeper.unref();
  }

  inflight(): number {
    return 0;
  }

  forward(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number): void {
    const reply = this.protocol === 'redis' ? this.executeRedis(req, affinity) : this.executeMemcache(req);
    target.completeBuffer(seq, req.expectReply ? reply : NO_REPLY);
  }

  private executeRedis(req: FramedRequest, affinity: number): Buffer {
    const u8 = this.core.u8;
    const args = req.inline ? decodeInline(u8, req.off, req.len) : decodeMultibulk(u8, req.off, req.len);
    if (!args || args.length === 0) return respErrorText('Protocol error: bad inline request');
    return this.store.execute(args, this.clients.size > 0 ? this.clients.get(affinity) : undefined);
  }

  // ---- BlockBackend: the block runs synchronously, so nothing can come between its commands ----

  forwardBlock(target: ReplyTarget, seq: number, block: readonly Buffer[], affinity: number): void {
    const client = this.clients.get(affinity) ?? new StoreClient();
    let reply: Buffer = NO_REPLY;
    for (const req of block) reply = this.store.execute(decodeMultibulk(req, 0, req.length), client);
    target.completeBuffer(seq, reply);
  }

  pin(affinity: number): string | undefined {
    if (!this.clients.has(affinity)) this.clients.set(affinity, new StoreClient());
    return undefined;
  }

  unpin(affinity: number): void {
    const c = this.clients.get(affinity);
    if (c === undefined) return;
    c.unwatch(this.store.ks);
    this.clients.delete(affinity);
  }

  pinned(): number {
    return this.clients.size;
  }

  private executeMemcache(req: FramedRequest): Buffer {
    const u8 = this.core.u8;
    const end = req.off + req.len;
    let eol = req.off;
    while (eol < end && u8[eol] !== 10) eol++;
    const lineEnd = eol > req.off && u8[eol - 1] === 13 ? eol - 1 : eol;
    const line = Buffer.from(u8.subarray(req.off, lineEnd));
    const tokens: Buffer[] = [];
    let p = 0;
    while (p < line.length) {
      while (p < line.length && line[p] === 32) p++;
      const s = p;
      while (p < line.length && line[p] !== 32) p++;
      if (p > s) tokens.push(line.subarray(s, p));
    }
    const verb = tokens.length > 0 ? tokens[0].toString('latin1') : '';
    const dataStart = eol + 1;
    const data = dataStart < end ? Buffer.from(u8.subarray(dataStart, end - 2)) : undefined;
    return this.store.executeMemcache(verb, tokens.slice(1), data);
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
  }
}
