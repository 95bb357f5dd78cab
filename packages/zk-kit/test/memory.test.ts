import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryZkServer, createZkClient, type WatchEvent } from '../src/index.js';
import { waitFor } from '@clover/testkit';
import { zkContract } from './contract.js';

let n = 0;
zkContract('in-process tree', () => {
  const name = `contract-${process.pid}-${++n}`;
  return Promise.resolve({
    client: async () => {
      const zk = createZkClient({ connect: `memory:${name}` });
      await zk.connect();
      return zk;
    },
    expire: (zk) => {
      MemoryZkServer.get(name).expireSession(zk.sessionId!);
      return Promise.resolve();
    },
    cleanup: () => Promise.resolve(),
  });
});

test('a watch without children arms no children watch on the tree, before and after its events; one that wants them arms it', async () => {
  const name = `leaf-${process.pid}`;
  const zk = createZkClient({ connect: `memory:${name}` });
  await zk.connect();
  try {
    const tree = MemoryZkServer.get(name);
    await zk.ensurePath('/leaf');
    const events: WatchEvent[] = [];
    await zk.watch('/leaf', (e) => events.push(e), { children: false }).ready;
    assert.deepEqual(tree.watchesOn('/leaf'), { node: 1, children: 0 });
    await zk.set('/leaf', { n: 1 });
    await waitFor(() => events.some((e) => e.type === 'data'), { message: 'data event' });
    await waitFor(() => tree.watchesOn('/leaf').node === 1 || undefined, { message: 're-armed' });
    assert.equal(tree.watchesOn('/leaf').children, 0);
    // Another listener on the same path that wants children: the path is watched with them from now on.
    await zk.watch('/leaf', (e) => events.push(e)).ready;
    assert.equal(tree.watchesOn('/leaf').children, 1);
  } finally {
    await zk.close();
  }
});
