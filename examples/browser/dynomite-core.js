// The dynomite-ts WASM core in a browser: plain ES module, no bundler, no Node APIs. Written from
// docs/wasm-abi.md: instantiate with no imports, read every constant from the module's globals,
// copy input into the staging region, read the record and key tables after each call.

export const HASH_NAMES = [
  'one_at_a_time', 'md5', 'crc16', 'crc32', 'crc32a', 'fnv1_64', 'fnv1a_64', 'fnv1_32', 'fnv1a_32',
  'hsieh', 'murmur', 'jenkins', 'murmur3', 'murmur3_x64_64',
];
const SUPPORTED_ABI = 1;

/** Loads and initialises the module at `url` (small tables: a page frames what a person pastes). */
export async function loadCore(url, sizes = {}) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const { instance } = await WebAssembly.instantiate(await res.arrayBuffer(), {});
  return new BrowserCore(instance.exports, sizes);
}

export class BrowserCore {
  constructor(ex, { records = 1024, keys = 16384, staging = 1 << 20 } = {}) {
    this.ex = ex;
    this.k = (name) => {
      const g = ex[name];
      if (!(g instanceof WebAssembly.Global)) throw new Error(`the module has no constant ${name}`);
      return g.value;
    };
    const abi = this.k('ABI_VERSION');
    if (abi !== SUPPORTED_ABI) throw new Error(`ABI_VERSION ${abi}; this page speaks ${SUPPORTED_ABI}`);
    const st = ex.init(records, keys, 1, staging, 512, 4);
    if (st !== 0) throw new Error(`init refused its sizes (status ${st})`);
    // Memory grew inside init: views are taken now and stay valid.
    this.u8 = new Uint8Array(ex.memory.buffer);
    this.i32 = new Int32Array(ex.memory.buffer);
    this.staging = ex.staging_ptr();
    this.stagingCap = ex.staging_cap();
    this.abi = abi;
  }

  configureHash(name, hashTag = '') {
    const algo = HASH_NAMES.indexOf(name);
    if (algo < 0) throw new Error(`unknown hash ${name}`);
    const tag = hashTag.length === 2 ? hashTag : '';
    this.ex.configureHash(algo, tag ? tag.charCodeAt(0) : -1, tag ? tag.charCodeAt(1) : -1);
  }

  /** The u32 ring token of `key` (Uint8Array) under the configured hash and hash tag. */
  routingToken(key) {
    this.u8.set(key, this.staging);
    return this.ex.routingToken(this.staging, key.length) >>> 0;
  }

  /**
   * Frames the RESP requests of one stream (Uint8Array). Returns { frames, consumed, need, error }:
   * frames are complete requests; bytes after `consumed` are a partial request needing `need`
   * bytes in all (0 = unknown); error is { code, position } for malformed input.
   */
  frameRequests(bytes) {
    if (bytes.length > this.stagingCap) throw new Error(`stream longer than ${this.stagingCap} bytes`);
    const { ex, i32, k } = this;
    ex.connReset(0, k('FRAMER_RESP_REQ'));
    this.u8.set(bytes, this.staging);
    const res = ex.res_ptr() >> 2, rec = ex.rec_ptr() >> 2, keyTab = ex.key_ptr() >> 2;
    const RW = k('REC_WORDS'), KW = k('KEY_WORDS');
    const frames = [];
    let off = 0, need = 0, error = null;
    while (off < bytes.length) {
      const n = ex.respFrameRequests(0, this.staging + off, bytes.length - off);
      const count = n < 0 ? i32[res + (k('RES_COUNT') >> 2)] : n;
      for (let i = 0; i < count; i++) {
        const r = rec + i * RW;
        const at = (w) => i32[r + k(w)];
        const keys = [];
        for (let j = at('REC_KEY_FIRST'); j < at('REC_KEY_FIRST') + Math.max(at('REC_NKEYS'), 0); j++) {
          const e = keyTab + j * KW;
          const ko = off + i32[e + k('KEY_OFF')];
          keys.push({ key: bytes.slice(ko, ko + i32[e + k('KEY_LEN')]), token: i32[e + k('KEY_TOKEN')] >>> 0 });
        }
        const nameOff = off + at('REC_NAME_OFF');
        frames.push({
          start: off + at('REC_START'), length: at('REC_LEN'), argc: at('REC_ARGC'), err: at('REC_ERR'),
          command: latin1(bytes.subarray(nameOff, nameOff + at('REC_NAME_LEN'))), keys,
        });
      }
      if (n < 0) {
        error = { code: i32[res + (k('RES_ERR_CODE') >> 2)], position: off + i32[res + (k('RES_ERR_POS') >> 2)] };
        break;
      }
      const consumed = i32[res + (k('RES_CONSUMED') >> 2)];
      need = i32[res + (k('RES_NEED') >> 2)];
      off += consumed;
      if ((i32[res + (k('RES_FLAGS') >> 2)] & k('RES_MORE')) === 0 || consumed === 0) break;
    }
    return { frames, consumed: off, need: off < bytes.length ? need : 0, error };
  }

  /** The name of a constant of the given prefix ('E_', 'ERR_') with this value. */
  nameOf(prefix, value) {
    for (const name of Object.keys(this.ex)) {
      if (name.startsWith(prefix) && this.ex[name] instanceof WebAssembly.Global && this.ex[name].value === value) return name;
    }
    return String(value);
  }
}

export function latin1(b) {
  let s = '';
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

/**
 * Text as a person pastes it into bytes: `\r`, `\n`, `\t`, `\\` and `\xHH` escapes are decoded, and
 * (with crlf) a bare line feed becomes CRLF, as redis-cli and terminals lose the CR.
 */
export function pastedBytes(text, { crlf = true, escapes = true } = {}) {
  let t = crlf ? text.replace(/\r?\n/g, '\r\n') : text;
  const out = [];
  const utf8 = new TextEncoder();
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (escapes && c === '\\' && i + 1 < t.length) {
      const d = t[i + 1];
      if (d === 'r') { out.push(13); i++; continue; }
      if (d === 'n') { out.push(10); i++; continue; }
      if (d === 't') { out.push(9); i++; continue; }
      if (d === '\\') { out.push(92); i++; continue; }
      if (d === 'x' && /^[0-9a-fA-F]{2}$/.test(t.slice(i + 2, i + 4))) {
        out.push(parseInt(t.slice(i + 2, i + 4), 16));
        i += 3;
        continue;
      }
    }
    for (const b of utf8.encode(c)) out.push(b);
  }
  return new Uint8Array(out);
}
