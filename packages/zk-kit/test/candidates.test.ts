import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanUp, waitFor, type CleanupStep } from '@clover/testkit';
import {
  ConnectionLossError,
  createZkClient,
  LeaderElection,
  readCandidates,
  watchCandidates,
  type CandidateList,
  type ZkClient,
} from '../src/index.js';

// What an agent of every server reads (docs/protocol.md, Several servers): every candidate of
// the dispatch election, in order, with the leader; on the in-process tree.
test('watchCandidates lists every candidate with its data, the lowest as leader, as they enter and leave', async () => {
  const opened: CleanupStep[] = [];
  try {
    const path = '/candidates/election';
    const session = async (): Promise<ZkClient> => {
      const zk = createZkClient({ connect: `memory:candidates-${process.pid}` });
      opened.push(['session', () => zk.close()]);
      await zk.connect();
      return zk;
    };
    const elections = new Map<string, LeaderElection>();
    const enter = async (id: string) => {
      const e = new LeaderElection(await session(), { path, id, data: { endpoint: `tcp://127.0.0.1:${id.length}` } });
      opened.push([`election ${id}`, () => e.close()]);
      await e.start();
      elections.set(id, e);
    };
    let seen: CandidateList | null = null;
    const watcher = await session();
    const stop = watchCandidates(watcher, path, (list) => (seen = list));
    opened.push(['watch', stop]);
    const ids = () => seen?.candidates.map((c) => c.id).join(',');
    await waitFor(() => (seen && seen.candidates.length === 0) || undefined, { message: 'an empty list before any candidate' });
    await enter('server-a');
    await enter('server-b');
    await enter('server-c');
    await waitFor(() => ids() === 'server-a,server-b,server-c' || undefined, { message: 'three candidates in order' });
    assert.equal(seen!.leader, 'server-a');
    assert.equal(seen!.candidates[1]!.data.endpoint, 'tcp://127.0.0.1:8');
    assert.match(seen!.candidates[0]!.node, /^c-\d+$/);
    await elections.get('server-a')!.close();
    await waitFor(() => (ids() === 'server-b,server-c' && seen!.leader === 'server-b') || undefined, { message: 'server-a gone' });
    await elections.get('server-b')!.close();
    await waitFor(() => (ids() === 'server-c' && seen!.leader === 'server-c') || undefined, { message: 'server-b gone' });
  } finally {
    await cleanUp(opened.reverse());
  }
});

// The registry's fault (a failed read taken for a node gone), in the election that agents follow
// to find every server: a candidate whose read failed was left out, and read as a server gone.
test('watchCandidates: a candidate that cannot be read is never left out; the list is unknown (null) until a read succeeds, which comes without another event', async () => {
  const opened: CleanupStep[] = [];
  try {
    const path = '/candidates-flaky/election';
    const server = `memory:candidates-flaky-${process.pid}`;
    const session = async (): Promise<ZkClient> => {
      const zk = createZkClient({ connect: server });
      opened.push(['session', () => zk.close()]);
      await zk.connect();
      return zk;
    };
    for (const id of ['server-a', 'server-b']) {
      const e = new LeaderElection(await session(), { path, id });
      opened.push([`election ${id}`, () => e.close()]);
      await e.start();
    }
    // server-b's candidate cannot be read while `failing` is set.
    const b = (await readCandidates(await session(), path)).candidates[1]!.node;
    let failing = true;
    const watcher = await session();
    const flaky = new Proxy(watcher, {
      get(target, prop, receiver) {
        if (prop !== 'get') return Reflect.get(target, prop, receiver) as unknown;
        return (p: string) => (failing && p.endsWith(`/${b}`) ? Promise.reject(new ConnectionLossError(p)) : target.get(p));
      },
    });
    const seen: Array<string | null> = [];
    const stop = watchCandidates(flaky, path, (list) => seen.push(list ? list.candidates.map((c) => c.id).join(',') : null));
    opened.push(['watch', stop]);
    await waitFor(() => seen.length > 0 || undefined, { message: 'a first answer' });
    await new Promise((r) => setTimeout(r, 1200));
    assert.deepEqual([...new Set(seen)], [null], 'unknown, never a list without server-b');
    failing = false;
    await waitFor(() => seen.at(-1) === 'server-a,server-b' || undefined, { message: 'both, read again on its own' });
  } finally {
    await cleanUp(opened.reverse());
  }
});
