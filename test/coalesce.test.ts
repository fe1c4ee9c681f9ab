// CoalesceTracker: every test of replica_coalesce_tests in dynomite-engine 0.0.2 ("the original"),
// then the cases the original does not model (failures, timeouts, stragglers, collisions), then a
// property test against a plain transliteration of the original's Rust rules on random sequences.
import { describe, it, expect } from 'vitest';
import { createCore } from '../src/wasm/core.js';
import {
  CoalesceTracker, DYN_ERR_QUORUM, DYN_ERR_TIMEOUT,
  type CoalesceTarget, type ConsistencyLevel, type Decision,
} from '../src/dispatch/coalesce.js';
import { Prng } from './helpers/prng.js';

/** A reply as the tests see it: the handle the tracker carries around. */
interface Reply {
  readonly payload: string;
  readonly isError: boolean;
}

const core = createCore({ stagingBytes: 1 << 22 });
const enc = new TextEncoder();

/** The reply framer's equivalence key: XXH64 of the bytes, split into the record's two i32 words. */
function keyOf(payload: string): [number, number] {
  const b = enc.encode(payload);
  core.u8.set(b, core.stagingPtr);
  const d = BigInt.asUintN(64, core.exports.digest64(core.stagingPtr, b.length));
  return [Number(BigInt.asIntN(32, d)), Number(BigInt.asIntN(32, d >> 32n))];
}

const sameBytes = (a: Reply, b: Reply): boolean => a.payload === b.payload;

function tracker(level: ConsistencyLevel, dcs: string[], local = 'dc1'): CoalesceTracker<Reply> {
  return new CoalesceTracker<Reply>(level, dcs.map((dc) => ({ dc, isLocalDc: dc === local })), sameBytes);
}

function reply(t: CoalesceTracker<Reply>, idx: number, payload: string, isError = false): Decision<Reply> | undefined {
  const [lo, hi] = keyOf(payload);
  return t.onReply(idx, lo, hi, isError, { payload, isError });
}
const ok = (t: CoalesceTracker<Reply>, idx: number, payload: string) => reply(t, idx, payload, false);
const err = (t: CoalesceTracker<Reply>, idx: number, payload: string) => reply(t, idx, payload, true);

function winnerPayload(d: Decision<Reply> | undefined): string {
  expect(d?.ok, `expected a winner, got ${JSON.stringify(d)}`).toBe(true);
  return d!.winner!.payload;
}

function divergent(d: Decision<Reply> | undefined): number[] {
  expect(d?.ok).toBe(true);
  return [...d!.divergent];
}

const DC1x3 = ['dc1', 'dc1', 'dc1'];
const TWO_DCS = ['dc1', 'dc1', 'dc2', 'dc2'];

