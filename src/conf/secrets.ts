// Secrets that may come from a file or an environment variable instead of the YAML itself
// (`requirepass_file`, `requirepass_env`, a user's `password_file` / `password_env`,
// `stats_admin_token_file` / `_env`): read once, when the config is loaded, so `dynomite -t` checks
// them too and a missing one stops the node before it listens, naming what is missing.
import { readFileSync } from 'node:fs';

/** Where the loader reads secrets from; tests pass their own. */
export interface SecretSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  readFile(path: string): string;
}

export const PROCESS_SECRETS: SecretSources = {
  env: process.env,
  readFile: (path) => readFileSync(path, 'utf8'),
};

/** Thrown with the reason a secret could not be read. */
export class SecretError extends Error {}

/** The file's text without one trailing line break (what `echo pw > file` adds). */
export function secretFromFile(src: SecretSources, path: string): string {
  let text: string;
  try {
    text = src.readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : String((err as Error).message);
    throw new SecretError(`cannot read ${path}: ${why}`);
  }
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new SecretError(`${path} is empty`);
  return value;
}

export function secretFromEnv(src: SecretSources, name: string): string {
  const value = src.env[name];
  if (value === undefined) throw new SecretError(`environment variable ${name} is not set`);
  if (value === '') throw new SecretError(`environment variable ${name} is empty`);
  return value;
}
