#!/usr/bin/env node
// The `dynomite` command: runs the compiled CLI (dist/, built by `npm run build`).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(`dynomite: ${entry.pathname} is missing; run npm run build\n`);
  process.exit(1);
}
const { runCli } = await import(entry.href);
await runCli();
