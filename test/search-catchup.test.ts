// A node joining a ring asks a peer for its FT index definitions (FT.CONFIG GET) until one answers.
// A peer that fails that request (a Netflix dynomite peer closes its link on an unknown command) is
// not asked again: asking it every second cut every request in flight on that link every second.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NodeSearch } from '../src/search/node-search.js';
import type { RingAccess } from '../src/search/scatter.js';
import type { Topology } from '../src/route/topology.js';
import type { ReplyTarget } from '../src/dispatch/request.js';
import { createCore } from '../src/wasm/core.js';
import { silentLogger } from './helpers/node.js';

type Answer = (t: ReplyTarget, seq: number) => void;

function ring(answers: Answer[]): { ring: RingAccess; asked: number[] } {
  const asked: number[] = [];
  const topology = { nodes: [{}, ...answers.map(() => ({}))] } as unknown as Topology;
  return {
    asked,
    ring: {
      topology: () => topology,
      peer: (n) => (n === 0 ? undefined : {
        up: true,
        send: (_type, target, seq) => {
          asked.push(n);
          answers[n - 1]!(target, seq);
        },
      }),
    },
  };
}

const closesLink: Answer = (t, seq) => t.fail(seq, 'PEER_ERR_REFUSED');
const answersDefs: Answer = (t, seq) => t.completeBuffer(seq, Buffer.from('$2\r\n[]\r\n'));

describe('search catch-up (FT.CONFIG GET to a peer)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks a peer that fails it once, then the next peer; stops once one answers', async () => {
    vi.useFakeTimers();
    const { ring: r, asked } = ring([closesLink, answersDefs]);
    const s = new NodeSearch(createCore({ mbufCount: 16 }), silentLogger);
    s.joinRing(r);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(asked).toEqual([1, 2]);
    s.close();
  });

  it('stops asking when every peer failed it (an all-Netflix ring)', async () => {
    vi.useFakeTimers();
    const { ring: r, asked } = ring([closesLink, closesLink]);
    const s = new NodeSearch(createCore({ mbufCount: 16 }), silentLogger);
    s.joinRing(r);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(asked).toEqual([1, 2]);
    s.close();
  });
});
