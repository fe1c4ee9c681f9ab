// Starts a dynomite-ts node in-process for tests (silent logger), on a free loopback port.
import { pino } from 'pino';
import { startNode, type NodeOptions, type RunningNode } from '../../src/node.js';

export const silentLogger = pino({ level: 'silent' });

export function nodeOptions(o: Partial<NodeOptions>): NodeOptions {
  return {
    poolName: 'dyn_o_mite',
    listen: { host: '127.0.0.1', port: 0 },
    backlog: 1024,
    dataStore: 'redis',
    datastoreConnections: 1,
    timeoutMs: 5000,
    preconnect: true,
    autoEject: true,
    failureLimit: 3,
    retryTimeoutMs: 1000,
    hash: 'murmur',
    mbufSize: 16384,
    maxMessageBytes: 64 * 1024 * 1024,
    readConsistency: 'DC_ONE',
    writeConsistency: 'DC_ONE',
    datacenter: 'localdc',
    rack: 'localrack',
    ...o,
  };
}

export function startTestNode(o: Partial<NodeOptions>): Promise<RunningNode> {
  return startNode(nodeOptions(o), { logger: silentLogger });
}
