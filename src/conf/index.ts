// The config module's public surface: load a Netflix-compatible YAML file into a NodeConfig.
export { ConfigError, formatIssue, loadConfig, parseConfig, type ConfigIssue, type ParseOptions } from './load.js';
export { CONFIG_KEYS, CONFIG_KEY_NAMES, REQUIRED, type ConfigKey } from './schema.js';
export { nodeOptionsFromConfig } from './node-options.js';
export { renderConfigDocs } from './docs.js';
export * from './types.js';
