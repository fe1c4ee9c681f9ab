// Every error the proxy itself answers with, defined once: a stable code, the Netflix source and
// message, and the one place that turns it into reply bytes for Redis or memcached clients.
// Datastore errors are never built here: they pass through byte for byte.

export const DYN_ERRORS = {
  DYN_ERR_QUORUM: { source: 'Dynomite', message: 'Failed to achieve Quorum' },
  DYN_ERR_SCRIPT_SPAN: { source: 'Dynomite', message: 'Keys in the script cannot span multiple nodes' },
  DYN_ERR_PAYLOAD_TOO_LARGE: { source: 'Dynomite', message: 'MSET/MGET/SCAN payload too large' },
  DYN_ERR_STATE: { source: 'Dynomite', message: "Dynomite's current state does not allow this request" },
  DYN_ERR_ADMIN_MODE: { source: 'Dynomite', message: "Invalid request in Dynomite's admin mode" },
  DYN_ERR_NO_KEYS: { source: 'Dynomite', message: 'EVAL/EVALSHA requires at least 1 key' },
  DYN_ERR_TOO_MANY_KEYS: { source: 'Dynomite', message: 'too many keys in one request' },
  PEER_ERR_REFUSED: { source: 'Peer', message: 'Peer Node refused connection' },
  PEER_ERR_DOWN: { source: 'Peer', message: 'Peer Node is down' },
  PEER_ERR_NOT_CONNECTED: { source: 'Peer', message: 'Peer Node is not connected' },
  PEER_ERR_TIMEOUT: { source: 'Peer', message: 'Peer Node timed out' },
  PEER_ERR_NO_REPLY: { source: 'Peer', message: 'Peer Node did not reply' },
  STORAGE_ERR_REFUSED: { source: 'Storage', message: 'Datastore refused connection' },
  STORAGE_ERR_TIMEOUT: { source: 'Storage', message: 'Datastore timed out' },
  STORAGE_ERR_CLOSED: { source: 'Storage', message: 'Datastore closed the connection' },
} as const;

export type DynErrorCode = keyof typeof DYN_ERRORS;

const respCache = new Map<DynErrorCode, Buffer>();
const mcCache = new Map<DynErrorCode, Buffer>();

/** `-ERR <Source>: <message>\r\n`, the Netflix form. Cached: replies are immutable. */
export function respError(code: DynErrorCode): Buffer {
  let b = respCache.get(code);
  if (!b) {
    const e = DYN_ERRORS[code];
    b = Buffer.from(`-ERR ${e.source}: ${e.message}\r\n`, 'latin1');
    respCache.set(code, b);
  }
  return b;
}

/** `SERVER_ERROR <Source>: <message>\r\n` for memcached clients. */
export function mcError(code: DynErrorCode): Buffer {
  let b = mcCache.get(code);
  if (!b) {
    const e = DYN_ERRORS[code];
    b = Buffer.from(`SERVER_ERROR ${e.source}: ${e.message}\r\n`, 'latin1');
    mcCache.set(code, b);
  }
  return b;
}

/** A free-form `-ERR ...` reply (unknown commands, arity, protocol errors). CR/LF are removed. */
export function respErrorText(text: string): Buffer {
  return Buffer.from(`-ERR ${text.replace(/[\r\n]+/g, ' ')}\r\n`, 'latin1');
}

/** Where one of our errors comes from: the `<Source>` of `-ERR <Source>: ...`. */
export type ErrorSource = (typeof DYN_ERRORS)[DynErrorCode]['source'];

/** Every prefix our errors start with, in both client protocols, with the source it names. */
const PROXY_ERROR_PREFIXES: readonly (readonly [ErrorSource, Buffer])[] = [...new Set(Object.values(DYN_ERRORS).map((e) => e.source))]
  .flatMap((s) => [[s, Buffer.from(`-ERR ${s}:`, 'latin1')], [s, Buffer.from(`SERVER_ERROR ${s}:`, 'latin1')]] as const);

/**
 * The source of a reply at src[off, off+len) when it is one of our own errors, in its RESP
 * (`-ERR Storage: ...`) or memcached (`SERVER_ERROR Storage: ...`) form; undefined for any other
 * reply, datastore errors included (`-WRONGTYPE ...`, `-ERR unknown command ...`).
 */
export function proxyErrorSource(src: Uint8Array, off: number, len: number): ErrorSource | undefined {
  const c = src[off];
  if (c !== 45 /* - */ && c !== 83 /* S */) return undefined;
  for (const [source, p] of PROXY_ERROR_PREFIXES) {
    if (len < p.length || p[0] !== c) continue;
    let i = 1;
    while (i < p.length && src[off + i] === p[i]) i++;
    if (i === p.length) return source;
  }
  return undefined;
}

/** A reply that is one of our own errors (transport, quorum): it says nothing about a replica's data. */
export function isProxyErrorReply(src: Uint8Array, off: number, len: number): boolean {
  return proxyErrorSource(src, off, len) !== undefined;
}
