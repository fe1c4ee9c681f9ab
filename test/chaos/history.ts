// The history of a chaos run: every operation a writer sent, with when it was sent, when its
// outcome was known and what the outcome was. The checker judges the replicas against it.
//
//   ok       the node acknowledged it (+OK, :n for INCR and DEL): it must survive
//   fail     an error reply: not acknowledged, but it may have been applied on some replicas
//            (a DC_QUORUM write that reached one replica of three still changed that one)
//   unknown  no reply within the client's deadline, or the connection died after it was sent:
//            it may or may not have been applied, anywhere
//
// Values carry their key's sequence number (`s<seq>|...`), so a replica's value says which write
// it is, and whether it is older than the last acknowledged one.

export type OpKind = 'set' | 'incr' | 'del';
export type Outcome = 'ok' | 'fail' | 'unknown';

/** Which family a key belongs to: decides which invariants apply to it. */
export type KeyFamily = 'unique' | 'overwrite' | 'counter' | 'delete';

export interface Op {
  readonly kind: OpKind;
  readonly key: string;
  /** The SET value (set only). */
  readonly value?: string;
  /** The key's sequence number of this SET (set only; 1 for a key written once). */
  readonly seq?: number;
  readonly writer: number;
  /** The node index the writer sent it to. */
  readonly node: number;
  /** ms since the run's start: sent, and outcome known. */
  readonly t0: number;
  t1: number;
  outcome: Outcome;
  /** The reply, or what went wrong (`timeout after 3000 ms`, `connection closed`). */
  reply: string;
}

export function familyOf(key: string): KeyFamily {
  const f = key.split(':')[1];
  if (f === 'u') return 'unique';
  if (f === 'o') return 'overwrite';
  if (f === 'c') return 'counter';
  if (f === 'd') return 'delete';
  throw new Error(`chaos key ${JSON.stringify(key)} names no family (want <scenario>:u|o|c|d:...)`);
}

export function valueOf(seq: number, writer: number, key: string): string {
  return `s${seq}|w${writer}|${key}`;
}

/** The sequence number a stored value carries, or NaN when it is not one of ours. */
export function seqOf(value: string): number {
  const m = /^s(\d+)\|/.exec(value);
  return m ? Number(m[1]) : NaN;
}

export class History {
  readonly ops: Op[] = [];
  readonly started = Date.now();

  now(): number {
    return Date.now() - this.started;
  }

  begin(o: Omit<Op, 't0' | 't1' | 'outcome' | 'reply'>): Op {
    const op: Op = { ...o, t0: this.now(), t1: -1, outcome: 'unknown', reply: '' };
    this.ops.push(op);
    return op;
  }

  end(op: Op, outcome: Outcome, reply: string): void {
    op.t1 = this.now();
    op.outcome = outcome;
    op.reply = reply;
  }

  /** Every key the run touched, in first-touch order. */
  keys(): string[] {
    return [...new Set(this.ops.map((o) => o.key))];
  }

  byKey(): Map<string, Op[]> {
    const m = new Map<string, Op[]>();
    for (const o of this.ops) {
      const l = m.get(o.key);
      if (l) l.push(o);
      else m.set(o.key, [o]);
    }
    return m;
  }

  /** Acknowledged writes (every kind). */
  acknowledged(): number {
    return this.ops.filter((o) => o.outcome === 'ok').length;
  }
}
