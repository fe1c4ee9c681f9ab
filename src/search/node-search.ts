// The search layer of a running node: decodes FT.* requests the client connection hands over (the
// only search code the request path touches is one flag test there), runs them on the engine, and
// answers in the request's reply slot. Each node indexes its own datastore through a DocSource.
import type { Logger } from 'pino';
import type { Core } from '../wasm/core.js';
import type { FramedRequest, ReplyTarget } from '../dispatch/request.js';
import { decodeInline, decodeMultibulk } from '../protocol/args.js';
import { SearchEngine, type DocSource } from './engine.js';
import { encode, ReplyErr } from './reply.js';
import { respErrorText } from '../errors.js';

export interface SearchHandler {
  handle(target: ReplyTarget, seq: number, req: FramedRequest): void;
}

export class NodeSearch implements SearchHandler {
  readonly engine: SearchEngine;

  constructor(private readonly core: Core, private readonly log: Logger, engine?: SearchEngine) {
    this.engine = engine ?? new SearchEngine();
  }

  attach(source: DocSource): void {
    this.engine.attach(source);
  }

  handle(target: ReplyTarget, seq: number, req: FramedRequest): void {
    const u8 = this.core.u8;
    const args = req.inline ? decodeInline(u8, req.off, req.len) : decodeMultibulk(u8, req.off, req.len);
    if (!args || args.length === 0) {
      target.completeBuffer(seq, respErrorText('Protocol error: bad inline request'));
      return;
    }
    this.engine.execute(args).then(
      (r) => target.completeBuffer(seq, encode(r)),
      (e: Error) => {
        this.log.error({ err: e.message }, 'search command failed');
        target.completeBuffer(seq, encode(new ReplyErr(`ERR Search: ${e.message}`)));
      },
    );
  }
}
