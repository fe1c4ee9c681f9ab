// The chaos suite's writers: each one a single connection sending one command at a time (so its
// own operations are ordered in real time), to one node of its list, moving to the next node when
// its node stops answering. Every operation goes into the History with its outcome.
//
// Key families (prefix `<scenario>:`): `u:` unique keys written once; `o:` keys each writer owns and
// overwrites with increasing sequence numbers; `c:` counters every writer INCRs; `d:` keys SET and,
// once that was acknowledged, DELeted (and never written again).
import { cmd, RawClient } from '../helpers/resp-client.js';
import { Prng } from '../helpers/prng.js';
import { History, valueOf, type Op, type OpKind } from './history.js';

export interface WorkloadOptions {
  readonly prefix: string;
  readonly writers: number;
  /** Client ports of the nodes, by node index (a function: a restarted node has a new port). */
  readonly port: (node: number) => number;
  /** The nodes writer w may use, first choice first. */
  readonly nodesFor: (writer: number) => readonly number[];
  /** A reply that does not come within this is `unknown`. */
  readonly opTimeoutMs: number;
  /** Overwritten keys per writer, shared counters. */
  readonly overwriteKeys?: number;
  readonly counters?: number;
  readonly seed?: number;
}

export class Workload {
  private stopping = false;
  private readonly loops: Promise<void>[] = [];
  readonly counters: number;
  readonly overwriteKeys: number;

  constructor(readonly history: History, private readonly o: WorkloadOptions) {
    this.counters = o.counters ?? 8;
    this.overwriteKeys = o.overwriteKeys ?? 16;
  }

  start(): void {
    for (let w = 0; w < this.o.writers; w++) this.loops.push(this.writer(w));
  }

  /** Stops sending new operations; resolves when every writer's last operation has its outcome. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  private async writer(w: number): Promise<void> {
    const rnd = new Prng((this.o.seed ?? 1) * 7919 + w + 1);
    const nodes = this.o.nodesFor(w);
    let choice = 0;
    let conn: { client: RawClient; node: number } | undefined;
    const seqs = new Array<number>(this.overwriteKeys).fill(0);
    let unique = 0;
    let deleted = 0;
    const send = async (kind: OpKind, key: string, args: string[], value?: string, seq?: number): Promise<Op | undefined> => {
      while (!conn) {
        if (this.stopping) return undefined;
        const node = nodes[choice % nodes.length]!;
        try {
          conn = { client: await RawClient.connect(this.o.port(node)), node };
        } catch {
          choice++;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      const op = this.history.begin({ kind, key, value, seq, writer: w, node: conn.node });
      conn.client.write(cmd(...args));
      try {
        const reply = (await conn.client.replies(1, this.o.opTimeoutMs))[0]!.toString('latin1');
        const ok = kind === 'set' ? reply === '+OK\r\n' : /^:-?\d+\r\n$/.test(reply);
        this.history.end(op, ok ? 'ok' : reply.startsWith('-') ? 'fail' : 'unknown', reply.trimEnd().slice(0, 160));
      } catch (err) {
        // No reply: the command may have been applied. The connection is dropped (a late reply
        // would be taken for the next command's) and the next node of the list is tried.
        this.history.end(op, 'unknown', `${(err as Error).message} from node ${conn.node}`);
        conn.client.close();
        conn = undefined;
        choice++;
      }
      return op;
    };
    while (!this.stopping) {
      const p = this.o.prefix;
      const r = rnd.int(100);
      if (r < 45) {
        const key = `${p}:u:w${w}:${unique++}`;
        await send('set', key, ['SET', key, valueOf(1, w, key)], valueOf(1, w, key), 1);
      } else if (r < 70) {
        const j = rnd.int(this.overwriteKeys);
        const key = `${p}:o:w${w}:${j}`;
        const seq = ++seqs[j]!;
        await send('set', key, ['SET', key, valueOf(seq, w, key)], valueOf(seq, w, key), seq);
      } else if (r < 85) {
        const key = `${p}:c:${rnd.int(this.counters)}`;
        await send('incr', key, ['INCR', key]);
      } else {
        const key = `${p}:d:w${w}:${deleted++}`;
        const set = await send('set', key, ['SET', key, valueOf(1, w, key)], valueOf(1, w, key), 1);
        if (set?.outcome === 'ok' && !this.stopping) await send('del', key, ['DEL', key]);
      }
    }
    conn?.client.close();
  }
}
