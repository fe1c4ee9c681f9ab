import { describe, expect, it } from 'vitest';
import { ArrivalWindow, FailureDetector, phiOf } from '../src/cluster/failure-detector.js';

/** A detector checked every 100 ms with heartbeats expected every 1000 ms. */
function detector(extra: Partial<ConstructorParameters<typeof FailureDetector>[0]> = {}): FailureDetector {
  return new FailureDetector({ expectedIntervalMs: 1000, checkEveryMs: 100, ...extra });
}

/** Advances the clock in check-sized steps from `from` to `to`, returning the first conviction time. */
function runChecks(fd: FailureDetector, from: number, to: number, step = 100): number | undefined {
  for (let t = from; t <= to; t += step) {
    if (fd.check(t).length > 0) return t;
  }
  return undefined;
}

describe('ArrivalWindow', () => {
  it('keeps mean and sigma of the last N samples', () => {
    const w = new ArrivalWindow(3);
    for (const x of [10, 20, 30, 40]) w.add(x);
    expect(w.size).toBe(3);
    expect(w.mean()).toBe(30);
    expect(w.stdDev()).toBeCloseTo(Math.sqrt(200 / 3), 9);
  });
});

describe('phiOf', () => {
  it('is about 0.3 at the mean, rises with lateness, and is monotonic', () => {
    expect(phiOf(1000, 1000, 100)).toBeCloseTo(Math.log10(2), 3);
    let prev = -1;
    for (let t = 0; t <= 3000; t += 50) {
      const p = phiOf(t, 1000, 100);
      expect(p).toBeGreaterThanOrEqual(prev);
      prev = p;
    }
    // phi 8 (P = 1e-8) is 5.6 sigma late; the logistic approximation reaches it a little earlier.
    expect(phiOf(1520, 1000, 100)).toBeGreaterThan(7.5);
    expect(phiOf(1520, 1000, 100)).toBeLessThan(8.5);
    expect(phiOf(0, 1000, 1)).toBeCloseTo(0, 9);
    expect(phiOf(1e9, 1000, 1)).toBe(Infinity);
  });
});

