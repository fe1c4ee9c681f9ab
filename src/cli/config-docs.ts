// Generates docs/config.md from the key table (conf/schema.ts) and the flag table (cli/args.ts), so the
// docs cannot drift: test/conf.test.ts compares the file with renderConfigDocs().
// Regenerate with:  npx tsx src/cli/config-docs.ts
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { flagRows, VERBOSITY_LEVELS } from './args.js';
import { CONFIG_KEY_NAMES, CONFIG_KEYS, REQUIRED, type AnyKeyDef } from '../conf/schema.js';

export const DOCS_PATH = fileURLToPath(new URL('../../docs/config.md', import.meta.url));

function renderDefault(def: AnyKeyDef): string {
  if ('defaultDoc' in def && def.defaultDoc !== undefined) return def.defaultDoc;
  const v: unknown = def.default;
  if (def.field === null) return '—';
  if (v === REQUIRED) return '**required**';
  if (v === null) return 'unset';
  if (Array.isArray(v)) return v.length === 0 ? 'none' : `\`${v.join(',')}\``;
  if (typeof v === 'object') return `\`${(v as { text: string }).text}\``;
  return `\`${String(v)}\``;
}

function renderType(def: AnyKeyDef): string {
  const { kind, constraint } = def.type;
  return constraint === undefined ? kind : `${kind}: ${constraint}`;
}

function keyTable(): string[] {
  const rows = ['| key | type | default | Netflix | meaning |', '|---|---|---|---|---|'];
  for (const name of CONFIG_KEY_NAMES) {
    const def: AnyKeyDef = CONFIG_KEYS[name];
    const field = def.field === null || def.field === name ? '' : ` (\`${def.field}\`)`;
    rows.push(`| \`${name}\`${field} | ${renderType(def)} | ${renderDefault(def)} | ${def.netflix ? 'yes' : '**ours**'} | ${def.doc} |`);
  }
  return rows;
}

function flagTable(): string[] {
  return ['| flag | meaning |', '|---|---|', ...flagRows().map(([flag, doc]) => `| ${flag} | ${doc} |`)];
}

function levelTable(): string[] {
  return [
    '| `-v` | Netflix level | pino level |',
    '|---|---|---|',
    ...VERBOSITY_LEVELS.map(([netflix, pinoLevel], i) => `| ${i} | ${netflix} | ${pinoLevel} |`),
  ];
}

const INTRO = `# dynomite-ts configuration

<!-- Generated from src/conf/schema.ts and src/cli/args.ts by \`npx tsx src/cli/config-docs.ts\`.
     Do not edit by hand: test/conf.test.ts fails when this file is stale. -->

The configuration is a Netflix Dynomite YAML file: exactly one top-level key naming the pool
(\`dyn_o_mite:\` in practice; the stats JSON is keyed by it) whose value maps the keys below. Every
sample config of Netflix Dynomite parses unchanged.

\`\`\`yaml
dyn_o_mite:
  listen: 127.0.0.1:8102
  dyn_listen: 127.0.0.1:8101
  tokens: '101134286'
  data_store: memory
  stats_listen: 127.0.0.1:22222
\`\`\`

## How values are read

- Like Netflix (libyaml), every scalar is read as a string: \`timeout: 5000\` and \`timeout: '5000'\` are
  the same value, and a boolean is exactly \`true\` or \`false\` (\`yes\` is an error).
- Durations are integers in milliseconds, sizes in bytes.
- Enumerated values (\`hash\`, consistency levels, ...) match case-insensitively.
- A list key (\`servers\`, \`dyn_seeds\`) also accepts a single string as a one-entry list.
- For most numeric keys Netflix treats \`0\` as "unset" and applies the default; we do the same where the
  type column says "0 means the default". \`dyn_connections: 0\` is an error, as in Netflix.
  \`datastore_connections\`, \`local_peer_connections\` and \`remote_peer_connections\` are 8-bit numbers in
  Netflix: they are "taken modulo 256" (300 means 44), then 0 means the default, 1.
- The loaded result is a frozen \`NodeConfig\` (src/conf/types.ts). Each key \`snake_case\` becomes the
  field \`camelCase\` shown in the table; addresses are parsed into \`{host, port, text}\`, seeds into
  \`{host, port, rack, dc, tokens, name, text}\`, \`tokens\` into a number array.

## Errors

A file with problems is rejected as a whole with one \`ConfigError\` listing **every** problem, one per
line, each naming the file, the key path and the reason:

\`\`\`
conf/x.yml: dyn_o_mite.timeout: expected a non-negative integer, got "abc"
conf/x.yml: dyn_o_mite.dyn_seeds[1]: invalid port "99999" in "10.0.0.2:99999:rack2:dc:0" (expected "host:port:rack:dc:tokens [name]", port 1..65535)
conf/x.yml: dyn_o_mite.listne: unknown key (did you mean listen?)
conf/x.yml: dyn_o_mite.tokens: missing required key
\`\`\`

A YAML syntax error gives its position: \`conf/x.yml:3:5: YAML syntax error: ...\`. Also rejected: a file
that cannot be read, more than one YAML document, anything but exactly one top-level pool key, unknown
keys, bad values and missing required keys. Deprecated keys are accepted, ignored and reported in
\`NodeConfig.warnings\` (the CLI logs them).

## Keys
`;

