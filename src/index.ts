// dynomite-ts as a library: start a node inside a Node program, load Netflix configs, or use the
// WASM core directly. Explicit named exports only: this list is the public API.

// Running a node
export { startNode, type NodeOptions, type RunningNode, type ClusterOptions } from './node.js';
export { NodeControl } from './control.js';

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
