import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '@clover/store';
import { cleanUp, freePort, tempDir, type CleanupStep } from '@clover/testkit';
import { createZkClient, type ZkClient } from '@clover/zk-kit';
import { DispatchServer, type DispatchServerOptions } from '../src/index.js';
import { paths } from './harness.js';

// A single-leader dispatch-server fires every job; beside servers that share the jobs out, each
// slot would be fired twice (the run key stopping a second run, not a forbid overlap across
// servers). Whichever mode comes second is refused at its start, naming the servers in its way.
test('a dispatch-server of the other mode is refused at its start: shares beside a single leader, and a single leader beside shares', async () => {
  const opened: CleanupStep[] = [];
  try {
    const dir = await tempDir('clover-mode-');
    opened.push(['dir', () => dir.cleanup()]);
    const store = await openStore({ dataDir: dir.path });
    opened.push(['store', () => store.close()]);
    const session = async (tree: string): Promise<ZkClient> => {
      const zk = createZkClient({ connect: `memory:${tree}-${process.pid}` });
      opened.push(['session', () => zk.close()]);
      await zk.connect();
      return zk;
    };
    const server = async (tree: string, id: string, sharing: boolean) => {
      const opts: DispatchServerOptions = { zk: await session(tree), paths, store, id, bind: `tcp://127.0.0.1:${await freePort()}` };
      const s = new DispatchServer(sharing ? { ...opts, shares: true, partitionCount: 16 } : opts);
      opened.push([`server ${id}`, () => s.close()]);
      return s;
    };

    await (await server('mode-a', 'single-1', false)).start();
    const sharing = await server('mode-a', 'sharing-1', true);
    await assert.rejects(
      sharing.start(),
      /^Error: dispatch-server sharing-1 shares the jobs out, but single-1 fire every job as a single leader: every dispatch-server of a cluster must run in the same mode \(CLOVER_DISPATCH_SHARES\); stop them first$/,
    );
    assert.equal(sharing.isLeader, false);

    await (await server('mode-b', 'sharing-2', true)).start();
    await (await server('mode-b', 'sharing-3', true)).start();
    const single = await server('mode-b', 'single-2', false);
    await assert.rejects(
      single.start(),
      /^Error: dispatch-server single-2 fires every job as a single leader, but sharing-2, sharing-3 share the jobs out/,
    );
    assert.equal(single.isLeader, false);
    // The same id as a live candidate of the other mode is an earlier life of this server: let be.
    const again = await server('mode-b', 'sharing-2', false);
    await assert.rejects(again.start(), /but sharing-3 share the jobs out/);
  } finally {
    await cleanUp(opened.reverse());
  }
});
