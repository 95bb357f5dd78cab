import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CleanupStack } from '@clover/lifecycle';
import { RouterTransport, type Message } from '@clover/protocol';
import { freePort, startZooKeeper, waitFor } from '@clover/testkit';
import { cloverPaths, createZkClient, LeaderElection } from '@clover/zk-kit';
import { Agent, registerDemoHandlers } from '../src/index.js';
import { execOf } from './exec.js';

// Issue 16's chaos run: ZooKeeper stopped and started under a running cluster. Every agent died
// there: its leader watch fired inside the ZooKeeper client's disconnect callback, the transport
// opened its next socket in that same turn, and ZeroMQ threw EINVAL out of it.
// Issue 16's partition runs: while ZooKeeper is away the agent keeps its connection to the leader
// it follows (closing it then, as ZooKeeper reconnected, broke the agent's next sessions).
test('an agent outlives a ZooKeeper restart, runs what its leader sends while ZooKeeper is away, follows the leader again', async () => {
  const opened = new CleanupStack();
  try {
    const zk = await startZooKeeper();
    opened.push('ZooKeeper', () => zk.cleanup());
    const paths = cloverPaths('/restart');
    const port = await freePort();
    const inbox: Array<[string, Message]> = [];
    const router = new RouterTransport({ bind: `tcp://127.0.0.1:${port}`, onMessage: (p, m) => inbox.push([p, m]) });
    await router.start();
    opened.push('router', () => router.close());
    const leaderZk = createZkClient({ connect: zk.connectString, sessionTimeoutMs: 4000 });
    opened.push('leader session', () => leaderZk.close());
    await leaderZk.connect();
    const election = new LeaderElection(leaderZk, {
      path: paths.electionDispatch,
      id: 'server-1',
      data: { endpoint: `tcp://127.0.0.1:${port}` },
    });
    opened.push('election', () => election.close());
    await election.start();
    const crashes: unknown[] = [];
    const onCrash = (err: unknown) => crashes.push(err);
    process.on('uncaughtException', onCrash);
    opened.push('crash listener', () => void process.off('uncaughtException', onCrash));
    const agent = registerDemoHandlers(
      new Agent({ zk: zk.connectString, paths, id: 'agent-z', heartbeatIntervalMs: 500, drainTimeoutMs: 1000 }),
    );
    opened.push('agent', () => agent.close());
    await agent.start();
    await waitFor(() => inbox.some(([p, m]) => p === 'agent-z' && m.type === 'HELLO'), { message: 'HELLO' });

    await zk.stop();
    await new Promise((r) => setTimeout(r, 1500));
    const runOnAgent = async (what: string) => {
      const e = execOf('job', { type: 'handler', name: 'noop' });
      await router.send('agent-z', { type: 'EXEC', body: e });
      const result = await waitFor(() => inbox.find(([, m]) => m.type === 'RESULT' && m.body.execId === e.execId), {
        timeoutMs: 15_000,
        message: `the RESULT of an execution sent ${what}`,
      });
      assert.equal(result[1].type === 'RESULT' && result[1].body.status, 'succeeded');
    };
    await runOnAgent('while ZooKeeper is away');
    await zk.start();
    const hellos = inbox.length;
    await waitFor(() => inbox.slice(hellos).some(([, m]) => m.type === 'HELLO'), { timeoutMs: 30_000, message: 'HELLO after the restart' });
    await runOnAgent('after the restart');
    assert.deepEqual(crashes, [], 'nothing thrown out of a ZooKeeper callback');
  } finally {
    await opened.close();
  }
});
