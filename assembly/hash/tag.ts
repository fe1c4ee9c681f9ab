// hash_tag: which bytes of a key are hashed to place it.
//
// With a tag pair configured (tagOpen/tagClose in state.ts, -1 = none), the routing span is the
// bytes strictly between the FIRST tagOpen and the first tagClose after it, when that span is
// non-empty; otherwise the whole key (Redis Cluster semantics, and Netflix's rule for a present,
// non-empty tag):
//
//   "{user1000}.following"  -> "user1000"       "foo{{bar}}" -> "{bar"   (first open, first close)
//   "foo{}{bar}"            -> whole key        (the first tag is empty: no retry on the next one)
//   "foo{bar"               -> whole key        (no close after the open)
//   with "$$": "a$b$c" -> "b", "$$x$" -> whole key (the close search starts after the open, so two
//   equal characters delimit like quotes; the first pair is empty here)
//
// Netflix stores a key whose tag is present but empty on whichever node received it (its span is
// empty and it skips hashing); we hash the whole key instead so every node agrees. hasEmptyTag()
// tells a framer when that happened (MF_EMPTY_TAG).
//
// The span is returned packed in one u64 so callers on the hot path need no memory traffic:
//
//   63            32 31             0
//   +--------------+----------------+
//   | offset (u32) |  length (u32)  |   offset relative to the key's ptr
//   +--------------+----------------+
import { tagOpen, tagClose } from '../state';

/**
 * Position of the first byte == c in [p, end), or end. Spans of 16+ bytes go 16 at a time, the
 * last (partial) chunk as an overlapping load ending at `end`, its already-seen lanes masked off;
 * shorter spans byte by byte. Never reads outside [p, end).
 */
// @ts-ignore: decorator
@inline function findByte(p: usize, end: usize, c: i32): usize {
  if (end - p < 16) {
    while (p < end) {
      if (<i32>load<u8>(p) == c) return p;
      p++;
    }
    return end;
  }
  const needle = i8x16.splat(<i8>c);
  while (end - p > 16) {
    const mask = i8x16.bitmask(i8x16.eq(v128.load(p), needle));
    if (mask != 0) return p + <usize>ctz<u32>(mask);
    p += 16;
  }
  const last = end - 16;
  const mask = i8x16.bitmask(i8x16.eq(v128.load(last), needle)) >> <u32>(p - last);
  return mask != 0 ? p + <usize>ctz<u32>(mask) : end;
}

/** A tag needs two byte values; anything else (-1 = none, or out of range) means no tag. */
// @ts-ignore: decorator
@inline export function tagConfigured(): bool {
  return <u32>tagOpen <= 0xff && <u32>tagClose <= 0xff;
}

/** Packs (offset, length) as described above. */
// @ts-ignore: decorator
@inline export function packSpan(off: u32, len: u32): u64 {
  return (<u64>off << 32) | <u64>len;
}

// @ts-ignore: decorator
@inline export function spanOff(span: u64): u32 {
  return <u32>(span >> 32);
}

// @ts-ignore: decorator
@inline export function spanLen(span: u64): u32 {
  return <u32>span;
}

/**
 * Routing span of the key [ptr, ptr+len) under the configured hash_tag: packSpan(offset, length),
 * the whole key (0, len) when no tag is configured, absent, unclosed or empty.
 */
export function routingSpan(ptr: usize, len: i32): u64 {
  if (!tagConfigured() || len <= 0) return packSpan(0, <u32>max(len, 0));
  const open = tagOpen;
  const end = ptr + <usize>len;
  const o = findByte(ptr, end, open);
  if (o >= end) return packSpan(0, <u32>len);
  const c = findByte(o + 1, end, tagClose);
  if (c >= end || c - o <= 1) return packSpan(0, <u32>len);
  return packSpan(<u32>(o + 1 - ptr), <u32>(c - o - 1));
}

/**
 * True when a tag is configured and the key holds it with nothing between (e.g. "{}" in "a{}b"):
 * the whole key is hashed then, where Netflix would not have hashed it at all.
 */
export function hasEmptyTag(ptr: usize, len: i32): bool {
  if (!tagConfigured() || len <= 1) return false;
  const open = tagOpen;
  const end = ptr + <usize>len;
  const o = findByte(ptr, end, open);
  if (o + 1 >= end) return false;
  return <i32>load<u8>(o + 1) == tagClose;
}
