import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import type { CleanupStack } from '@clover/lifecycle';
import { freePort, spawnProcess, tempDir, within, type ChildHandle, type TempDir } from '@clover/testkit';
import { ConsoleSession, waitForHealth } from './api.js';
import { launchBrowser } from './browser.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** What `pnpm start` runs once turbo has built the tree (the test suite builds it first). */
export const cloverBin = path.join(repoRoot, 'packages/clover/dist/bin.js');

export interface StandaloneConsole {
  data: TempDir;
  proc: ChildHandle;
  baseUrl: string;
  httpPort: number;
  browser: Browser;
  /** A session of `admin` with `password`. */
  api: ConsoleSession;
  env: Record<string, string>;
}

/**
 * `clover standalone` (built bins, a fresh data directory, free ports) and Chromium, started side
 * by side; each part's clean-up is pushed on `opened` as it comes up, so the caller's after hook
 * closes exactly what was opened, even when a later part failed to start.
 */
export async function startStandaloneConsole(opened: CleanupStack, password: string): Promise<StandaloneConsole> {
  const data = await tempDir('clover-console-');
  opened.push('temp dir', () => data.cleanup());
  const httpPort = await freePort();
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  const env = {
    CLOVER_DATA_DIR: data.path,
    CLOVER_HTTP_PORT: String(httpPort),
    CLOVER_DISPATCH_BIND: `tcp://127.0.0.1:${await freePort()}`,
    CLOVER_ADMIN_PASSWORD: password,
  };
  const proc = spawnProcess(process.execPath, [cloverBin, 'standalone'], { name: 'standalone', cwd: repoRoot, env });
  opened.push('standalone', () => proc.kill('SIGTERM'));
  // Kept so the clean-up can close a browser whose launch finished after the server failed to
  // start (Promise.all rejects at once, and the browser would be left running).
  const launching = launchBrowser();
  opened.push('chromium', async () => {
    const b = await launching.catch(() => undefined);
    await within(b?.close() ?? Promise.resolve(), 20_000, 'chromium to close').catch(() => {});
  });
  const [browser] = await Promise.all([launching, proc.waitForOutput(/console at http/, 60_000)]);
  await waitForHealth(baseUrl);
  const api = await ConsoleSession.login(baseUrl, 'admin', password);
  return { data, proc, baseUrl, httpPort, browser, api, env };
}

export interface Standalone {
  proc: ChildHandle;
  /** The console, `http://127.0.0.1:<port>`. */
  baseUrl: string;
  /** The dispatch-server's ROUTER endpoint (CLOVER_DISPATCH_BIND). */
  bind: string;
}

/**
 * `clover standalone` on free ports over `dataDir`, `env` added to (or overriding) its settings;
 * resolves once its console answers /api/health (60 s at most). The caller kills `proc`.
 */
export async function startStandalone(dataDir: string, env: Record<string, string> = {}): Promise<Standalone> {
  const httpPort = await freePort();
  const bind = `tcp://127.0.0.1:${await freePort()}`;
  const proc = spawnProcess(process.execPath, [cloverBin, 'standalone'], {
    name: 'standalone',
    cwd: repoRoot,
    env: { CLOVER_DATA_DIR: dataDir, CLOVER_HTTP_PORT: String(httpPort), CLOVER_DISPATCH_BIND: bind, ...env },
  });
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  try {
    await proc.waitForOutput(/console at http/, 60_000);
    await waitForHealth(baseUrl);
  } catch (err) {
    await proc.kill('SIGKILL');
    throw err;
  }
  return { proc, baseUrl, bind };
}
