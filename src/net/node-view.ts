// The node as its connection commands see it (src/net/conn-commands.ts): users for AUTH, the
// command table for COMMAND, the parameters CONFIG GET answers, the node's own INFO section.
import { createHash } from 'node:crypto';
import type { CommandTable } from '../wasm/commands.js';
import type { UserSpec } from '../conf/options.js';
import type { ClientUser } from './session.js';
import type { ConnHandle, NodeView } from './conn-commands.js';


export interface NodeViewOptions {
  readonly commands: CommandTable;
  /** The `default` user's password; none: connections start authenticated. */
  readonly requirepass?: string;
  readonly users?: readonly UserSpec[];
  readonly listen: { host: string; port: number };
  readonly maxMessageBytes: number;
  readonly dataStore: string;
  readonly pool: string;
  readonly datacenter: string;
  readonly rack: string;
  readonly version: string;
  readonly startedAt: number;
  /** Live numbers for the node's INFO section (state, consistency, peers...). */
  readonly extraInfo?: () => Record<string, string | number>;
  readonly connections: () => Iterable<ConnHandle>;
}

export function sha256Hex(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('hex');
}

function toUser(u: UserSpec): ClientUser {
  const hash = u.sha256 !== undefined ? u.sha256.toLowerCase() : sha256Hex(u.password ?? '');
  return Object.freeze({ name: u.name, sha256: hash, readonly: u.readonly === true, enabled: u.enabled !== false });
}

/** Sections INFO asks for that include the node's own (`dynomite`). */
function wantsNode(sections: readonly string[]): boolean {
  if (sections.length === 0) return true;
  return sections.some((s) => s === 'all' || s === 'default' || s === 'everything' || s === 'dynomite');
}

export function makeNodeView(o: NodeViewOptions): NodeView {
  const users = new Map<string, ClientUser>();
  for (const u of o.users ?? []) users.set(u.name, toUser(u));
  if (o.requirepass !== undefined) users.set('default', toUser({ name: 'default', password: o.requirepass }));
  const defaultUser = users.get('default');
  // What redis-benchmark (save, appendonly) and client libraries ask for, answered for the proxy:
  // it persists nothing itself, evicts nothing, has one database and no cluster slots.
  const config = new Map<string, string>([
    ['save', ''],
    ['appendonly', 'no'],
    ['appendfsync', 'everysec'],
    ['maxmemory', '0'],
    ['maxmemory-policy', 'noeviction'],
    ['databases', '1'],
    ['port', String(o.listen.port)],
    ['bind', o.listen.host],
    ['timeout', '0'],
    ['tcp-keepalive', '300'],
    ['maxclients', '10000'],
    ['proto-max-bulk-len', String(o.maxMessageBytes)],
    ['cluster-enabled', 'no'],
    ['notify-keyspace-events', ''],
    ['slowlog-log-slower-than', '10000'],
    ['lua-time-limit', '5000'],
  ]);
  return {
    commands: o.commands,
    users,
    defaultUser,
    configValues: () => {
      config.set('port', String(o.listen.port));
      return config;
    },
    infoSections(sections) {
      if (!wantsNode(sections)) return '';
      let n = 0;
      for (const _ of o.connections()) n++;
      const fields: Record<string, string | number> = {
        dynomite_version: o.version,
        pool: o.pool,
        datacenter: o.datacenter,
        rack: o.rack,
        data_store: o.dataStore,
        tcp_port: o.listen.port,
        uptime_in_seconds: Math.floor((Date.now() - o.startedAt) / 1000),
        connected_clients: n,
        ...o.extraInfo?.(),
      };
      return `# Dynomite\r\n${Object.entries(fields).map(([k, v]) => `${k}:${v}\r\n`).join('')}`;
    },
    connections: o.connections,
  };
}
