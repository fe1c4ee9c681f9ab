// Test certificates, made with openssl at test time in a temp dir (removed by cleanup()): a CA,
// server certificates for 127.0.0.1 / localhost signed by it, and a client certificate. Nothing
// private is committed. EC P-256 keys: quick to make.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertPair {
  readonly cert: string;
  readonly key: string;
}

export interface TestCerts {
  readonly dir: string;
  /** ca.crt: signs every certificate below. */
  readonly ca: string;
  /** A server certificate for IP 127.0.0.1 and DNS localhost. */
  readonly server: CertPair;
  /** A client certificate (extendedKeyUsage clientAuth). */
  readonly client: CertPair;
  /** A client certificate signed by another CA (must be refused). */
  readonly strangerClient: CertPair;
  /** Signs a new server certificate (a new key, so a new fingerprint) named `name` in dir. */
  newServerCert(name: string): CertPair;
  cleanup(): void;
}

const openssl = (args: string[], cwd: string): void => {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
};

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string): void {
  openssl(['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=dynomite-ts test ${name}`], dir);
}

let serial = 1;

function signed(dir: string, ca: string, name: string, cn: string, ext: string): CertPair {
  writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
  openssl(['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-set_serial', String(serial++),
    '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`], dir);
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

const SERVER_EXT = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth';
const CLIENT_EXT = 'extendedKeyUsage=clientAuth';

export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'dyn-tls-'));
  try {
    makeCa(dir, 'ca');
    makeCa(dir, 'other-ca');
    return {
      dir,
      ca: join(dir, 'ca.crt'),
      server: signed(dir, 'ca', 'server', 'localhost', SERVER_EXT),
      client: signed(dir, 'ca', 'client', 'dynomite-ts test client', CLIENT_EXT),
      strangerClient: signed(dir, 'other-ca', 'stranger', 'stranger', CLIENT_EXT),
      newServerCert: (name) => signed(dir, 'ca', name, 'localhost', SERVER_EXT),
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** SHA-256 fingerprint of a PEM certificate file, as node:tls reports it (`AB:CD:...`). */
export function fingerprint(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}
