"""Runs the WASM core in Python: every reference hash vector, and a RESP stream framed under each of
the 14 hashes. Prints one JSON document (the test compares it with the Node host).

    python3 check_host.py <release.wasm> <vectors.json>... -- <stream.resp>...
"""
import json
import sys

from dynomite_core import HASH_NAMES, Core, ProtocolError


def main() -> int:
    wasm, *rest = sys.argv[1:]
    cut = rest.index("--") if "--" in rest else len(rest)
    vector_files, stream_paths = rest[:cut], rest[cut + 1:]
    core = Core(wasm)
    checked, wrong, algos = 0, [], set()
    for path in vector_files:
        with open(path) as fh:
            for v in json.load(fh):
                algo = HASH_NAMES.index(v["algo"])
                key = bytes.fromhex(v["key_hex"])
                got = "".join(f"{w:08x}" for w in core.hash_full(algo, key))
                checked += 1
                algos.add(v["algo"])
                if got != v["token_hex"]:
                    wrong.append({"algo": v["algo"], "key_hex": v["key_hex"], "got": got, "want": v["token_hex"]})
                elif core.token(algo, key) != int(v["token_hex"][:8], 16):
                    wrong.append({"algo": v["algo"], "key_hex": v["key_hex"], "got": "hashToken", "want": v["token_hex"][:8]})
    framed = []
    for path in stream_paths:
        with open(path, "rb") as fh:
            framed.append(frame_all(core, fh.read()))
    json.dump({"abi": core.const("ABI_VERSION"), "vectors": checked, "algos": sorted(algos), "wrong": wrong,
               "framed": framed}, sys.stdout)
    return 0


def frame_all(core: Core, stream: bytes) -> dict:
    """The stream framed under each hash (hash_tag "{}")."""
    framed = {}
    for algo, name in enumerate(HASH_NAMES):
        core.configure_hash(algo, "{}")
        try:
            frames = core.frame_requests(stream)
            error = None
        except ProtocolError as e:
            frames, error = e.frames, {"code": e.code, "position": e.position}
        framed[name] = {
            "error": error,
            "frames": [{"start": f.start, "length": f.length, "command": f.command, "cmd": f.command_id,
                        "argc": f.argc, "err": f.error,
                        "keys": [{"key": k.key.hex(), "token": k.token, "arg": k.arg} for k in f.keys]}
                       for f in frames],
        }
    return framed


if __name__ == "__main__":
    sys.exit(main())
