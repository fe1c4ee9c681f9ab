// The chaos checker's rules on hand-made histories: each violation it must find, and the
// unacknowledged outcomes it must allow (test/chaos/checker.ts).
import { describe, expect, it } from 'vitest';
import { judge } from './chaos/checker.js';
import { History, valueOf, type Op } from './chaos/history.js';

function op(h: History, o: Pick<Op, 'kind' | 'key'> & Partial<Op>, outcome: Op['outcome']): void {
  h.end(h.begin({ writer: 0, node: 0, ...o }), outcome, '');
}
const set = (h: History, key: string, seq: number, outcome: Op['outcome']) => op(h, { kind: 'set', key, seq, value: valueOf(seq, 0, key) }, outcome);
const v = (key: string, seq: number) => valueOf(seq, 0, key);

describe('chaos checker', () => {
  it('an acknowledged write held by one replica of three is below quorum, by none is lost', () => {
    const h = new History();
    set(h, 't:u:a', 1, 'ok');
    set(h, 't:u:b', 1, 'ok');
    const j = judge(h, new Map([['t:u:a', [v('t:u:a', 1), null, null]], ['t:u:b', [null, null, null]]]), 2);
    expect(j.belowQuorum.map((x) => x.key)).toEqual(['t:u:a', 't:u:b']);
    expect(j.lost.map((x) => x.key)).toEqual(['t:u:b']);
    expect(j.divergent.map((x) => x.key)).toEqual(['t:u:a']);
  });

  it('an older value than the last acknowledged one is older-over-newer; a newer unacknowledged one is fine', () => {
    const h = new History();
    set(h, 't:o:k', 1, 'ok');
    set(h, 't:o:k', 2, 'ok');
    set(h, 't:o:k', 3, 'unknown');
    const j = judge(h, new Map([['t:o:k', [v('t:o:k', 1), v('t:o:k', 2), v('t:o:k', 3)]]]), 2);
    expect(j.olderOverNewer.map((x) => x.why)).toEqual(['holds seq 1 < last acknowledged 2']);
    expect(j.belowQuorum).toEqual([]);
    expect(j.notEverywhere.length).toBe(1);
  });

  it('a key deleted with an acknowledged DEL may be held by no replica', () => {
    const h = new History();
    set(h, 't:d:k', 1, 'ok');
    op(h, { kind: 'del', key: 't:d:k' }, 'ok');
    set(h, 't:d:m', 1, 'ok');
    op(h, { kind: 'del', key: 't:d:m' }, 'unknown');
    const j = judge(h, new Map([['t:d:k', [null, v('t:d:k', 1), null]], ['t:d:m', [null, null, null]]]), 2);
    expect(j.resurrected.map((x) => x.key)).toEqual(['t:d:k']);
    // the unacknowledged DEL may have been applied: its key's absence is no loss
    expect(j.lost).toEqual([]);
  });

  it('counters: below acknowledged is lost, between acknowledged and attempted is allowed, above is phantom', () => {
    const h = new History();
    for (let i = 0; i < 5; i++) op(h, { kind: 'incr', key: 't:c:0' }, 'ok');
    op(h, { kind: 'incr', key: 't:c:0' }, 'fail');
    const j = judge(h, new Map([['t:c:0', ['4', '6', '7']]]), 2);
    expect(j.counterLostIncrements).toBe(1);
    expect(j.counterExtraIncrements).toBe(2);
    expect(j.phantom.map((x) => x.why)).toEqual(['counter 7 > 6 attempted']);
    expect(j.notEverywhere.length).toBe(1);
  });

  it('a value no writer sent is a phantom', () => {
    const h = new History();
    set(h, 't:u:k', 1, 'ok');
    const j = judge(h, new Map([['t:u:k', [v('t:u:k', 1), v('t:u:k', 1), 's1|w9|other']]]), 2);
    expect(j.phantom.length).toBe(1);
  });
});
