// dnode peer encryption, wire-compatible with Netflix Dynomite (src/dyn_crypto.c, dyn_dnode_msg.c).
//
// What Netflix does (and what this module reproduces, byte for byte):
//
//   pem_key_file ──► RSA private key (PEM_read_RSAPrivateKey); every node holds the SAME key pair:
//                    the public half wraps, the private half unwraps.
//   AES key      ──► 32 random bytes per outbound connection (AES_KEYLEN = 32), but the cipher is
//                    EVP_aes_128_cbc: only key[0..16) is used, and the IV is the key itself
//                    (EVP_EncryptInit_ex(ctx, aes_128_cbc, NULL, key, key)), PKCS#7 padding
//                    (set_padding(ctx, RSA_NO_PADDING) passes 3, i.e. "on").
//   key wrap     ──► RSA_public_encrypt(32 bytes, OAEP (SHA-1, MGF1-SHA-1)) = rsa_size bytes.
//
//   first message on a secured link:  "... <type> 1 1 <same_dc> *<rsa_size> <wrapped key> *<len>\r\n" + AES(payload)
//   every later message:              "... <type> 1 1 <same_dc> *1 d *<len>\r\n" + AES(payload)
//   replies on that connection:       flags 1, "*1 d", payload AES'd with the key the requester sent.
//
// AES(payload) is not one CBC stream: Netflix encrypts each mbuf of a message on its own
// (dyn_aes_encrypt_msg: a fresh EVP_EncryptInit_ex, key = IV, PKCS#7 per mbuf), requests and
// replies alike, and <len> is the sum of the pieces. A message read from a socket fills its mbufs
// to mbuf->end, mbuf_size - 64 bytes (the 64-byte struct mbuf and a 16-byte spare region sit in the
// mbuf_size + 16-byte chunk), so the pieces are:
//
//   plaintext  | 16320 | 16320 | ... | rest (0..16320, never empty unless the payload is) |
//   ciphertext | 16336 | 16336 | ... | rest rounded up to the next multiple of 16          |
//
// The receiver (msg_recv_chain) reads ciphertext into an mbuf until it holds mbuf_size - 48 bytes
// (mbuf->end_extra) or the payload ends, and decrypts each such mbuf as one stream: it cuts the
// payload into fixed pieces of mbuf_size - 48 bytes from the payload start, the last one being what
// is left. Both figures come from each node's own mbuf_size (16384 by default), so peers must agree
// on it; AesChunking below holds them.
//
// Netflix quirk we must respect when WE generate keys: its receiver copies the unwrapped key with
// strncpy(dst, buf, strlen(buf)), so a key holding a zero byte is cut short there. Our keys have
// no zero byte (each byte is drawn from 1..255). Keys we receive are used exactly as sent.
//
// Everything here is pure (no sockets, no core memory); errors are DnodeCryptoError, never a crash.
import { constants, createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DnodeRecords } from '../wasm/dnode.js';

/** Netflix AES_KEYLEN: the bytes generated, wrapped and sent (only the first 16 key the cipher). */
export const AES_KEY_LEN = 32;
/** AES block size: ciphertexts are a positive multiple of it (PKCS#7 always pads). */
export const AES_BLOCK = 16;

export type SecureServerOption = 'none' | 'rack' | 'datacenter' | 'all';

export class DnodeCryptoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DnodeCryptoError';
  }
}

/** The node's RSA key pair (from pem_key_file). */
export interface DnodeKeys {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** RSA_size: bytes of a wrapped key (128 for a 1024-bit key). */
  readonly rsaSize: number;
  /** The absolute path the key came from (for messages). */
  readonly file: string;
}

/**
 * Loads pem_key_file (an RSA private key, PKCS#1 or PKCS#8 PEM). A relative path resolves against
 * the working directory, as Netflix's fopen() does (its default is `conf/dynomite.pem`). Throws a
 * DnodeCryptoError naming the file and the config key when it is missing or not an RSA private key.
 */
export function loadPemKey(file: string, cwd: string = process.cwd()): DnodeKeys {
  const path = resolve(cwd, file);
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw new DnodeCryptoError(`pem_key_file ${file} (${path}) cannot be read: ${(err as Error).message}`);
  }
  return keysFromPem(pem, path, file);
}