describe('dynomite-engine replica_coalesce_tests', () => {
  it('dc_one_first_reply_wins', () => {
    const t = tracker('DC_ONE', ['dc1']);
    const out = ok(t, 0, '+OK\r\n');
    expect(winnerPayload(out)).toBe('+OK\r\n');
    expect(divergent(out)).toEqual([]);
    expect(t.isDecided).toBe(true);
  });

  it('dc_one_late_reply_dropped', () => {
    const t = tracker('DC_ONE', ['dc1', 'dc1']);
    expect(ok(t, 0, '$1\r\na\r\n')?.ok).toBe(true);
    expect(ok(t, 1, '$1\r\nb\r\n')).toBeUndefined();
  });

  it('dc_quorum_three_all_agree', () => {
    const t = tracker('DC_QUORUM', DC1x3);
    expect(ok(t, 0, '$1\r\na\r\n')).toBeUndefined();
    const out = ok(t, 1, '$1\r\na\r\n');
    expect(winnerPayload(out)).toBe('$1\r\na\r\n');
    expect(divergent(out)).toEqual([]);
  });

  it('dc_quorum_one_divergent_repaired', () => {
    const t = tracker('DC_QUORUM', DC1x3);
    expect(ok(t, 0, '$2\r\nv1\r\n')).toBeUndefined();
    expect(ok(t, 1, '$2\r\nv2\r\n')).toBeUndefined();
    const out = ok(t, 2, '$2\r\nv2\r\n');
    expect(winnerPayload(out)).toBe('$2\r\nv2\r\n');
    expect(divergent(out)).toEqual([0]);
  });

  it('dc_quorum_all_divergent_picks_plurality', () => {
    const t = tracker('DC_QUORUM', DC1x3);
    ok(t, 0, '$1\r\na\r\n');
    ok(t, 1, '$1\r\nb\r\n');
    const out = ok(t, 2, '$1\r\nc\r\n');
    expect(winnerPayload(out)).toBe('$1\r\na\r\n');
    expect(divergent(out)).toEqual([1, 2]);
  });

  it('dc_quorum_error_and_value_do_not_match', () => {
    const t = tracker('DC_QUORUM', DC1x3);
    ok(t, 0, '$1\r\nx\r\n');
    expect(err(t, 1, '$1\r\nx\r\n')).toBeUndefined();
    const out = ok(t, 2, '$1\r\ny\r\n');
    expect(out?.ok).toBe(true);
    expect(out!.winner!.isError).toBe(false);
    expect(divergent(out)).toEqual([1, 2]);
  });

  it('dc_safe_quorum_three_all_agree', () => {
    const t = tracker('DC_SAFE_QUORUM', DC1x3);
    expect(ok(t, 0, '$1\r\nz\r\n')).toBeUndefined();
    expect(ok(t, 1, '$1\r\nz\r\n')).toBeUndefined();
    const out = ok(t, 2, '$1\r\nz\r\n');
    expect(out?.ok).toBe(true);
    expect(divergent(out)).toEqual([]);
  });

  it('dc_safe_quorum_divergence_errors', () => {
    const t = tracker('DC_SAFE_QUORUM', DC1x3);
    ok(t, 0, '$1\r\na\r\n');
    ok(t, 1, '$1\r\na\r\n');
    const out = ok(t, 2, '$1\r\nb\r\n');
    expect(out).toMatchObject({ ok: false, error: DYN_ERR_QUORUM });
    expect(t.isDecided).toBe(true);
  });

  it('dc_each_safe_quorum_two_dcs_all_agree', () => {
    const t = tracker('DC_EACH_SAFE_QUORUM', TWO_DCS);
    let out: Decision<Reply> | undefined;
    for (let i = 0; i < 4; i++) out = ok(t, i, '$1\r\nq\r\n') ?? out;
    expect(t.isDecided).toBe(true);
    expect(divergent(out)).toEqual([]);
  });

  it('dc_each_safe_quorum_remote_dc_diverges_marks_divergent', () => {
    const t = tracker('DC_EACH_SAFE_QUORUM', TWO_DCS);
    ok(t, 0, '$1\r\na\r\n');
    ok(t, 1, '$1\r\na\r\n');
    ok(t, 2, '$1\r\nb\r\n');
    const out = ok(t, 3, '$1\r\nb\r\n');
    expect(winnerPayload(out)).toBe('$1\r\na\r\n');
    expect(divergent(out)).toEqual([2, 3]);
  });

  it('dc_each_safe_quorum_intra_dc_divergence_errors', () => {
    const t = tracker('DC_EACH_SAFE_QUORUM', TWO_DCS);
    ok(t, 0, '$1\r\na\r\n');
    const dc1Full = ok(t, 1, '$1\r\nb\r\n');
    expect(dc1Full).toMatchObject({ ok: false, error: DYN_ERR_QUORUM });
    expect(t.isDecided).toBe(true);
    ok(t, 2, '$1\r\nq\r\n');
    expect(ok(t, 3, '$1\r\nq\r\n')).toBeUndefined();
  });

  it('dc_quorum_two_targets_both_agree', () => {
    const t = tracker('DC_QUORUM', ['dc1', 'dc1']);
    expect(ok(t, 0, '+OK\r\n')).toBeUndefined();
    expect(ok(t, 1, '+OK\r\n')?.ok).toBe(true);
  });

  it('duplicate_reply_overwrites', () => {
    const t = tracker('DC_QUORUM', DC1x3);
    ok(t, 0, '$1\r\nx\r\n');
    ok(t, 0, '$1\r\ny\r\n');
    expect(t.replacedHandle?.payload).toBe('$1\r\nx\r\n');
    ok(t, 1, '$1\r\ny\r\n');
    expect(t.isDecided).toBe(true);
    expect(winnerPayload(t.decision)).toBe('$1\r\ny\r\n');
  });

  it('after_decided_subsequent_reply_pending', () => {
    const t = tracker('DC_ONE', ['dc1', 'dc1']);
    ok(t, 0, '+OK\r\n');
    expect(ok(t, 1, '+ALSO\r\n')).toBeUndefined();
  });

  it('doc example: a tracker knows its target count', () => {
    expect(tracker('DC_QUORUM', DC1x3).targetCount).toBe(3);
  });
});

