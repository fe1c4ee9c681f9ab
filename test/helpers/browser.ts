// Headless Chromium from Debian (/usr/bin/chromium), driven by playwright-core: never a downloaded
// browser. Every page gets its console errors, page errors and requests recorded so a test can
// assert that a page loads cleanly and touches nothing but loopback.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { readFile } from 'node:fs/promises';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface BrowserSession {
  browser: Browser;
  context: BrowserContext;
  /** Console messages of type error, uncaught page errors and failed requests, in order. */
  problems: string[];
  /** Every URL the pages requested. */
  requests: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does it)`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'dyn-chromium-'));
  // A persistent context is how Playwright takes a user-data-dir: a fresh one every run.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    timeout: 30_000,
  });
  const problems: string[] = [];
  const requests: string[] = [];
  const watch = (page: Page) => {
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
    page.on('request', (r) => requests.push(r.url()));
  };
  context.on('page', watch);
  for (const p of context.pages()) watch(p);
  return {
    browser: context.browser()!,
    context,
    problems,
    requests,
    newPage: () => context.newPage(),
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm',
  '.css': 'text/css', '.json': 'application/json', '.md': 'text/markdown',
};

/** Serves the files under `root` (GET only, no directory listing) on a loopback port. */
export async function staticServer(root: string): Promise<{ url: string; close(): Promise<void> }> {
  const base = normalize(root + sep);
  const server: Server = createServer((req, res) => {
    const path = normalize(join(base, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    if (req.method !== 'GET' || !path.startsWith(base)) {
      res.writeHead(404).end();
      return;
    }
    readFile(path).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Only loopback URLs (and data:/blob:) were requested. */
export function foreignRequests(requests: readonly string[]): string[] {
  return requests.filter((u) => !/^(https?:\/\/127\.0\.0\.1(:\d+)?\/|data:|blob:|about:)/.test(u));
}
