import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnProcess, waitFor, type ChildHandle } from '@clover/testkit';
import { cloverPaths, type ZkClient } from '@clover/zk-kit';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The layout the beating nodes register under. */
export const paths = cloverPaths('/clover');

/**
 * A process that heartbeats like an agent (fixtures/beating-node.ts) as `id` under nodes/clients,
 * on ZooKeeper `connect`; `env` sets its SKEW_MS (clock offset), SESSION_MS, BEAT_MS or KIND.
 * SIGUSR2 hangs it for good with its session alive.
 */
export function beatingNode(connect: string, id: string, env: Record<string, string> = {}): ChildHandle {
  return spawnProcess(process.execPath, ['--conditions=source', '--import', 'tsx', path.join(here, 'fixtures/beating-node.ts')], {
    name: id,
    cwd: path.join(here, '..'),
    env: { CLOVER_ZK: connect, NODE_ID: id, ...env },
  });
}

/** Resolves once the node said it is ready and its znode is there. */
export async function registered(admin: ZkClient, child: ChildHandle, id: string): Promise<void> {
  await child.waitForOutput(/ready/, 30_000);
  await waitFor(() => admin.exists(paths.node('clients', id)), { message: `${id} registered` });
}