describe('stragglers after a decision', () => {
  it('are drained: no second decision, handle not kept, outstanding reaches 0', () => {
    const t = tracker('DC_QUORUM', DC1x3);
    ok(t, 0, '+OK\r\n');
    const d = ok(t, 1, '+OK\r\n');
    expect(d?.ok).toBe(true);
    expect(t.outstanding).toBe(1);
    expect(ok(t, 2, '-ERR late\r\n')).toBeUndefined();
    expect(t.onFailure(2, 'DYN_ERR_PEER_DOWN')).toBeUndefined();
    expect(t.onTimeout()).toBeUndefined();
    expect(t.outstanding).toBe(0);
    expect(t.decision).toBe(d);
    expect(t.heldHandle(2)).toBeUndefined();
    expect(d!.divergent).toEqual([]); // the straggler arrived after the decision
  });

  it('hands the winner to the decision and leaves the other handles with the caller', () => {
    const t = tracker('DC_QUORUM', DC1x3);
    ok(t, 0, '$1\r\na\r\n');
    ok(t, 1, '$1\r\nb\r\n');
    const d = ok(t, 2, '$1\r\nb\r\n');
    expect(d?.winnerTarget).toBe(1);
    expect(t.heldHandle(1)).toBeUndefined();
    expect(t.heldHandle(0)?.payload).toBe('$1\r\na\r\n');
    expect(t.heldHandle(2)?.payload).toBe('$1\r\nb\r\n');
  });

  it('ignores target indexes outside the request', () => {
    const t = tracker('DC_ONE', ['dc1']);
    expect(ok(t, 1, '+OK\r\n')).toBeUndefined();
    expect(ok(t, -1, '+OK\r\n')).toBeUndefined();
    expect(ok(t, 0.5, '+OK\r\n')).toBeUndefined();
    expect(t.onFailure(7, 'X')).toBeUndefined();
    expect(t.isDecided).toBe(false);
  });
});

