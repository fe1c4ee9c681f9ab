// RediSearch's text tokeniser, byte for byte: the separator set, ASCII case folding, backslash
// escapes, the 33 default stopwords and positions that skip stopwords.
//
// Text is handled as latin1 strings (one char per byte, lossless), so bytes >= 0x80 (UTF-8) pass
// through unchanged, as RediSearch's C tokeniser leaves them. A separator preceded by a backslash is
// part of the token; the backslash itself is dropped. Control bytes (\n, \r, ...) are removed from a
// token rather than splitting it: RediSearch does not list them as separators.
import { stemWord } from './stemmer.js';

/** ! " # $ % & ' ( ) * + , - . / : ; < = > ? @ [ ] ^ ` { | } ~, space and tab. */
export const SEPARATORS = ' \t,./(){}[]:;~!@#$%^&*-=+|\'`"<>?';

const SEP = new Uint8Array(256);
for (let i = 0; i < SEPARATORS.length; i++) SEP[SEPARATORS.charCodeAt(i)] = 1;

/** RediSearch's default English stopwords (used unless FT.CREATE gives STOPWORDS). */
export const DEFAULT_STOPWORDS: readonly string[] = [
  'a', 'is', 'the', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'it',
  'no', 'not', 'of', 'on', 'or', 'such', 'that', 'their', 'then', 'there', 'these', 'they', 'this', 'to',
  'was', 'will', 'with',
];

export const isSeparator = (c: number): boolean => c < 256 && SEP[c] === 1;

/** One indexed token: the normalised term, its 1-based position, and its stem when it differs. */
export interface Token {
  term: string;
  pos: number;
  stem: string | undefined;
}

export interface TokenizeOptions {
  stopwords: ReadonlySet<string>;
  /** Stem tokens (TEXT fields without NOSTEM). */
  stem: boolean;
}

/**
 * Normalises one raw token: upper-case ASCII folded, unescaped blanks and control bytes removed,
 * unescaped backslashes dropped (the byte after one is kept as is).
 */
export function normalize(raw: string): string {
  let out = '';
  let escaped = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      out += String.fromCharCode(c + 32);
    } else if (((c === 32 || c === 9) && !escaped) || c < 32 || c === 127) {
      // dropped
    } else if (c === 92 && !escaped) {
      escaped = true;
      continue;
    } else {
      out += raw[i];
    }
    escaped = false;
  }
  return out;
}

/** Splits text at unescaped separators (the raw pieces, empty ones included). */
export function splitRaw(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 256 && SEP[c] === 1 && (i === 0 || text.charCodeAt(i - 1) !== 92)) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

/**
 * Tokenises a field's text. Positions continue from `startPos` (a document's fields share one
 * position sequence, as RediSearch numbers them) and skip stopwords and empty tokens.
 */
export function tokenize(text: string, opts: TokenizeOptions, startPos = 0): Token[] {
  const out: Token[] = [];
  let pos = startPos;
  for (const raw of splitRaw(text)) {
    const term = normalize(raw);
    if (term.length === 0 || opts.stopwords.has(term)) continue;
    out.push({ term, pos: ++pos, stem: opts.stem ? stemWord(term) : undefined });
  }
  return out;
}
