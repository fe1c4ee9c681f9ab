// Starts a dynomite-ts node in-process for tests (silent logger), on a free loopback port.
import { pino } from 'pino';
import { startNode, type NodeOptions, type RunningNode } from '../../src/node.js';
import { DEFAULT_NODE_OPTIONS } from '../../src/conf/options.js';

export const silentLogger = pino({ level: 'silent' });

/** DEFAULT_NODE_OPTIONS on a free loopback port, reconnecting to the datastore after 1 s, then o. */
export function nodeOptions(o: Partial<NodeOptions>): NodeOptions {
  return { ...DEFAULT_NODE_OPTIONS, listen: { host: '127.0.0.1', port: 0 }, retryTimeoutMs: 1000, ...o };
}

export function startTestNode(o: Partial<NodeOptions>): Promise<RunningNode> {
  return startNode(nodeOptions(o), { logger: silentLogger });
}