describe('failures', () => {
  const levels: ConsistencyLevel[] = ['DC_ONE', 'DC_QUORUM', 'DC_SAFE_QUORUM', 'DC_EACH_SAFE_QUORUM'];
  for (const level of levels) {
    it(`${level}: every target failing is an error naming the first failure`, () => {
      const t = tracker(level, DC1x3);
      let d: Decision<Reply> | undefined;
      const kinds = ['DYN_ERR_PEER_NOT_CONNECTED', 'DYN_ERR_PEER_DOWN', 'DYN_ERR_STORAGE_REFUSED'];
      for (let i = 0; i < 3 && !d; i++) d = t.onFailure(i, kinds[i]!);
      expect(d).toMatchObject({ ok: false, error: 'DYN_ERR_PEER_NOT_CONNECTED', winner: undefined });
    });
  }

  it('DC_ONE waits for the other targets while one has failed', () => {
    const t = tracker('DC_ONE', ['dc1', 'dc1']);
    expect(t.onFailure(0, 'DYN_ERR_PEER_DOWN')).toBeUndefined();
    expect(winnerPayload(ok(t, 1, '+OK\r\n'))).toBe('+OK\r\n');
  });

  it('DC_QUORUM: one local failure, two agreeing replies succeed (Netflix: the other racks form the quorum)', () => {
    const t = tracker('DC_QUORUM', DC1x3);
    expect(t.onFailure(0, 'DYN_ERR_STORAGE_REFUSED')).toBeUndefined();
    ok(t, 1, '+OK\r\n');
    expect(winnerPayload(ok(t, 2, '+OK\r\n'))).toBe('+OK\r\n');
  });

  it('DC_QUORUM: two local failures decide at once with the first failure (no waiting for the third)', () => {
    const t = tracker('DC_QUORUM', DC1x3);
    expect(t.onFailure(1, 'DYN_ERR_PEER_NOT_CONNECTED')).toBeUndefined();
    expect(t.onFailure(2, 'DYN_ERR_STORAGE_REFUSED')).toMatchObject({ ok: false, error: 'DYN_ERR_PEER_NOT_CONNECTED' });
  });

  it('DC_QUORUM: a failure rules out plurality; two disagreeing replies are the quorum error', () => {
    const t = tracker('DC_QUORUM', DC1x3);
    ok(t, 0, '$1\r\na\r\n');
    t.onFailure(1, 'DYN_ERR_PEER_DOWN');
    expect(ok(t, 2, '$1\r\nb\r\n')).toMatchObject({ ok: false, error: DYN_ERR_QUORUM });
  });

  it('DC_QUORUM: remote failures do not matter', () => {
    const t = tracker('DC_QUORUM', ['dc1', 'dc1', 'dc1', 'dc2', 'dc2']);
    expect(t.onFailure(3, 'DYN_ERR_PEER_DOWN')).toBeUndefined();
    expect(t.onFailure(4, 'DYN_ERR_PEER_DOWN')).toBeUndefined();
    ok(t, 0, '+OK\r\n');
    expect(ok(t, 2, '+OK\r\n')?.ok).toBe(true);
  });

  it('DC_SAFE_QUORUM: one failure and two agreeing replies succeed', () => {
    const t = tracker('DC_SAFE_QUORUM', DC1x3);
    ok(t, 0, '$1\r\nz\r\n');
    expect(t.onFailure(1, 'DYN_ERR_STORAGE_REFUSED')).toBeUndefined();
    const d = ok(t, 2, '$1\r\nz\r\n');
    expect(winnerPayload(d)).toBe('$1\r\nz\r\n');
    expect(d!.divergent).toEqual([]);
  });

  it('DC_SAFE_QUORUM: decides the quorum error as soon as two replies disagree', () => {
    const t = tracker('DC_SAFE_QUORUM', DC1x3);
    ok(t, 0, '$1\r\na\r\n');
    expect(ok(t, 2, '$1\r\nb\r\n')).toMatchObject({ ok: false, error: DYN_ERR_QUORUM });
    expect(ok(t, 1, '$1\r\na\r\n')).toBeUndefined();
  });

  it('a late reply after a failure verdict still counts', () => {
    const t = tracker('DC_QUORUM', DC1x3);
    t.onFailure(0, 'DYN_ERR_PEER_DOWN');
    ok(t, 1, '+OK\r\n');
    expect(ok(t, 0, '+OK\r\n')?.winnerTarget).toBe(0);
  });
});