const FORMATS = `
## Formats

- \`host:port\`: split at the last colon, so \`::1:8101\` and \`[::1]:8101\` both mean host \`::1\`; port
  1..65535. Names are not resolved when the file is loaded (Netflix resolves them at load time); they are
  resolved when the node binds or connects. Unix socket paths (Netflix allows \`/path\`) are rejected.
- \`servers\` entry: \`host:port:weight [name]\`, e.g. \`127.0.0.1:6379:1\`. Exactly one entry: the node's
  local datastore. With \`data_store: memory\` the key is optional and, if present, ignored (a warning).
- \`dyn_seeds\` entry: \`host:port:rack:dc:tokens [name]\`, parsed from the right, e.g.
  \`127.0.0.2:8101:rack2:dc:1383429731\`; \`tokens\` may be a comma list (\`...:dc:1,2147483648\`).
- \`tokens\`: a comma list of ring points 0..4294967295, quoted or not (\`'1383429731'\`, \`437425602\`).

## Where we differ from Netflix

- \`data_store: memory\` (ours) runs the embedded in-memory datastore; \`servers\` is then not needed.
- \`tokens\` is required (Netflix does not check; a node without tokens owns no ring point).
- \`listen\`, \`dyn_listen\` and \`stats_listen\` may not share one address (including a wildcard host
  on the same port): Netflix would fail later, at bind time.
- \`secure_server_option\`, \`env\` and \`dyn_seed_provider\` reject unknown values (Netflix logs an
  error for a bad \`secure_server_option\` and carries on, and does not check the others).
- \`max_message_bytes\` is ours; \`redis_requirepass\` comes from the Rust port (dynomite-engine).
`;

const AUTH = `
## Authentication

Clients authenticate as in Redis 6+ (details and the stats port guard: [security.md](security.md)):

\`\`\`yaml
dyn_o_mite:
  requirepass_file: /run/secrets/dynomite-default   # or requirepass: ..., or requirepass_env: VAR
  users:
    - name: app
      password_env: DYNOMITE_APP_PASSWORD
    - name: reporting
      password_hash: '#5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8'
      read_only: true
    - name: old-service
      password_file: /run/secrets/old-service
      enabled: false
  stats_admin_token_env: DYNOMITE_ADMIN_TOKEN
\`\`\`

- A \`users\` entry takes \`name\` (no spaces), exactly one of \`password\` (in clear, kept as written),
  \`password_hash\` (\`'#'\` and the 64 hex digits of the password's SHA-256, as Redis ACL \`#<hash>\`; quote it,
  an unquoted \`#\` starts a YAML comment; \`echo -n pw | sha256sum\` computes it), \`password_file\` or
  \`password_env\`, and optionally \`read_only\` and \`enabled\` (\`true\` / \`false\`, default \`false\` / \`true\`).
- \`*_file\` and \`*_env\` secrets are read once, when the file is loaded (so \`dynomite -t\` checks them too).
  A file loses one trailing line break; a relative path is relative to the working directory. A missing or
  empty file or variable is an error naming the key and the file or variable.
- Without \`requirepass\` (or a user named \`default\`) connections start as \`default\` with every right,
  as in Redis; named users can still \`AUTH\`.
`;

const CLI = `
## Command line

\`dynomite [-?hVdDt] [-v N] [-o file] [-c conf] [-p pidfile] [-m mbuf] [-M msgs]\`, and
\`dynomite hash ...\` (token hashing tool). Short flags combine (\`-dt\`), values come as \`-v 6\`, \`-v6\`,
\`--verbosity=6\` or \`--verbosity 6\`, long names may be shortened to a unique prefix (getopt rules).
`;

const CLI_NOTES = `
Notes on compatibility:

- As Netflix does, the CLI's own output (version banner, usage, \`-t\` verdicts, \`-D\`) goes to
  **stderr**; stdout stays empty. \`-h\` prints the banner \`This is dynomite-<version>\`, a blank line, then
  the Netflix usage text verbatim except the \`-c\` default: ours is \`conf/dynomite.yml\` (Netflix's
  source default; its packaged build shows \`/usr/local/etc/dynomite.yml\`). Lines end in \`\\n\` where
  Netflix writes \`\\r\\n\`. \`-?\` prints the help too (Netflix advertises it but rejects it).
- \`-t\` prints \`dynomite: configuration file '<f>' syntax is valid\` and exits 0, or every problem
  followed by \`dynomite: configuration file '<f>' syntax is invalid\` and exits 1.
- A bad flag prints the Netflix message (\`dynomite: invalid option -- 'z'\`,
  \`dynomite: option -c requires a file name\`, ...) then the usage, and exits 1. \`-g/--gossip\`, listed in
  Netflix's README, is rejected as the current Netflix binary does; use \`enable_gossip: true\`.
- \`-M\`, \`-x\` and \`-y\` are accepted as in Netflix but not listed by \`-h\`.
- Running: logs go to stderr or the \`-o\` file; nothing is printed to stdout. SIGTERM and SIGINT
  close the node and exit 0 (a second signal exits 1 at once); SIGHUP reopens the \`-o\` file; an
  uncaught error is logged at fatal level and exits 1. The pid file holds the pid (no newline).
- \`-d\`: Node cannot fork, so the command re-runs itself detached (new session) with
  \`DYNOMITE_DAEMONIZED=1\`, stdin closed and stdout/stderr to the \`-o\` file (or /dev/null), and the
  parent exits 0. The configuration is checked before that, so a bad file still fails in the
  foreground. The working directory is kept (Netflix keeps it too, to allow core dumps).

### Verbosity

\`-v\` takes Netflix's levels 0..11 (default 5) and maps them to pino levels:

`;

/** The full text of docs/config.md. */
export function renderConfigDocs(): string {
  const sections = [INTRO, keyTable().join('\n'), FORMATS, AUTH, CLI, flagTable().join('\n'), CLI_NOTES, levelTable().join('\n')];
  return `${sections.map((s) => s.trim()).join('\n\n')}\n`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(DOCS_PATH, renderConfigDocs());
  process.stdout.write(`wrote ${DOCS_PATH}\n`);
}
