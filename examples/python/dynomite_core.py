"""The dynomite-ts WASM core from Python, through the `wasmtime` package (pip install wasmtime).

Everything here follows docs/wasm-abi.md and nothing else: the module has no imports, every layout
constant is an exported immutable global, and the host writes its input bytes into the module's own
memory (the staging region) before each call.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from wasmtime import Engine, Instance, Module, Store

HASH_NAMES = [
    "one_at_a_time", "md5", "crc16", "crc32", "crc32a", "fnv1_64", "fnv1a_64", "fnv1_32", "fnv1a_32",
    "hsieh", "murmur", "jenkins", "murmur3", "murmur3_x64_64",
]

SUPPORTED_ABI = 1


class ProtocolError(Exception):
    """The stream is malformed at `position` (E_* `code`); the frames before it are in `frames`."""

    def __init__(self, code: int, position: int, frames: List["Frame"]):
        super().__init__(f"protocol error {code} at byte {position}")
        self.code = code
        self.position = position
        self.frames = frames


@dataclass
class Key:
    key: bytes
    token: int  # u32 ring token of the routing key (hash_tag applied)
    arg: int  # argument index of the key


@dataclass
class Frame:
    start: int  # offset in the stream
    length: int
    command: str  # as written by the client
    command_id: int  # cmdLookup id, 0 = unknown
    argc: int
    error: int  # ERR_* (0 = none)
    keys: List[Key] = field(default_factory=list)


class Core:
    """One instance of the module with its own memory."""

    def __init__(self, wasm_path: str, records: int = 1024, keys: int = 16384, conns: int = 4,
                 staging: int = 1 << 20, mbuf_size: int = 512, mbufs: int = 4):
        self.store = Store(Engine())
        self.instance = Instance(self.store, Module.from_file(self.store.engine, wasm_path), [])
        self.ex = self.instance.exports(self.store)
        abi = self.const("ABI_VERSION")
        if abi != SUPPORTED_ABI:
            raise RuntimeError(f"{wasm_path}: ABI_VERSION {abi}, this host speaks {SUPPORTED_ABI}")
        st = self.call("init", records, keys, conns, staging, mbuf_size, mbufs)
        if st != 0:
            raise RuntimeError(f"init refused its sizes (status {st})")
        self.memory = self.ex["memory"]
        # Region addresses are fixed from here on (memory grows inside init and never again).
        self.res = self.call("res_ptr")
        self.rec = self.call("rec_ptr")
        self.keys = self.call("key_ptr")
        self.staging = self.call("staging_ptr")
        self.staging_cap = self.call("staging_cap")
        self.c: Dict[str, int] = {}

    def const(self, name: str) -> int:
        """A layout constant (exported immutable i32 global)."""
        return self.ex[name].value(self.store)

    def call(self, name: str, *args: int) -> int:
        return self.ex[name](self.store, *args)

    def k(self, name: str) -> int:
        v = self.c.get(name)
        if v is None:
            v = self.c[name] = self.const(name)
        return v

    def write(self, data: bytes, at: int) -> None:
        self.memory.write(self.store, data, at)

    def read(self, at: int, n: int) -> bytes:
        return bytes(self.memory.read(self.store, at, at + n))

    def i32s(self, at: int, n: int) -> tuple:
        return struct.unpack_from(f"<{n}i", self.memory.read(self.store, at, at + 4 * n))

    # Hashes

    def hash_full(self, algo: int, key: bytes) -> List[int]:
        """Every token word (1, 2 or 4) as u32."""
        if len(key) + 16 > self.staging_cap:
            raise ValueError("key larger than staging")
        out = self.staging + ((len(key) + 15) & ~15)
        self.write(key, self.staging)
        n = self.call("hashFull", algo, self.staging, len(key), out)
        return list(struct.unpack_from(f"<{n}I", self.memory.read(self.store, out, out + 4 * n)))

    def token(self, algo: int, key: bytes) -> int:
        """hashToken returns an i32: the ring token is its u32 reading."""
        self.write(key, self.staging)
        return self.call("hashToken", algo, self.staging, len(key)) & 0xFFFFFFFF

    def configure_hash(self, algo: int, hash_tag: Optional[str] = None) -> None:
        o, c = (ord(hash_tag[0]), ord(hash_tag[1])) if hash_tag else (-1, -1)
        self.call("configureHash", algo, o, c)

    # RESP request framing

    def frame_requests(self, stream: bytes, slot: int = 0) -> List[Frame]:
        """Frames every complete request of `stream` (one connection, from its first byte)."""
        if len(stream) > self.staging_cap:
            raise ValueError("stream larger than staging")
        self.call("connReset", slot, self.k("FRAMER_RESP_REQ"))
        self.write(stream, self.staging)
        frames: List[Frame] = []
        off = 0
        while off < len(stream):
            base = self.staging + off
            n = self.call("respFrameRequests", slot, base, len(stream) - off)
            res = self.i32s(self.res, 7)
            consumed, need, err_pos, err_code, _nkeys, flags, count = res
            if n == self.k("ST_BADARG"):
                raise RuntimeError("respFrameRequests refused its arguments")
            got = count if n < 0 else n
            frames.extend(self._records(stream, off, got))
            if n < 0:
                raise ProtocolError(err_code, off + err_pos, frames)
            off += consumed
            if not (flags & self.k("RES_MORE")) or consumed == 0:
                break
        return frames

    def _records(self, stream: bytes, off: int, n: int) -> List[Frame]:
        words, size = self.k("REC_WORDS"), self.k("REC_SIZE")
        kw, ks = self.k("KEY_WORDS"), self.k("KEY_SIZE")
        out = []
        for i in range(n):
            r = self.i32s(self.rec + i * size, words)
            start = off + r[self.k("REC_START")]
            name_off, name_len = r[self.k("REC_NAME_OFF")], r[self.k("REC_NAME_LEN")]
            f = Frame(start=start, length=r[self.k("REC_LEN")],
                      command=stream[off + name_off: off + name_off + name_len].decode("latin-1"),
                      command_id=r[self.k("REC_CMD")], argc=r[self.k("REC_ARGC")], error=r[self.k("REC_ERR")])
            first, nkeys = r[self.k("REC_KEY_FIRST")], r[self.k("REC_NKEYS")]
            for j in range(first, first + max(nkeys, 0)):
                e = self.i32s(self.keys + j * ks, kw)
                ko = off + e[self.k("KEY_OFF")]
                f.keys.append(Key(key=stream[ko: ko + e[self.k("KEY_LEN")]],
                                  token=e[self.k("KEY_TOKEN")] & 0xFFFFFFFF, arg=e[self.k("KEY_ARG")]))
            out.append(f)
        return out
