// The node's run-time settings that operators change while it runs (stats port, per-connection
// pseudo-commands): consistency levels, state, read repair, timeout factor, log level. One object,
// read by the request path, written by the admin endpoint.
import type { Logger } from 'pino';
import type { ConsistencyLevel } from './conf/types.js';
import type { AdminHooks, ClusterDescription, PeerAction, SettableState } from './observe/http.js';

/** Netflix's verbosity scale (0..11) to pino levels, as `-v` maps it. */
const VERBOSITY_TO_PINO = ['fatal', 'error', 'warn', 'info', 'info', 'info', 'debug', 'trace', 'trace', 'trace', 'trace', 'trace'] as const;

export class NodeControl implements AdminHooks {
  readConsistency: ConsistencyLevel;
  writeConsistency: ConsistencyLevel;
  state: string = 'NORMAL';
  readRepairs: boolean;
  timeoutFactor = 1;
  private verbosity: number;

  constructor(
    private readonly log: Logger,
    init: { read: ConsistencyLevel; write: ConsistencyLevel; readRepairs: boolean; verbosity?: number },
    private readonly describe: () => ClusterDescription,
    private readonly onPeerAction: (action: PeerAction, target: string | undefined) => void = () => undefined,
  ) {
    this.readConsistency = init.read;
    this.writeConsistency = init.write;
    this.readRepairs = init.readRepairs;
    this.verbosity = init.verbosity ?? 5;
  }

  getConsistency(): { read: ConsistencyLevel; write: ConsistencyLevel } {
    return { read: this.readConsistency, write: this.writeConsistency };
  }

  setConsistency(which: 'read' | 'write', level: ConsistencyLevel): void {
    if (which === 'read') this.readConsistency = level;
    else this.writeConsistency = level;
    this.log.info({ which, level }, 'consistency changed');
  }

  getState(): string {
    return this.state;
  }

  setState(state: SettableState): void {
    this.state = state;
    this.log.info({ state }, 'node state changed');
  }

  getReadRepairs(): boolean {
    return this.readRepairs;
  }

  setReadRepairs(enabled: boolean): void {
    this.readRepairs = enabled;
    this.log.info({ enabled }, 'read repairs changed');
  }

  /** Set by the cluster layer: the live topology's description (else the standalone node's). */
  describeCluster: (() => ClusterDescription) | undefined;

  clusterDescribe(): ClusterDescription {
    return (this.describeCluster ?? this.describe)();
  }

  setLogLevel(level: number): void {
    this.verbosity = Math.max(0, Math.min(11, Math.trunc(level)));
    this.log.level = VERBOSITY_TO_PINO[this.verbosity];
  }

  logLevelUp(): void {
    this.setLogLevel(this.verbosity + 1);
  }

  logLevelDown(): void {
    this.setLogLevel(this.verbosity - 1);
  }

  getTimeoutFactor(): number {
    return this.timeoutFactor;
  }

  setTimeoutFactor(factor: number): void {
    this.timeoutFactor = factor;
  }

  /** Set by the cluster layer: anti-entropy's status and start (a node without a cluster has none). */
  antiEntropy: { status(): object; run(why: 'manual'): { started: boolean } } | undefined;

  antiEntropyStatus(): object | undefined {
    return this.antiEntropy?.status();
  }

  runAntiEntropy(): { started: boolean } | undefined {
    const r = this.antiEntropy?.run('manual');
    return r === undefined ? undefined : { started: r.started };
  }

  /** Set by the cluster layer: what /peer/<action>/<peer> does to the peers (else the constructor's). */
  peerAction: ((action: PeerAction, target: string | undefined) => void) | undefined;

  peer(action: PeerAction, target: string | undefined): void {
    (this.peerAction ?? this.onPeerAction)(action, target);
  }

  /**
   * Whether the node state lets a request reach the local datastore. Netflix (dyn_client.c
   * req_forward_local_datastore): NORMAL everything; STANDBY nothing ("no reads/writes from
   * peers/clients"); WRITES_ONLY and RESUMING writes only (RESUMING "still drop read requests and
   * flush out all the queued writes"). Anything else (JOINING, ...) refuses too.
   */
  allows(isWrite: boolean): boolean {
    if (this.state === 'NORMAL') return true;
    if (this.state === 'WRITES_ONLY' || this.state === 'RESUMING') return isWrite;
    return false;
  }
}
