// Transaction sequences shared by the transaction tests, and the byte-for-byte comparison with a
// redis-server given the same sequence.
import { type RawClient, cmd } from './resp-client.js';

/** Sequences sent in one write each (a pipeline); `K` is replaced by a key prefix unique to the run. */
export const SEQUENCES: readonly (readonly string[][])[] = [
  // the EXEC array, with replies of every shape
  [['MULTI'], ['SET', 'K:s', 'v'], ['INCR', 'K:n'], ['GET', 'K:s'], ['GET', 'K:none'], ['HSET', 'K:h', 'f', 'v'],
    ['HGETALL', 'K:h'], ['ZADD', 'K:z', '1.5', 'a'], ['ZSCORE', 'K:z', 'a'], ['SADD', 'K:set', 'x'], ['SMEMBERS', 'K:set'],
    ['ZRANGE', 'K:z', '0', '-1', 'WITHSCORES'], ['EXEC'], ['GET', 'K:s']],
  // a runtime error inside EXEC is one element of the array; the others are applied
  [['MULTI'], ['SET', 'K:str', 'x'], ['INCR', 'K:str'], ['LPUSH', 'K:str', 'a'], ['APPEND', 'K:str', 'y'], ['EXEC'], ['GET', 'K:str']],
  // an arity error while queueing: EXECABORT, nothing applied
  [['MULTI'], ['SET', 'K:a', '1'], ['GET'], ['SET', 'K:b', '2'], ['EXEC'], ['EXISTS', 'K:a', 'K:b']],
  // outside MULTI
  [['EXEC'], ['DISCARD'], ['UNWATCH']],
  // nested MULTI and WATCH inside MULTI are refused without aborting
  [['MULTI'], ['MULTI'], ['WATCH', 'K:w'], ['SET', 'K:w', '1'], ['EXEC'], ['GET', 'K:w']],
  // DISCARD drops the queue
  [['MULTI'], ['SET', 'K:d', '1'], ['DISCARD'], ['GET', 'K:d'], ['EXEC']],
  // WATCH with no change in between: applied
  [['WATCH', 'K:w2', 'K:w3'], ['MULTI'], ['SET', 'K:w2', '1'], ['EXEC'], ['GET', 'K:w2']],
  // WATCH then the client's own write: aborted, as Redis does
  [['SET', 'K:own', '0'], ['WATCH', 'K:own'], ['SET', 'K:own', '1'], ['MULTI'], ['SET', 'K:own', '2'], ['EXEC'], ['GET', 'K:own']],
  // UNWATCH forgets the change
  [['WATCH', 'K:u'], ['SET', 'K:u', '1'], ['UNWATCH'], ['MULTI'], ['SET', 'K:u', '2'], ['EXEC'], ['GET', 'K:u']],
  // empty transactions, UNWATCH / ECHO / PING queued
  [['MULTI'], ['EXEC'], ['MULTI'], ['UNWATCH'], ['ECHO', 'hi'], ['PING'], ['EXEC']],
  // EXEC with arguments inside MULTI: Redis 7 discards saying why
  [['MULTI'], ['SET', 'K:e', '1'], ['EXEC', 'now'], ['EXEC'], ['GET', 'K:e']],
  // DEL / EXPIRE of watched keys abort; a transaction after an aborted one works
  [['SET', 'K:x', '1'], ['WATCH', 'K:x'], ['EXPIRE', 'K:x', '100'], ['MULTI'], ['GET', 'K:x'], ['EXEC'],
    ['MULTI'], ['TTL', 'K:x'], ['DEL', 'K:x'], ['EXEC']],
];

export function expand(seq: readonly string[][], prefix: string): string[][] {
  return seq.map((c) => c.map((a) => a.replace(/^K:/, `${prefix}:`)));
}

/** Sends the sequence in one write to both and returns the differences. */
export async function compare(a: RawClient, b: RawClient, seq: string[][]): Promise<string[]> {
  const bytes = Buffer.concat(seq.map((c) => cmd(...c)));
  a.write(bytes);
  b.write(bytes);
  const want = await a.replies(seq.length);
  const got = await b.replies(seq.length);
  const diffs: string[] = [];
  for (let i = 0; i < seq.length; i++) {
    if (!want[i]!.equals(got[i]!)) {
      diffs.push(`${seq[i]!.join(' ')}\n  redis: ${JSON.stringify(want[i]!.toString('latin1'))}\n  ours:  ${JSON.stringify(got[i]!.toString('latin1'))}`);
    }
  }
  return diffs;
}

