// A fault-injecting TCP relay for one directed dnode link (node A's peer connections to node B):
// A's dyn_seeds name the relay's port, the relay forwards to B's dyn_listen. The chaos suite puts
// one relay on every ordered pair of nodes so a nemesis can cut, stall or slow exactly the links
// between two racks while every other link stays untouched.
//
//   pass   bytes flow both ways at once
//   cut    every open connection is reset and new ones are reset on accept: a partition the
//          sender sees at once (refused / reset), as a dropped route with RSTs would look
//   stall  connections stay open but nothing is forwarded (both ways) until the mode changes:
//          a black hole that only timeouts detect; the held bytes are delivered on `pass`
//   slow   every chunk is delivered `delayMs` later, in order (a long, thin link)
import { createServer, connect, type Server, type Socket } from 'node:net';

export type LinkMode = { kind: 'pass' } | { kind: 'cut' } | { kind: 'stall' } | { kind: 'slow'; delayMs: number };

interface Pipe {
  readonly a: Socket;
  readonly b: Socket;
  /** Chunks held while stalled (direction: 'ab' client to target, 'ba' back). */
  readonly held: { dir: 'ab' | 'ba'; chunk: Buffer }[];
  /** Per direction, when the last delayed chunk is due: keeps a slow link's order. */
  readonly due: { ab: number; ba: number };
}

export class Relay {
  private server?: Server;
  private readonly pipes = new Set<Pipe>();
  private mode: LinkMode = { kind: 'pass' };
  /** Bytes forwarded, both directions: a cut that still forwards would show here. */
  forwarded = 0;

  constructor(readonly name: string, private readonly targetPort: number) {}

  get port(): number {
    const a = this.server?.address();
    if (!a || typeof a !== 'object') throw new Error(`relay ${this.name} is not listening`);
    return a.port;
  }

  /** Listens on `port` (0: a free one the kernel picks). */
  listen(port = 0): Promise<void> {
    const server = createServer((a) => this.accept(a));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  }

  setMode(mode: LinkMode): void {
    this.mode = mode;
    if (mode.kind === 'cut') {
      for (const p of this.pipes) this.drop(p);
      return;
    }
    if (mode.kind === 'stall') return;
    // Leaving a stall: what was held goes out first, in order, at the new mode's pace.
    for (const p of this.pipes) {
      const held = p.held.splice(0);
      for (const h of held) this.forward(p, h.dir, h.chunk);
    }
  }

  getMode(): LinkMode {
    return this.mode;
  }

  private accept(a: Socket): void {
    if (this.mode.kind === 'cut') {
      a.resetAndDestroy();
      return;
    }
    const b = connect({ host: '127.0.0.1', port: this.targetPort });
    const p: Pipe = { a, b, held: [], due: { ab: 0, ba: 0 } };
    this.pipes.add(p);
    a.setNoDelay(true);
    b.setNoDelay(true);
    a.on('data', (c: Buffer) => this.forward(p, 'ab', c));
    b.on('data', (c: Buffer) => this.forward(p, 'ba', c));
    const end = () => this.drop(p);
    a.on('error', end).on('close', end);
    b.on('error', end).on('close', end);
  }

  private forward(p: Pipe, dir: 'ab' | 'ba', chunk: Buffer): void {
    if (!this.pipes.has(p)) return;
    const m = this.mode;
    if (m.kind === 'cut') return;
    if (m.kind === 'stall') {
      p.held.push({ dir, chunk });
      return;
    }
    const out = dir === 'ab' ? p.b : p.a;
    if (m.kind === 'pass') {
      this.forwarded += chunk.length;
      out.write(chunk);
      return;
    }
    const at = Math.max(Date.now() + m.delayMs, p.due[dir]);
    p.due[dir] = at;
    setTimeout(() => {
      if (!this.pipes.has(p)) return;
      this.forwarded += chunk.length;
      out.write(chunk);
    }, at - Date.now());
  }

  private drop(p: Pipe): void {
    if (!this.pipes.delete(p)) return;
    p.a.resetAndDestroy();
    p.b.resetAndDestroy();
  }

  /** Connections open through the relay now. */
  get connections(): number {
    return this.pipes.size;
  }

  async close(): Promise<void> {
    for (const p of this.pipes) this.drop(p);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