describe('timeouts', () => {
  it('DC_ONE with no reply: the timeout error', () => {
    const t = tracker('DC_ONE', ['dc1']);
    expect(t.onTimeout()).toMatchObject({ ok: false, error: DYN_ERR_TIMEOUT });
    expect(t.outstanding).toBe(0);
  });

  it('DC_QUORUM with one of three replies: the timeout error', () => {
    const t = tracker('DC_QUORUM', DC1x3);
    ok(t, 0, '+OK\r\n');
    expect(t.onTimeout()).toMatchObject({ ok: false, error: DYN_ERR_TIMEOUT });
  });

  it('DC_QUORUM with two disagreeing replies: the quorum error, not plurality', () => {
    const t = tracker('DC_QUORUM', DC1x3);
    ok(t, 0, '$1\r\na\r\n');
    ok(t, 1, '$1\r\nb\r\n');
    expect(t.onTimeout()).toMatchObject({ ok: false, error: DYN_ERR_QUORUM });
  });

  it('an explicit failure before the timeout names the error', () => {
    const t = tracker('DC_QUORUM', DC1x3);
    t.onFailure(2, 'DYN_ERR_PEER_DOWN');
    expect(t.onTimeout()).toMatchObject({ ok: false, error: 'DYN_ERR_PEER_DOWN' });
  });

  it('DC_SAFE_QUORUM with two agreeing replies and one silent: the agreed reply', () => {
    const t = tracker('DC_SAFE_QUORUM', DC1x3);
    ok(t, 0, '$1\r\nz\r\n');
    ok(t, 2, '$1\r\nz\r\n');
    expect(winnerPayload(t.onTimeout())).toBe('$1\r\nz\r\n');
  });

  it('DC_EACH_SAFE_QUORUM with a remote DC missing: pending, then the timeout error', () => {
    const t = tracker('DC_EACH_SAFE_QUORUM', TWO_DCS);
    expect(ok(t, 0, '+OK\r\n')).toBeUndefined();
    expect(ok(t, 1, '+OK\r\n')).toBeUndefined();
    expect(t.isDecided).toBe(false);
    expect(t.onTimeout()).toMatchObject({ ok: false, error: DYN_ERR_TIMEOUT });
  });

  it('DC_EACH_SAFE_QUORUM with a remote DC down: the failure error at once, no hang', () => {
    const t = tracker('DC_EACH_SAFE_QUORUM', TWO_DCS);
    ok(t, 0, '+OK\r\n');
    ok(t, 1, '+OK\r\n');
    expect(t.onFailure(3, 'DYN_ERR_PEER_DOWN')).toMatchObject({ ok: false, error: 'DYN_ERR_PEER_DOWN' });
  });

  it('DC_EACH_SAFE_QUORUM with one of three remote replicas down: per-DC quorum still holds', () => {
    const t = tracker('DC_EACH_SAFE_QUORUM', ['dc1', 'dc2', 'dc2', 'dc2']);
    ok(t, 0, '+OK\r\n');
    t.onFailure(1, 'DYN_ERR_PEER_DOWN');
    ok(t, 2, '+OK\r\n');
    expect(winnerPayload(ok(t, 3, '+OK\r\n'))).toBe('+OK\r\n');
  });
});

describe('mixed error and success replies', () => {
  it('an identical error from a quorum is the winner (passed through)', () => {
    const t = tracker('DC_QUORUM', DC1x3);
    ok(t, 0, '$1\r\na\r\n');
    err(t, 1, '-WRONGTYPE x\r\n');
    const d = err(t, 2, '-WRONGTYPE x\r\n');
    expect(d?.ok).toBe(true);
    expect(d!.winner).toEqual({ payload: '-WRONGTYPE x\r\n', isError: true });
    expect(d!.divergent).toEqual([0]);
  });

  it('error and success with equal bytes never vote together', () => {
    const t = tracker('DC_SAFE_QUORUM', ['dc1', 'dc1']);
    ok(t, 0, '+OK\r\n');
    expect(err(t, 1, '+OK\r\n')).toMatchObject({ ok: false, error: DYN_ERR_QUORUM });
  });

  it('DC_ONE passes the first reply through even when it is an error', () => {
    const t = tracker('DC_ONE', DC1x3);
    expect(err(t, 2, '-ERR boom\r\n')?.winner?.isError).toBe(true);
  });
});

