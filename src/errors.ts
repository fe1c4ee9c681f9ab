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

export const REPLY_OK = Buffer.from('+OK\r\n');
export const REPLY_PONG = Buffer.from('+PONG\r\n');
export const REPLY_EMPTY = Buffer.alloc(0);
