// English stemming as RediSearch pins it (Snowball English 2.x, the "porter2" algorithm). The npm
// `porter2` package implements exactly that algorithm; test/search-stemmer.test.ts checks it word
// by word against Snowball's own `stemwords -l english`.
//
// RediSearch stems only tokens of at least 4 bytes and records a stem only when it differs from the
// token; the index keeps it under a "+" prefix ("+run"), which no query term can spell (+ separates).
import { stem } from 'porter2';

/** Shortest token RediSearch stems. */
export const MIN_STEM_LENGTH = 4;
export const STEM_PREFIX = '+';

/** Snowball English stem of a normalised (lower-case) term; latin1 in, latin1 out. */
export function snowballStem(term: string): string {
  // Pure ASCII (the common case): stem as is. Otherwise stem the UTF-8 text and give back bytes.
  let ascii = true;
  for (let i = 0; i < term.length; i++) {
    if (term.charCodeAt(i) > 127) {
      ascii = false;
      break;
    }
  }
  if (ascii) return stem(term);
  const text = Buffer.from(term, 'latin1').toString('utf8');
  if (text.includes('\ufffd')) return term; // not UTF-8: Snowball's UTF-8 stemmer would not touch it meaningfully
  return Buffer.from(stem(text), 'utf8').toString('latin1');
}

/** The "+stem" index term for an indexed token, or undefined when it is not stemmed. */
export function stemWord(term: string): string | undefined {
  if (term.length < MIN_STEM_LENGTH) return undefined;
  const s = snowballStem(term);
  return s === term || s.length === 0 ? undefined : STEM_PREFIX + s;
}
