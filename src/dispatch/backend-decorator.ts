// A Backend wrapped by another: the local datastore as the cluster dispatcher sees it passes
// through a chain of these (BlockUnwrap for DYNO_TX blocks, JournalBackend for the write journal,
// SearchBackend for FT.* from peers). Each changes forward() only; name, start, close and inflight
// are the wrapped backend's. `blocks` is each decorator's own decision (passed through, wrapped).
import type { Backend, BlockBackend, FramedRequest, ReplyTarget } from './request.js';

export abstract class BackendDecorator implements Backend {
  abstract readonly blocks: BlockBackend | undefined;

  constructor(protected readonly inner: Backend) {}

  get name(): string {
    return this.inner.name;
  }

  abstract forward(target: ReplyTarget, seq: number, req: FramedRequest, affinity: number): void;

  start(): Promise<void> {
    return this.inner.start();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  inflight(): number {
    return this.inner.inflight();
  }
}
