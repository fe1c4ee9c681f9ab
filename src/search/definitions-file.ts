// The FT index definitions of a node on disk (search_definitions_file): JSON, the same form a peer
// answers to FT.CONFIG GET __DYNOMITE_INDEX_DEFINITIONS. Written atomically (a temporary file in the
// same directory, fsync'd, then renamed over the old one), so a crash mid-write leaves the previous
// definitions, never half a file.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { IndexDef } from './schema.js';

/** The definitions in `path`; none when the file does not exist. A file that is not ours throws, naming it. */
export function readDefinitions(path: string): IndexDef[] {
  if (!existsSync(path)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`search_definitions_file ${path}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  if (!Array.isArray(parsed) || !parsed.every((d) => typeof d === 'object' && d !== null && typeof (d as IndexDef).name === 'string' && Array.isArray((d as IndexDef).fields))) {
    throw new Error(`search_definitions_file ${path}: expected a JSON array of index definitions`);
  }
  return parsed as IndexDef[];
}

export function writeDefinitions(path: string, defs: readonly IndexDef[]): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, `${JSON.stringify(defs, null, 1)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
