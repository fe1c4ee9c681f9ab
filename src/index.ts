// dynomite-ts as a library: start a node inside a Node program, load Netflix configs, or use the
// WASM core directly. Explicit named exports only: this list is the public API.

// Running a node
export { startNode, type NodeOptions, type RunningNode, type ClusterOptions } from './node.js';
export { NodeControl } from './control.js';

// Embedding: a node in a program, its hooks and events, an in-process cluster
export { createNode, DynomiteNode, type EmbedOptions, type EmbedHooks, type NodeEvents, type SeedsProvider, type MetricsSink } from './embed/node.js';
export { InProcessNetwork, MemoryLink } from './embed/in-process.js';
export { OK, encodeReply, type Datastore, type StreamDatastore, type DatastoreRequest, type DatastoreReply, type StatusReply } from './embed/datastore.js';
export { ReplyError, type Reply } from './embed/client.js';
export type { RingView, PeerInfo, NodeState } from './embed/ring-view.js';
export type { MembershipEvent } from './cluster/node-cluster.js';
export { TCP_TRANSPORT, type PeerTransport, type LinkSocket, type LinkListener } from './net/transport.js';
export type { NodeHooks } from './node.js';

// Netflix-compatible configuration
export { loadConfig, parseConfig, ConfigError, type ConfigIssue, type ParseOptions } from './conf/load.js';
export { nodeOptionsFromConfig } from './conf/node-options.js';
export {
  CONSISTENCY_LEVELS, HASH_NAMES, type ConsistencyLevel, type HashName, type NodeConfig, type SeedSpec,
  type ServerSpec, type DataStore,
} from './conf/types.js';

// The WASM core (framing, hashing, digests) for direct use
export { createCore, sharedCore, wasmPath, DEFAULT_CORE_OPTIONS, type Core, type CoreOptions } from './wasm/core.js';
export { ABI, type CoreExports } from './wasm/abi.js';
export { Framer, FramingError, type FrameSink, type FramerMode } from './wasm/framer.js';
export { loadCommandTable, type CommandInfo, type CommandTable } from './wasm/commands.js';

// Building blocks with their own uses
export { MemoryStore } from './store/memory/index.js';
export { CoalesceTracker, type Decision, type CoalesceTarget } from './dispatch/coalesce.js';
export { buildTopology, type Topology, type PeerSpec, type LocalNodeSpec } from './route/topology.js';
export { plan, Plan, describe as describeCluster } from './route/planner.js';
export { Stats } from './observe/stats.js';
export { describeStats } from './observe/stats-table.js';
export { DYN_ERRORS, type DynErrorCode } from './errors.js';
export { VERSION } from './version.js';
