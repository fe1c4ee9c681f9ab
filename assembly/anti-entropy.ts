// Anti-entropy digests: one call per batch of snapshot records, never one per key.
//
// The host lays out n records of AE_REC_WORDS i32 words at `recs` (offsets relative to `base`):
//
//   +0 KEY_OFF  +4 KEY_LEN  +8 VAL_OFF  +12 VAL_LEN  +16 EXPIRE_BUCKET (expire-at / 60 s, -1 = none)
//  +20 TOKEN (out)  +24 DIGEST_LO (out)  +28 DIGEST_HI (out)
//
// TOKEN is the key's ring token under the node's hash (hash_tag applied), so the host can place
// the key in its token range without a second call. DIGEST is a 64-bit digest of (key, value,
// expire bucket): XXH64 of the key and of the value, combined so that a value moved to another
// key, or two keys swapping values, changes the digest. Bucket digests are the XOR of their keys'
// digests (the host folds them), which does not depend on the order keys were scanned in.
//
// Why the expire-at enters only as a 60 s bucket: replicas apply a TTL milliseconds apart (each
// computes now + ttl when the write arrives), so the exact expire-at differs between equal
// replicas. A key with a TTL on one replica and none on the other (a PERSIST missed) must still
// show in the tree, so whether the key expires and roughly when is part of the digest; the exact
// value is compared with a tolerance at the leaf, by the host. A pair of replicas whose expire-at
// straddles a bucket edge costs one leaf comparison that then finds them equal.
import { xxh64 } from './digest';
import { keyToken } from './hash/index';

// @ts-ignore: decorator
@inline const M1: u64 = 0x9E3779B185EBCA87;
// @ts-ignore: decorator
@inline const M2: u64 = 0xC2B2AE3D27D4EB4F;

// @ts-ignore: decorator
@inline function mix(h: u64): u64 {
  h ^= h >> 31;
  h *= M2;
  h ^= h >> 29;
  h *= M1;
  h ^= h >> 32;
  return h;
}

/** The digest of one (key, value, expire bucket): asymmetric in key and value. */
// @ts-ignore: decorator
@inline function recordDigest(kp: usize, kl: i32, vp: usize, vl: i32, expBucket: i32): u64 {
  const hk = xxh64(kp, kl);
  const hv = xxh64(vp, vl);
  return mix(hk * M1 + rotl<u64>(hv, 23) + (<u64><u32>expBucket) * M2);
}

/**
 * Fills TOKEN and DIGEST of n records at `recs` (hash `algo`, HASH_* id). Never traps: records
 * whose spans leave memory get the digest of empty bytes for that span (see digest.ts).
 */
export function aeDigestBatch(algo: i32, base: usize, recs: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const r = recs + (<usize>i << 5);
    const kp = base + <usize>load<i32>(r);
    const kl = load<i32>(r, 4);
    const vp = base + <usize>load<i32>(r, 8);
    const vl = load<i32>(r, 12);
    const d = recordDigest(kp, kl, vp, vl, load<i32>(r, 16));
    store<u32>(r, keyToken(algo, kp, max(kl, 0)), 20);
    store<u32>(r, <u32>d, 24);
    store<u32>(r, <u32>(d >> 32), 28);
  }
}
