// The Redis error reply for a request the framer flagged (record REC_ERR != ERR_NONE), shared by
// the client connection (src/net/client-conn.ts) and the inbound dnode listener
// (src/cluster/dnode-listener.ts): the same request gets the same words on either path.
import { ABI } from '../wasm/abi.js';
import type { Core } from '../wasm/core.js';
import { respError, respErrorText } from '../errors.js';

/** The command name of record r (core.i32 index; offsets relative to base), at most 128 bytes. */
export function requestName(core: Core, r: number, base: number): string {
  const nameOff = base + core.i32[r + ABI.REC_NAME_OFF];
  return core.buf.toString('latin1', nameOff, nameOff + Math.min(core.i32[r + ABI.REC_NAME_LEN], 128));
}

/**
 * The RESP error for framer error `err` on command `name`, as Redis words it where Redis has the
 * case; codes without a text of their own get "request refused (code N)".
 */
export function respRequestError(err: number, name: string): Buffer {
  switch (err) {
    case ABI.ERR_UNKNOWN_CMD:
    case ABI.ERR_UNSUPPORTED:
      return respErrorText(`unknown or unsupported command '${name}'`);
    case ABI.ERR_ARITY:
      return respErrorText(`wrong number of arguments for '${name.toLowerCase()}' command`);
    case ABI.ERR_EVAL_NOKEYS:
      return respError('DYN_ERR_NO_KEYS');
    case ABI.ERR_TOO_MANY_KEYS:
      return respError('DYN_ERR_TOO_MANY_KEYS');
    case ABI.ERR_BAD_NUMBER:
      return respErrorText('value is not an integer or out of range');
    default:
      return respErrorText(`request refused (code ${err})`);
  }
}

const MC_ERROR = Buffer.from('ERROR\r\n');
const MC_BAD_FORMAT = Buffer.from('CLIENT_ERROR bad command line format\r\n');

/**
 * The error reply for a flagged request in either protocol. Memcached words it as memcached 1.6
 * does: an unknown verb or a wrong token count is ERROR; bad numbers or keys are CLIENT_ERROR.
 */
export function requestError(protocol: 'redis' | 'memcache', core: Core, err: number, r: number, base: number): Buffer {
  if (protocol === 'memcache') return err === ABI.ERR_BAD_NUMBER || err === ABI.ERR_TOO_MANY_KEYS ? MC_BAD_FORMAT : MC_ERROR;
  return respRequestError(err, requestName(core, r, base));
}