describe('local and remote targets', () => {
  it('DC_QUORUM counts only local votes; remote replies can only be divergent', () => {
    const t = tracker('DC_QUORUM', ['dc2', 'dc1', 'dc2', 'dc1', 'dc1']);
    ok(t, 0, '+A\r\n');
    ok(t, 2, '+A\r\n');
    expect(t.isDecided).toBe(false); // two remote votes are no local quorum
    ok(t, 1, '+B\r\n');
    const d = ok(t, 3, '+B\r\n');
    expect(winnerPayload(d)).toBe('+B\r\n');
    expect(d!.divergent).toEqual([0, 2]);
  });

  it('DC_QUORUM plurality waits for every local reply, whatever the remote ones do', () => {
    const t = tracker('DC_QUORUM', ['dc1', 'dc1', 'dc1', 'dc2', 'dc2']);
    ok(t, 3, '+OK\r\n');
    ok(t, 4, '+OK\r\n');
    expect(ok(t, 0, '+A\r\n')).toBeUndefined();
    expect(ok(t, 1, '+B\r\n')).toBeUndefined();
    const d = ok(t, 2, '+C\r\n');
    expect(winnerPayload(d)).toBe('+A\r\n');
    expect(d!.divergent).toEqual([1, 2, 3, 4]);
  });

  it('with no local target every target votes (the original fallback)', () => {
    const t = tracker('DC_QUORUM', ['dc2', 'dc2', 'dc3'], 'dc1');
    ok(t, 0, '+OK\r\n');
    expect(ok(t, 2, '+OK\r\n')?.ok).toBe(true);
  });

  it('DC_EACH_SAFE_QUORUM with no local DC: the lowest-index reply wins', () => {
    const t = tracker('DC_EACH_SAFE_QUORUM', ['dc2', 'dc3'], 'dc1');
    ok(t, 1, '+B\r\n');
    const d = ok(t, 0, '+A\r\n');
    expect(winnerPayload(d)).toBe('+A\r\n');
    expect(d!.divergent).toEqual([1]);
  });

  it('DC ids may be numbers', () => {
    const t = new CoalesceTracker<Reply>('DC_EACH_SAFE_QUORUM', [
      { dc: 1, isLocalDc: true }, { dc: 2, isLocalDc: false }, { dc: 2, isLocalDc: false },
    ]);
    ok(t, 0, '+A\r\n');
    ok(t, 1, '+A\r\n');
    expect(ok(t, 2, '+B\r\n')).toMatchObject({ ok: false, error: DYN_ERR_QUORUM });
  });
});

describe('equivalence keys and the exact compare', () => {
  it('consults sameReply only for equal digests, and splits a collision', () => {
    let calls = 0;
    const same = (a: Reply, b: Reply): boolean => {
      calls++;
      return a.payload === b.payload;
    };
    const t = new CoalesceTracker<Reply>('DC_QUORUM', DC1x3.map((dc) => ({ dc, isLocalDc: true })), same);
    // Forge a collision: two different payloads delivered with the same key words.
    expect(t.onReply(0, 1, 2, false, { payload: 'x', isError: false })).toBeUndefined();
    expect(t.onReply(1, 1, 2, false, { payload: 'y', isError: false })).toBeUndefined();
    expect(calls).toBe(1);
    const d = t.onReply(2, 1, 2, false, { payload: 'y', isError: false });
    expect(calls).toBe(3); // rejected by 0's class, accepted by 1's
    expect(d?.winner?.payload).toBe('y');
    expect(d?.divergent).toEqual([0]);
    t.reset('DC_QUORUM', DC1x3.map((dc) => ({ dc, isLocalDc: true })));
    calls = 0;
    t.onReply(0, 1, 2, false, { payload: 'x', isError: false });
    t.onReply(1, 3, 2, false, { payload: 'x', isError: false });
    t.onReply(2, 1, 3, false, { payload: 'x', isError: false });
    expect(calls).toBe(0); // no two digests equal: the bytes are never compared
  });

  it('without sameReply, equal digests are trusted', () => {
    const t = new CoalesceTracker<Reply>('DC_QUORUM', DC1x3.map((dc) => ({ dc, isLocalDc: true })));
    t.onReply(0, 1, 2, false, { payload: 'x', isError: false });
    expect(t.onReply(1, 1, 2, false, { payload: 'y', isError: false })?.winner?.payload).toBe('x');
  });

  it('lo and hi words both matter', () => {
    const t = tracker('DC_SAFE_QUORUM', ['dc1', 'dc1']);
    t.onReply(0, 5, 6, false, { payload: 'p', isError: false });
    expect(t.onReply(1, 5, 7, false, { payload: 'p', isError: false })).toMatchObject({ ok: false });
  });

  it('rejects bad construction eagerly', () => {
    expect(() => new CoalesceTracker('DC_QUORUM', [])).toThrow(RangeError);
    expect(() => new CoalesceTracker('DC_BOGUS' as ConsistencyLevel, [{ dc: 'a', isLocalDc: true }])).toThrow(RangeError);
  });
});

