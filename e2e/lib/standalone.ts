import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnProcess, type ChildHandle } from '@clover/testkit';
import { waitForHealth } from './api.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The built `clover` bin (the test suite builds the tree first). */
export const cloverBin = path.join(repoRoot, 'packages/clover/dist/bin.js');

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
