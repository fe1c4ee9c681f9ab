// An in-process network: peer links between nodes of one program as pairs of in-memory streams,
// no sockets. It is also the membership source: every node created on it is a seed of the others,
// so a whole cluster runs in one process with a few lines of user code.
import { Duplex } from 'node:stream';
import type { LinkSocket, LinkListener, PeerTransport, Address } from '../net/transport.js';
import type { PeerSpec } from '../route/topology.js';

/** One end of an in-memory link. Bytes written arrive at the other end on a later event-loop turn, as over TCP. */
export class MemoryLink extends Duplex implements LinkSocket {
  other: MemoryLink | undefined;
  readonly remoteAddress: string;
  readonly remotePort: number;

  constructor(remote: Address) {
    super({ allowHalfOpen: false });
    this.remoteAddress = remote.host;
    this.remotePort = remote.port;
  }

  setNoDelay(): this {
    return this;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const other = this.other;
    if (!other || other.destroyed) return done(new Error('link closed'));
    setImmediate(() => {
      if (!other.destroyed) other.push(chunk);
      done();
    });
  }

  override _final(done: (err?: Error | null) => void): void {
    const other = this.other;
    setImmediate(() => {
      if (other && !other.destroyed) other.push(null);
      done();
    });
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    const other = this.other;
    this.other = undefined;
    if (other && !other.destroyed) setImmediate(() => other.destroy());
    done(err);
  }
}

/** Two connected ends: `a` is the connecting side, `b` the accepted one. */
export function memoryLinkPair(from: Address, to: Address): { a: MemoryLink; b: MemoryLink } {
  const a = new MemoryLink(to);
  const b = new MemoryLink(from);
  a.other = b;
  b.other = a;
  return { a, b };
}

/** A node as the network knows it (its dyn address and ring placement). */
export interface NetworkMember extends PeerSpec {}

let clientPorts = 40000;

/** Peer links and membership for nodes in one process. */
export class InProcessNetwork implements PeerTransport {
  private readonly listeners = new Map<string, (link: LinkSocket) => void>();
  private readonly members = new Map<string, NetworkMember>();
  private nextHost = 1;

  /** A fresh dyn_listen address on this network (`node-N`, port 8101). */
  allocate(): Address {
    return { host: `node-${this.nextHost++}`, port: 8101 };
  }

  /** Makes a node known to the others (createNode does this). */
  join(member: NetworkMember): void {
    this.members.set(key(member), member);
  }

  leave(at: Address): void {
    this.members.delete(key(at));
  }

  /** Every member except `self`: the seeds of `self`. */
  seedsOf(self: Address): PeerSpec[] {
    return [...this.members.values()].filter((m) => key(m) !== key(self));
  }

  listen(at: Address, onLink: (link: LinkSocket) => void): Promise<LinkListener> {
    const k = key(at);
    if (this.listeners.has(k)) return Promise.reject(new Error(`${k} is already listening on this network`));
    this.listeners.set(k, onLink);
    return Promise.resolve({
      port: at.port,
      close: async () => {
        if (this.listeners.get(k) === onLink) this.listeners.delete(k);
      },
    });
  }

  connect(to: Address): LinkSocket {
    const from = { host: 'in-process', port: clientPorts++ };
    const { a, b } = memoryLinkPair(from, to);
    setImmediate(() => {
      const accept = this.listeners.get(key(to));
      if (!accept) {
        const err = Object.assign(new Error(`connect ECONNREFUSED ${key(to)}`), { code: 'ECONNREFUSED' });
        a.destroy(err);
        b.destroy();
        return;
      }
      accept(b);
      a.emit('connect');
    });
    return a;
  }
}

function key(a: Address): string {
  return `${a.host}:${a.port}`;
}