// ---- property test against a transliteration of the original ---------------------------------------

type ModelOutcome = { ok: true; winner: string; winnerIdx: number; divergent: number[] } | { ok: false } | undefined;

/** The original CoalesceTracker, rule for rule, keyed by the exact bytes (local-count fix applied). */
class RulesModel {
  private received = new Map<number, string>();
  private decided = false;
  constructor(private level: ConsistencyLevel, private targets: CoalesceTarget[]) {}

  record(idx: number, key: string): ModelOutcome {
    if (this.decided) return undefined;
    this.received.set(idx, key);
    switch (this.level) {
      case 'DC_ONE': return this.emit(key);
      case 'DC_QUORUM': return this.quorum();
      case 'DC_SAFE_QUORUM': return this.safe();
      default: return this.eachSafe();
    }
  }

  private localIdx(): number[] {
    const l = this.targets.map((_, i) => i).filter((i) => this.targets[i]!.isLocalDc);
    return l.length ? l : this.targets.map((_, i) => i);
  }

  private votes(idxs: number[]): Map<string, number[]> {
    const v = new Map<string, number[]>();
    for (const i of idxs) {
      const k = this.received.get(i);
      if (k === undefined) continue;
      if (!v.has(k)) v.set(k, []);
      v.get(k)!.push(i);
    }
    return v;
  }

  private quorum(): ModelOutcome {
    const local = this.localIdx();
    const q = (local.length >> 1) + 1;
    const votes = this.votes(local);
    for (const [k, v] of votes) if (v.length >= q) return this.emit(k);
    if (local.every((i) => this.received.has(i))) {
      let best: [string, number, number] | undefined;
      for (const [k, v] of votes) {
        const min = Math.min(...v);
        if (!best || v.length > best[1] || (v.length === best[1] && min < best[2])) best = [k, v.length, min];
      }
      return this.emit(best![0]);
    }
    return undefined;
  }

  private safe(): ModelOutcome {
    const local = this.localIdx();
    if (!local.every((i) => this.received.has(i))) return undefined;
    const votes = this.votes(local);
    if (votes.size === 1) return this.emit([...votes.keys()][0]!);
    this.decided = true;
    return { ok: false };
  }

  private eachSafe(): ModelOutcome {
    const dcs = [...new Set(this.targets.map((t) => t.dc))].sort();
    let localWinner: string | undefined;
    let complete = true;
    for (const dc of dcs) {
      const idxs = this.targets.map((_, i) => i).filter((i) => this.targets[i]!.dc === dc);
      if (!idxs.every((i) => this.received.has(i))) {
        complete = false;
        continue;
      }
      const votes = this.votes(idxs);
      if (votes.size !== 1) {
        this.decided = true;
        return { ok: false };
      }
      if (this.targets[idxs[0]!]!.isLocalDc) localWinner = [...votes.keys()][0];
    }
    if (!complete) return undefined;
    const winner = localWinner ?? this.received.get(Math.min(...this.received.keys()))!;
    return this.emit(winner);
  }

  private emit(key: string): ModelOutcome {
    this.decided = true;
    const idxs = [...this.received.keys()].sort((a, b) => a - b);
    const winnerIdx = idxs.find((i) => this.received.get(i) === key)!;
    return { ok: true, winner: key, winnerIdx, divergent: idxs.filter((i) => this.received.get(i) !== key) };
  }
}

