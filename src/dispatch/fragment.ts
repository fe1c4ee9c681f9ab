// Multi-key requests across owners (CF_FRAGMENT commands: MGET, MSET, DEL, UNLINK, EXISTS, TOUCH,
// memcached get/gets/gat/gats) are split into one sub-request per owner group (each replicated and coalesced
// like a single-key request), and the replies merged back by the command table's merge column
// (MG_*, `CommandInfo.merge`, `mcMergePolicies`):
//   MG_ARRAY -> one array in key order; MG_SUM -> the sum; MG_ALL_OK -> +OK only if every fragment
//   said +OK; MG_MC_VALUES -> the VALUE items in key order, then END.
// The first error reply (in fragment order) wins over everything.
import type { ReplyTarget } from './request.js';
import type { DynErrorCode } from '../errors.js';
import { respError, mcError } from '../errors.js';
import { arrayElements, MC_END, mcItems, REPLY_OK } from '../protocol/replies.js';
import { ABI } from '../wasm/abi.js';

/** An MG_* merge policy other than MG_NONE. */
export type MergePolicy = typeof ABI.MG_ARRAY | typeof ABI.MG_SUM | typeof ABI.MG_ALL_OK | typeof ABI.MG_MC_VALUES;

/** Collects the replies of one fragmented request and answers its client slot once. */
export class FragmentedRequest implements ReplyTarget {
  private readonly replies: (Buffer | undefined)[];
  private readonly errors: (DynErrorCode | undefined)[];
  private pending: number;

  constructor(
    private readonly target: ReplyTarget,
    private readonly seq: number,
    private readonly policy: MergePolicy,
    /** For each fragment, the original key positions of its keys, in order. */
    private readonly keysOf: readonly number[][],
    private readonly totalKeys: number,
  ) {
    this.replies = new Array<Buffer | undefined>(keysOf.length);
    this.errors = new Array<DynErrorCode | undefined>(keysOf.length);
    this.pending = keysOf.length;
  }

  complete(i: number, src: Uint8Array, off: number, len: number): void {
    this.replies[i] = Buffer.from(src.subarray(off, off + len));
    this.done();
  }

  completeBuffer(i: number, b: Buffer): void {
    this.replies[i] = b;
    this.done();
  }

  fail(i: number, code: DynErrorCode): void {
    this.errors[i] = code;
    this.done();
  }

  private done(): void {
    if (--this.pending > 0) return;
    const mc = this.policy === ABI.MG_MC_VALUES;
    for (let i = 0; i < this.keysOf.length; i++) {
      const e = this.errors[i];
      if (e) return this.target.completeBuffer(this.seq, mc ? mcError(e) : respError(e));
      const r = this.replies[i]!;
      if (mc ? !isMcValue(r) && !r.equals(MC_END) : r[0] === 45 /* '-' */) {
        return this.target.completeBuffer(this.seq, r);
      }
    }
    this.target.completeBuffer(this.seq, this.merge());
  }

  private merge(): Buffer {
    switch (this.policy) {
      case ABI.MG_SUM: {
        let sum = 0;
        for (const r of this.replies) sum += Number(r!.toString('latin1', 1, r!.length - 2));
        return Buffer.from(`:${sum}\r\n`);
      }
      case ABI.MG_ALL_OK:
        for (const r of this.replies) if (!r!.equals(REPLY_OK)) return r!;
        return REPLY_OK;
      case ABI.MG_ARRAY: {
        const items = new Array<Buffer>(this.totalKeys);
        for (let f = 0; f < this.replies.length; f++) {
          const spans = arrayElements(this.replies[f]!);
          const keys = this.keysOf[f]!;
          if (spans.length !== keys.length) return respError('DYN_ERR_QUORUM');
          for (let k = 0; k < keys.length; k++) items[keys[k]!] = spans[k]!;
        }
        return Buffer.concat([Buffer.from(`*${this.totalKeys}\r\n`), ...items]);
      }
      case ABI.MG_MC_VALUES: {
        // Items are self-describing (VALUE <key> ...): collect them by key, then emit them in the
        // client's key order (a key asked twice gets its item twice only if it came back twice).
        const byKey = new Map<string, Buffer[]>();
        for (const r of this.replies) {
          for (const item of mcItems(r!)) {
            const key = item.toString('latin1', 6, item.indexOf(32, 6));
            const list = byKey.get(key);
            if (list) list.push(item);
            else byKey.set(key, [item]);
          }
        }
        const out: Buffer[] = [];
        for (const key of this.keyNames ?? []) {
          const list = byKey.get(key);
          if (list && list.length > 0) out.push(list.shift()!);
        }
        out.push(MC_END);
        return Buffer.concat(out);
      }
    }
  }

  /** Memcached merges need the key names in client order (set by the dispatcher). */
  keyNames: string[] | undefined;
}

/** A memcached `VALUE ...` item starts the reply. */
function isMcValue(r: Buffer): boolean {
  return r.length >= 6 && r.toString('latin1', 0, 6) === 'VALUE ';
}