describe('FailureDetector', () => {
  it('a peer never heard from is UNKNOWN and never convicted by phi', () => {
    const fd = detector();
    fd.add(1);
    expect(runChecks(fd, 0, 60_000)).toBeUndefined();
    expect(fd.liveness(1)).toBe('UNKNOWN');
    expect(fd.phi(1, 60_000)).toBe(0);
  });

  it('regular heartbeats keep a peer UP; silence convicts it within 2.5 periods', () => {
    const fd = detector();
    fd.add(1);
    let t = 0;
    expect(fd.heartbeat(1, t)?.to).toBe('UP');
    for (let i = 0; i < 50; i++) {
      // ±20 ms of jitter, checks in between
      expect(runChecks(fd, t + 100, t + 900)).toBeUndefined();
      t += 1000 + (i % 2 === 0 ? 20 : -20);
      expect(fd.heartbeat(1, t)).toBeUndefined();
    }
    expect(fd.liveness(1)).toBe('UP');
    const convicted = runChecks(fd, t + 100, t + 10_000);
    expect(convicted).toBeDefined();
    const detection = convicted! - t;
    // sigma floor 250 ms: mean + 5.6 sigma ~ 2.4 periods after the last heartbeat
    expect(detection).toBeGreaterThan(1500);
    expect(detection).toBeLessThan(2500);
    expect(fd.liveness(1)).toBe('DOWN');
    expect(fd.reason(1)).toMatch(/^phi /);
  });

  it('a jittery peer gets a wider margin than a steady one', () => {
    const steady = detector({ minStdDevMs: 10 });
    const jittery = detector({ minStdDevMs: 10 });
    let a = 0;
    let b = 0;
    steady.heartbeat(1, a);
    jittery.heartbeat(1, b);
    for (let i = 0; i < 200; i++) {
      a += 1000;
      b += i % 2 === 0 ? 600 : 1400;
      steady.heartbeat(1, a);
      jittery.heartbeat(1, b);
    }
    const ds = runChecks(steady, a + 10, a + 20_000, 10)! - a;
    const dj = runChecks(jittery, b + 10, b + 20_000, 10)! - b;
    expect(dj).toBeGreaterThan(ds + 1000);
  });

  it('DOWN comes back UP only on a heartbeat, and the outage is not recorded as an interval', () => {
    const fd = detector();
    let t = 0;
    fd.heartbeat(1, t);
    for (let i = 0; i < 20; i++) fd.heartbeat(1, (t += 1000));
    const at = runChecks(fd, t + 100, t + 10_000)!;
    expect(fd.isDown(1)).toBe(true);
    // phi falls to 0 for a DOWN peer, but that does not revive it
    expect(runChecks(fd, at + 100, at + 30_000)).toBeUndefined();
    expect(fd.isDown(1)).toBe(true);
    const back = fd.heartbeat(1, at + 30_000);
    expect(back).toMatchObject({ from: 'DOWN', to: 'UP' });
    expect(fd.stats(1)!.mean).toBeCloseTo(1000, 0);
    // and it is convicted again on the same schedule as before
    t = at + 30_000;
    const again = runChecks(fd, t + 100, t + 10_000)! - t;
    expect(again).toBeLessThan(2500);
  });

  it('link failure convicts at once; a timeout only when the heartbeat is late', () => {
    const fd = detector();
    let t = 0;
    fd.heartbeat(1, t);
    for (let i = 0; i < 10; i++) fd.heartbeat(1, (t += 1000));
    expect(fd.linkFailure(1, 'request timed out', t + 300, true)).toBeUndefined();
    expect(fd.isDown(1)).toBe(false);
    expect(fd.linkFailure(1, 'request timed out', t + 1500, true)).toMatchObject({ to: 'DOWN' });
    fd.heartbeat(1, t + 1600);
    expect(fd.linkFailure(1, 'connect ECONNREFUSED', t + 1700)).toMatchObject({ from: 'UP', to: 'DOWN', why: 'connect ECONNREFUSED' });
    expect(fd.linkFailure(1, 'again', t + 1800)).toBeUndefined();
    // an UNKNOWN peer (never gossiped) is left to its link
    fd.add(2);
    expect(fd.linkFailure(2, 'connection closed by peer', 0)).toBeUndefined();
    expect(fd.liveness(2)).toBe('UNKNOWN');
  });

  it('a local pause convicts nobody; peers heard within the grace period stay UP', () => {
    const fd = detector();
    let t = 0;
    for (const p of [1, 2]) fd.heartbeat(p, t);
    for (let i = 0; i < 10; i++) {
      t += 1000;
      for (const p of [1, 2]) fd.heartbeat(p, t);
      runChecks(fd, t + 100, t + 900);
    }
    // this process stops for 10 s: the next check is late
    const resumed = t + 10_000;
    expect(fd.check(resumed)).toEqual([]);
    // peer 1's buffered heartbeat is processed right after; peer 2 stays silent
    fd.heartbeat(1, resumed + 5);
    for (let s = resumed + 100; s < resumed + 1900; s += 100) fd.heartbeat(1, s), expect(fd.check(s)).toEqual([]);
    // after the grace period the silent one is convicted, the live one is not
    const later = runChecks(fd, resumed + 2000, resumed + 3000);
    expect(later).toBeDefined();
    expect(fd.isDown(2)).toBe(true);
    expect(fd.isDown(1)).toBe(false);
    // the pause did not enter peer 1's window
    expect(fd.stats(1)!.mean).toBeCloseTo(1000, 6);
  });

  it('reset forgets a peer: UNKNOWN until its next heartbeat', () => {
    const fd = detector();
    fd.heartbeat(1, 0);
    expect(fd.linkFailure(1, 'x', 10)).toMatchObject({ to: 'DOWN' });
    expect(fd.reset(1)).toMatchObject({ from: 'DOWN', to: 'UNKNOWN' });
    expect(fd.liveness(1)).toBe('UNKNOWN');
    expect(fd.heartbeatAge(1, 100)).toBeUndefined();
    fd.heartbeat(1, 200);
    expect(fd.heartbeatAge(1, 300)).toBe(100);
  });

  it('rejects a bad threshold or interval', () => {
    expect(() => detector({ threshold: 0 })).toThrow(/threshold/);
    expect(() => new FailureDetector({ expectedIntervalMs: 0, checkEveryMs: 10 })).toThrow(/interval/);
  });
});