function summarize(d: Decision<Reply> | undefined): ModelOutcome {
  if (d === undefined) return undefined;
  if (!d.ok) return { ok: false };
  return {
    ok: true, winner: `${d.winner!.isError ? '-' : '+'}${d.winner!.payload}`, winnerIdx: d.winnerTarget,
    divergent: [...d.divergent],
  };
}

describe('property: equals the original rules on random reply sequences', () => {
  const levels: ConsistencyLevel[] = ['DC_ONE', 'DC_QUORUM', 'DC_SAFE_QUORUM', 'DC_EACH_SAFE_QUORUM'];
  for (const level of levels) {
    it(level, () => {
      const rng = new Prng(levels.indexOf(level) + 11);
      const safe = level === 'DC_SAFE_QUORUM' || level === 'DC_EACH_SAFE_QUORUM';
      for (let run = 0; run < 3000; run++) {
        const n = 1 + rng.int(6);
        const dcNames = ['dc1', 'dc2', 'dc3'];
        const noLocal = rng.int(10) === 0;
        const targets: CoalesceTarget[] = Array.from({ length: n }, () => {
          const dc = dcNames[rng.int(3)]!;
          return { dc, isLocalDc: dc === 'dc1' && !noLocal };
        });
        const model = new RulesModel(level, targets);
        const t = new CoalesceTracker<Reply>(level, targets, sameBytes);
        // Every target replies once in random order; ONE/QUORUM also get duplicate replies (the
        // original overwrites). SAFE levels may decide an error earlier than the original: same
        // answer, sooner.
        const order = Array.from({ length: n }, (_, i) => i);
        for (let i = n - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        if (!safe) for (let k = rng.int(3); k > 0; k--) order.splice(rng.int(order.length + 1), 0, rng.int(n));
        let mine: ModelOutcome;
        let expected: ModelOutcome;
        for (const idx of order) {
          const payload = 'abc'[rng.int(3)]!;
          const isError = rng.int(5) === 0;
          const r = summarize(reply(t, idx, payload, isError));
          const s = model.record(idx, `${isError ? '-' : '+'}${payload}`);
          if (r !== undefined) {
            expect(mine, 'decided twice').toBeUndefined();
            mine = r;
          }
          if (s !== undefined) expected = s;
          if (!safe) expect(r, `run ${run} ${JSON.stringify(targets)} order ${order}`).toEqual(s);
          else if (s !== undefined) expect(mine).toEqual(s); // decided by now, same decision
          else if (r !== undefined) expect(r.ok).toBe(false); // only an error may come early
        }
        expect(mine, `run ${run}`).toEqual(expected);
        expect(mine).toBeDefined();
      }
    });
  }
});

describe('pooling', () => {
  it('reset() rebinds a tracker to a new request, growing as needed', () => {
    const t = tracker('DC_ONE', ['dc1']);
    ok(t, 0, '+1\r\n');
    t.reset('DC_QUORUM', Array.from({ length: 12 }, () => ({ dc: 'dc1', isLocalDc: true })));
    expect(t.isDecided).toBe(false);
    expect(t.outstanding).toBe(12);
    for (let i = 0; i < 6; i++) expect(ok(t, i, '+2\r\n')).toBeUndefined();
    expect(winnerPayload(ok(t, 6, '+2\r\n'))).toBe('+2\r\n');
    expect(t.heldHandle(1)?.payload).toBe('+2\r\n'); // a loser's handle, still the caller's to free
    t.reset('DC_SAFE_QUORUM', [{ dc: 'x', isLocalDc: true }, { dc: 'x', isLocalDc: true }]);
    expect(t.heldHandle(1)).toBeUndefined(); // nothing leaks from the previous request
    ok(t, 1, '+3\r\n');
    expect(winnerPayload(ok(t, 0, '+3\r\n'))).toBe('+3\r\n');
  });
});
