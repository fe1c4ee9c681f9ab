// How peer links (and, for an embedding program, datastore and client links) reach each other. The default is TCP (node:net); an embedding program passes
// another PeerTransport (an in-process network, a TLS tunnel) and every dnode link, both the
// outbound PeerConn sockets and the inbound dnode listener, runs over it unchanged: a link only
// needs to be a Duplex byte stream that emits 'connect' once usable.
import { connect, createServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';

/** What the peer layer and the client layer need of a connection (node:net Socket is one). */
export interface LinkSocket extends Duplex {
  setNoDelay(noDelay?: boolean): this;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
}

export interface Address {
  host: string;
  port: number;
}

/** A bound listener: the port it got (port 0 asks for any) and how to stop it. */
export interface LinkListener {
  readonly port: number;
  /** Stops accepting; resolves once closed (open links are the caller's to destroy). */
  close(): Promise<void>;
}

/** Listens and connects for the dnode peer links. */
export interface PeerTransport {
  /** Accepts links at `at`; rejects when the address is taken. onError: a failure after binding. */
  listen(at: Address, onLink: (link: LinkSocket) => void, onError?: (err: Error) => void): Promise<LinkListener>;
  /** Opens a link to `to`: it emits `readyEvent` when usable, or 'error' then 'close'. */
  connect(to: Address): LinkSocket;
  /** The event that says a link is usable: 'connect', or 'secureConnect' for TLS (after the handshake). @default 'connect' */
  readonly readyEvent?: 'connect' | 'secureConnect';
}

/** TCP, as Netflix Dynomite's peers talk. */
export const TCP_TRANSPORT: PeerTransport = {
  connect: (to) => connect({ host: to.host, port: to.port }),
  listen(at, onLink, onError) {
    const server: Server = createServer((socket) => onLink(socket));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host, () => {
        server.off('error', reject);
        server.on('error', (err) => onError?.(err));
        const a = server.address();
        resolve({
          port: typeof a === 'object' && a ? a.port : at.port,
          close: () => new Promise<void>((done) => server.close(() => done())),
        });
      });
    });
  },
};