/** Parses a PEM private key already in memory (loadPemKey without the file system). */
export function keysFromPem(pem: Buffer | string, path = '<memory>', shown = path): DnodeKeys {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new DnodeCryptoError(`pem_key_file ${shown} (${path}) is not a PEM private key: ${(err as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw new DnodeCryptoError(`pem_key_file ${shown} (${path}) holds a ${privateKey.asymmetricKeyType ?? 'non-RSA'} key; Netflix dynomite needs an RSA key`);
  }
  const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  // OAEP-SHA1 needs 2*20+2 bytes of overhead around the 32-byte AES key.
  if (bits < 8 * (AES_KEY_LEN + 42)) {
    throw new DnodeCryptoError(`pem_key_file ${shown} (${path}): a ${bits}-bit RSA key is too small to wrap a ${AES_KEY_LEN}-byte AES key`);
  }
  return { privateKey, publicKey: createPublicKey(privateKey), rsaSize: Math.ceil(bits / 8), file: path };
}

/** A fresh 32-byte AES key with no zero byte (see the strncpy quirk above). */
export function generateAesKey(): Buffer {
  const key = randomBytes(AES_KEY_LEN);
  for (let i = 0; i < AES_KEY_LEN; i++) {
    while (key[i] === 0) key[i] = randomBytes(1)[0]!;
  }
  return key;
}

function checkKey(key: Uint8Array): void {
  if (key.length < AES_BLOCK) throw new DnodeCryptoError(`AES key too short: ${key.length} bytes`);
}

/** AES-128-CBC, key = IV = key[0..16), PKCS#7: Netflix dyn_aes_encrypt. Output is 16..len+16 bytes. */
export function aesEncrypt(key: Uint8Array, plain: Uint8Array): Buffer {
  checkKey(key);
  const k = key.subarray(0, AES_BLOCK);
  const c = createCipheriv('aes-128-cbc', k, k);
  return Buffer.concat([c.update(plain), c.final()]);
}

/** Inverse of aesEncrypt; throws DnodeCryptoError on a length that is not a block multiple or bad padding. */
export function aesDecrypt(key: Uint8Array, cipher: Uint8Array): Buffer {
  checkKey(key);
  if (cipher.length === 0 || cipher.length % AES_BLOCK !== 0) {
    throw new DnodeCryptoError(`encrypted payload of ${cipher.length} bytes is not a positive multiple of ${AES_BLOCK}`);
  }
  const k = key.subarray(0, AES_BLOCK);
  try {
    const d = createDecipheriv('aes-128-cbc', k, k);
    return Buffer.concat([d.update(cipher), d.final()]);
  } catch (err) {
    throw new DnodeCryptoError(`encrypted payload does not decrypt (wrong AES key or corrupt data): ${(err as Error).message}`);
  }
}

/** Netflix MBUF_HSIZE (sizeof(struct mbuf) on a 64-bit build) and MBUF_ESIZE (the spare region). */
const NETFLIX_MBUF_HSIZE = 64;
const NETFLIX_MBUF_ESIZE = 16;

/** How an encrypted payload is cut into AES streams (see the top of this file). */
export interface AesChunking {
  /** Plaintext bytes per stream: the data of one full Netflix mbuf, mbuf_size - 64. */
  readonly plain: number;
  /** Ciphertext bytes per stream, where a receiver cuts the payload: mbuf_size - 48 (plain + 16). */
  readonly cipher: number;
}

/** The chunking of a node whose mbuf_size is `mbufSize` (512..512000, a multiple of 16). */
export function aesChunking(mbufSize = 16384): AesChunking {
  if (!Number.isInteger(mbufSize) || mbufSize % AES_BLOCK !== 0 || mbufSize < 512) {
    throw new DnodeCryptoError(`mbuf_size ${mbufSize} cannot frame encrypted payloads: it must be a multiple of 16, at least 512`);
  }
  const cipher = mbufSize + NETFLIX_MBUF_ESIZE - NETFLIX_MBUF_HSIZE;
  return { plain: cipher - AES_BLOCK, cipher };
}

/** Netflix's default mbuf_size (16384): 16320-byte plaintext pieces, 16336-byte ciphertext pieces. */
export const DEFAULT_AES_CHUNKING = aesChunking(16384);

/** Ciphertext length of a `plainLen`-byte payload: every piece padded to a whole block, 1..16 bytes. */
export function aesCipherLength(plainLen: number, ch: AesChunking = DEFAULT_AES_CHUNKING): number {
  const full = Math.floor(plainLen / ch.plain);
  const rest = plainLen - full * ch.plain;
  if (rest === 0 && full > 0) return full * ch.cipher;
  return full * ch.cipher + (Math.floor(rest / AES_BLOCK) + 1) * AES_BLOCK;
}

/** Where encrypted pieces go (an OutBuffer: it copies what it is given). */
export interface CipherSink {
  appendBuffer(b: Buffer): void;
}

/**
 * Encrypts a payload as Netflix dyn_aes_encrypt_msg does, one AES stream per `ch.plain` bytes, and
 * appends the ciphertext to `sink` in order (aesCipherLength(plain.length, ch) bytes in all).
 */
export function aesEncryptTo(key: Uint8Array, plain: Uint8Array, ch: AesChunking, sink: CipherSink): void {
  checkKey(key);
  const k = key.subarray(0, AES_BLOCK);
  let at = 0;
  do {
    const end = Math.min(at + ch.plain, plain.length);
    const c = createCipheriv('aes-128-cbc', k, k);
    const body = c.update(plain.subarray(at, end));
    if (body.length > 0) sink.appendBuffer(body);
    sink.appendBuffer(c.final());
    at = end;
  } while (at < plain.length);
}

/** aesEncryptTo into one Buffer. */
export function aesEncryptChunked(key: Uint8Array, plain: Uint8Array, ch: AesChunking = DEFAULT_AES_CHUNKING): Buffer {
  const out = Buffer.allocUnsafe(aesCipherLength(plain.length, ch));
  let n = 0;
  aesEncryptTo(key, plain, ch, { appendBuffer: (b) => { n += b.copy(out, n); } });
  return out;
}

/**
 * Decrypts a payload as Netflix's receiver does: fixed pieces of `ch.cipher` bytes from the start,
 * the last one what is left, each its own AES stream. Writes the plaintext to out[at..] and returns
 * its length. `out` may be the memory holding `cipher` when `at` is at or before the ciphertext's
 * start: piece k's plaintext (at most ch.plain bytes) ends before piece k+1 begins, and each piece
 * is read whole before its plaintext is written. Throws DnodeCryptoError naming the bad piece.
 */
export function aesDecryptInto(key: Uint8Array, cipher: Uint8Array, ch: AesChunking, out: Uint8Array, at: number): number {
  checkKey(key);
  if (cipher.length === 0 || cipher.length % AES_BLOCK !== 0) {
    throw new DnodeCryptoError(`encrypted payload of ${cipher.length} bytes is not a positive multiple of ${AES_BLOCK}`);
  }
  const k = key.subarray(0, AES_BLOCK);
  const pieces = Math.ceil(cipher.length / ch.cipher);
  let w = at;
  for (let p = 0, from = 0; from < cipher.length; p++, from += ch.cipher) {
    const to = Math.min(from + ch.cipher, cipher.length);
    try {
      const d = createDecipheriv('aes-128-cbc', k, k);
      const body = d.update(cipher.subarray(from, to));
      out.set(body, w);
      w += body.length;
      const tail = d.final();
      out.set(tail, w);
      w += tail.length;
    } catch (err) {
      const where = pieces > 1 ? ` (piece ${p + 1} of ${pieces}, bytes ${from}..${to}, pieces of ${ch.cipher} bytes: same mbuf_size on both nodes?)` : '';
      throw new DnodeCryptoError(`encrypted payload does not decrypt (wrong AES key or corrupt data)${where}: ${(err as Error).message}`);
    }
  }
  return w - at;
}

/** aesDecryptInto a new Buffer. */
export function aesDecryptChunked(key: Uint8Array, cipher: Uint8Array, ch: AesChunking = DEFAULT_AES_CHUNKING): Buffer {
  const out = Buffer.allocUnsafe(cipher.length);
  return out.subarray(0, aesDecryptInto(key, cipher, ch, out, 0));
}

/** RSA-OAEP wrap of an AES key with the public key: Netflix dyn_rsa_encrypt (rsaSize bytes). */
export function rsaWrap(keys: DnodeKeys, aesKey: Uint8Array): Buffer {
  if (aesKey.length !== AES_KEY_LEN) throw new DnodeCryptoError(`AES key must be ${AES_KEY_LEN} bytes, got ${aesKey.length}`);
  return publicEncrypt({ key: keys.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING }, aesKey);
}

/** Unwraps a key sent in a dnode data field: Netflix dyn_rsa_decrypt (must give exactly 32 bytes). */
export function rsaUnwrap(keys: DnodeKeys, wrapped: Uint8Array): Buffer {
  if (wrapped.length !== keys.rsaSize) {
    throw new DnodeCryptoError(`wrapped AES key is ${wrapped.length} bytes, expected ${keys.rsaSize} (RSA key size of ${keys.file}); do both nodes use the same pem_key_file?`);
  }
  let key: Buffer;
  try {
    key = privateDecrypt({ key: keys.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING }, wrapped);
  } catch (err) {
    throw new DnodeCryptoError(`wrapped AES key does not decrypt with ${keys.file} (different pem_key_file on the peer?): ${(err as Error).message}`);
  }
  if (key.length !== AES_KEY_LEN) throw new DnodeCryptoError(`unwrapped AES key is ${key.length} bytes, expected ${AES_KEY_LEN}`);
  return key;
}

/**
 * Whether Netflix encrypts the link from a node at (dc, rack) to a peer (is_conn_secured):
 * `rack` secures every link leaving the rack (a same-named rack in another DC counts as another
 * rack), `datacenter` every link leaving the DC, `all` every link.
 */
export function linkSecured(option: SecureServerOption, self: { dc: string; rack: string }, peer: { dc: string; rack: string }): boolean {
  switch (option) {
    case 'none': return false;
    case 'rack': return peer.rack !== self.rack || peer.dc !== self.dc;
    case 'datacenter': return peer.dc !== self.dc;
    case 'all': return true;
  }
}

/**
 * The data field of an encrypted dnode header: `*<rsaSize> <wrapped>` for the first message of a
 * connection (key given), `*1 d` after. Returns the bytes between "<same_dc> " and " *<len>".
 */
export function dataField(wrappedKey: Uint8Array | undefined): Buffer {
  if (wrappedKey === undefined) return DATA_PLACEHOLDER;
  return Buffer.concat([Buffer.from(`*${wrappedKey.length} `, 'latin1'), wrappedKey]);
}

const DATA_PLACEHOLDER = Buffer.from('*1 d', 'latin1');

/**
 * A whole encrypted dnode header (flags 1, version 1), as Netflix dmsg_write writes it:
 * `"   $2014$ <id> <type> 1 1 <same_dc> " + dataField + " *<payloadLen>\r\n"`.
 */
export function encryptedHeader(msgId: number | bigint, type: number, sameDc: number, wrappedKey: Uint8Array | undefined, payloadLen: number): Buffer {
  return Buffer.concat([
    Buffer.from(`   $2014$ ${msgId} ${type} 1 1 ${sameDc} `, 'latin1'),
    dataField(wrappedKey),
    Buffer.from(` *${payloadLen}\r\n`, 'latin1'),
  ]);
}

/**
 * The AES key for encrypted dnode record i: a data field longer than 1 byte is a wrapped key,
 * unwrapped with `keys` (it is the connection's key from now on); else the key already held.
 */
function recordKey(recs: DnodeRecords, i: number, keys: DnodeKeys | undefined, key: Buffer | undefined): Buffer {
  if (keys === undefined) throw new DnodeCryptoError('encrypted dnode message, but this node has no pem_key_file loaded (secure_server_option: none?)');
  const u8 = recs.core.u8;
  if (recs.dataLen[i] > 1) key = rsaUnwrap(keys, u8.subarray(recs.dataAt[i], recs.dataAt[i] + recs.dataLen[i]));
  if (key === undefined) throw new DnodeCryptoError('encrypted dnode message before any AES key was sent on this connection');
  return key;
}

/**
 * Decrypts the payload of dnode record i (flags bit0 set) into a new Buffer. Returns [key used,
 * plaintext]. Throws DnodeCryptoError (no key, bad wrap, bad ciphertext).
 */
export function decryptRecord(recs: DnodeRecords, i: number, keys: DnodeKeys | undefined, key: Buffer | undefined, ch: AesChunking): [Buffer, Buffer] {
  key = recordKey(recs, i, keys, key);
  const at = recs.payloadAt[i];
  return [key, aesDecryptChunked(key, recs.core.u8.subarray(at, at + recs.payloadLen[i]), ch)];
}

/**
 * decryptRecord over the ciphertext: the plaintext replaces it in core memory from the payload's
 * start (it is 1..16 bytes shorter per piece, so it touches no other message) and the record's
 * payloadLen becomes the plaintext length. Returns the key used.
 */
export function decryptRecordInPlace(recs: DnodeRecords, i: number, keys: DnodeKeys | undefined, key: Buffer | undefined, ch: AesChunking): Buffer {
  key = recordKey(recs, i, keys, key);
  const u8 = recs.core.u8;
  const at = recs.payloadAt[i];
  recs.payloadLen[i] = aesDecryptInto(key, u8.subarray(at, at + recs.payloadLen[i]), ch, u8, at);
  return key;
}
