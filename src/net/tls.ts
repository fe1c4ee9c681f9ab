// TLS with node:tls, configured by files as Redis is (tls-cert-file, tls-key-file, tls-ca-cert-file):
// the client listener on `tls_port`, connections to a TLS datastore (`datastore_tls`). The PEM files
// are read at start-up and again on reload (SIGHUP in the CLI, RunningNode.reloadTls() in the
// library): a reload that fails (a missing file, a key that does not match its certificate) throws
// and keeps the material in use, so a half-copied certificate never takes the node down.
//
// A TLSSocket is a net.Socket: it delivers decrypted Buffers through 'data', so ClientConn and
// ServerConn run over it unchanged.
import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import {
  createSecureContext,
  createServer as createTlsServer,
  type ConnectionOptions,
  type SecureContextOptions,
  type TLSSocket,
} from 'node:tls';

/** tls_auth_clients: client certificates required, not asked for, or checked when presented. */
export type TlsAuthClients = 'yes' | 'no' | 'optional';

/** PEM files; each path is named in errors by the config key that set it. */
export interface TlsFiles {
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly caCertFile?: string;
}

/** The config keys of each file, for error messages. */
export interface TlsKeyNames {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

export const LISTENER_KEYS: TlsKeyNames = { cert: 'tls_cert_file', key: 'tls_key_file', ca: 'tls_ca_cert_file' };
export const DATASTORE_KEYS: TlsKeyNames = { cert: 'datastore_tls_cert_file', key: 'datastore_tls_key_file', ca: 'datastore_tls_ca_cert_file' };

export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';
}

function readPem(key: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new TlsConfigError(`${key} ${path}: cannot read: ${why}`);
  }
}

/** The certificate, key and CA in use; re-read by reload(). */
export class TlsMaterial {
  private pem: SecureContextOptions;

  constructor(
    readonly files: TlsFiles,
    private readonly names: TlsKeyNames,
  ) {
    this.pem = this.read();
  }

  /** What node:tls takes (cert, key, ca). */
  get options(): SecureContextOptions {
    return this.pem;
  }

  /** Reads the files again; throws TlsConfigError and keeps the old material when they are bad. */
  reload(): void {
    this.pem = this.read();
  }

  private read(): SecureContextOptions {
    const { names, files } = this;
    if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
      throw new TlsConfigError(`${names.cert} and ${names.key} go together: set both or neither`);
    }
    const pem = {
      cert: readPem(names.cert, files.certFile),
      key: readPem(names.key, files.keyFile),
      ca: readPem(names.ca, files.caCertFile),
    };
    try {
      createSecureContext(pem); // a bad PEM or a key that is not the certificate's fails here, not per connection
    } catch (err) {
      const which = files.certFile === undefined ? `${names.ca} ${files.caCertFile}` : `${names.cert} ${files.certFile} / ${names.key} ${files.keyFile}`;
      throw new TlsConfigError(`${which}: ${(err as Error).message}`);
    }
    return pem;
  }
}

export interface TlsListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly backlog: number;
  readonly material: TlsMaterial;
  readonly authClients: TlsAuthClients;
  readonly onSocket: (socket: TLSSocket) => void;
  /** A handshake that failed (no or bad client certificate, not TLS at all...). */
  readonly onHandshakeError?: (err: Error, remoteAddress: string | undefined) => void;
}

export interface TlsListener {
  readonly server: Server;
  /** The port bound (the real one for port 0). */
  readonly port: number;
  /** Installs the material's current certificate for new connections. */
  reload(): void;
}

/** The TLS client listener (`tls_port`). */
export async function listenTls(o: TlsListenerOptions): Promise<TlsListener> {
  const server = createTlsServer({
    ...o.material.options,
    requestCert: o.authClients !== 'no',
    // `optional`: no certificate is fine, a presented one must verify (checked per connection below).
    rejectUnauthorized: o.authClients === 'yes',
    noDelay: true,
  }, (socket) => {
    if (o.authClients === 'optional' && !socket.authorized && Object.keys(socket.getPeerCertificate()).length > 0) {
      o.onHandshakeError?.(new Error(`client certificate rejected: ${String(socket.authorizationError)}`), socket.remoteAddress);
      socket.destroy();
      return;
    }
    o.onSocket(socket);
  });
  server.on('tlsClientError', (err, socket) => o.onHandshakeError?.(err, socket.remoteAddress));
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(new Error(`tls_port ${o.host}:${o.port}: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen({ host: o.host, port: o.port, backlog: o.backlog }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : o.port,
    reload: () => server.setSecureContext(o.material.options),
  };
}

/** How to open a TLS connection to the datastore: built per connection, so a reload applies to the next one. */
export function datastoreTlsOptions(material: TlsMaterial, serverName: string | undefined): () => ConnectionOptions {
  return () => ({ ...material.options, ...(serverName !== undefined ? { servername: serverName } : {}) });
}
