import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { waitFor } from '@clover/testkit';
import {
  JobChangeFeed,
  LeaderElection,
  NodeRegistry,
  cloverPaths,
  defaultClusterConfig,
  publishJobChange,
  readClusterConfig,
  readLeader,
  watchClusterConfig,
  watchLeader,
  type ClusterConfig,
  type JobChange,
  type LeaderInfo,
  type ZkClient,
} from '../src/index.js';
import { recordingLogger, type RecordingLogger } from '@clover/telemetry';

/** What a fallback warned of: the warn and error lines. */
const warningsOf = (logger: RecordingLogger) => [...logger.messages('warn'), ...logger.messages('error')];

/**
 * Each recipe against its znodes deleted or changed behind its back by a second, plain client
 * (what the console's Nodes page and zkCli do): the recipe restores itself and keeps working.
 * Registered inside the contract suite, so both backends run it.
 */
export function healingContract(client: () => Promise<ZkClient>, freshRoot: () => string): void {
  test('self-healing election: the election folder deleted under a lone leader; it steps down, re-enters, is elected again and readers find it', async () => {
    const zk = await client();
    const raw = await client();
    const path = `${freshRoot()}/election/dispatch`;
    const election = new LeaderElection(zk, { path, id: 'server-1', data: { endpoint: 'tcp://10.0.0.1:7710' } });
    const seen: string[] = [];
    election.on('elected', () => seen.push('elected')).on('revoked', () => seen.push('revoked'));
    const followed: Array<LeaderInfo | null> = [];
    const unfollow = watchLeader(raw, path, (l) => followed.push(l));
    try {
      await election.start();
      await waitFor(() => election.isLeader, { message: 'leads' });
      const before = election.candidatePath;
      await waitFor(() => followed.at(-1)?.id === 'server-1', { message: 'a reader follows the leader' });

      await raw.delete(path, { recursive: true });
      await waitFor(() => seen.join() === 'elected,revoked,elected', { message: 'revoked, then elected again' });
      assert.equal(election.isLeader, true);
      assert.ok(before, 'had a candidate');
      const candidates = await waitFor(
        async () => {
          const names = await raw.children(path).catch(() => []);
          return names.length === 1 ? names : undefined;
        },
        { message: 'the folder and one candidate are back' },
      );
      assert.equal(`${path}/${candidates[0]}`, election.candidatePath);
      assert.deepEqual(await readLeader(raw, path), { id: 'server-1', data: { id: 'server-1', endpoint: 'tcp://10.0.0.1:7710' } });
      // Readers (the agents finding the leader's endpoint) lost it and found it again.
      await waitFor(() => followed.at(-1)?.id === 'server-1' && followed.includes(null), {
        message: 'readers saw the leader go and come back',
      });
    } finally {
      unfollow();
      await election.close();
    }
  });

  test('self-healing election: the folder deleted under a leader and a follower; never two leaders, one is elected, both candidates back', async () => {
    const zks = [await client(), await client()];
    const raw = await client();
    const path = `${freshRoot()}/election`;
    const elections = zks.map((zk, i) => new LeaderElection(zk, { path, id: `n${i}` }));
    let maxLeaders = 0;
    const sample = setInterval(() => {
      maxLeaders = Math.max(maxLeaders, elections.filter((e) => e.isLeader).length);
    }, 2);
    const elected = [0, 0];
    elections.forEach((e, i) => e.on('elected', () => elected[i]!++));
    try {
      for (const e of elections) await e.start();
      await waitFor(() => elections[0]!.isLeader, { message: 'the first leads' });
      const electedBefore = elected[0]! + elected[1]!;
      await raw.delete(path, { recursive: true });
      await waitFor(() => elected[0]! + elected[1]! > electedBefore, { message: 'an elected callback fires again' });
      await waitFor(async () => (await raw.children(path).catch(() => [])).length === 2, { message: 'both candidates back' });
      await waitFor(() => elections.filter((e) => e.isLeader).length === 1, { message: 'one leader' });
      const leader = elections.find((e) => e.isLeader)!;
      assert.equal((await readLeader(raw, path))?.id, elections.indexOf(leader) === 0 ? 'n0' : 'n1');
      assert.equal(maxLeaders, 1, 'never two leaders at once');
    } finally {
      clearInterval(sample);
      for (const e of elections) await e.close();
    }
  });

  test("self-healing election: the leader's candidate overwritten with garbage or other JSON is written back, and no follower is taken for the leader", async () => {
    const zks = [await client(), await client()];
    const raw = await client();
    const path = `${freshRoot()}/election`;
    const elections = zks.map((zk, i) => new LeaderElection(zk, { path, id: `n${i}`, data: { endpoint: `tcp://h:${i}` } }));
    const followed: Array<string | null> = [];
    const unfollow = watchLeader(raw, path, (l) => followed.push(l?.id ?? null));
    try {
      for (const e of elections) await e.start();
      await waitFor(() => elections[0]!.isLeader, { message: 'n0 leads' });
      const mine = elections[0]!.candidatePath!;
      await raw.setRaw(mine, Buffer.from('garbage, not JSON'));
      await waitFor(async () => (await raw.get(mine, z.object({ id: z.string() })).catch(() => null))?.data.id === 'n0', {
        message: 'garbage written back',
      });
      await raw.set(mine, { id: 'intruder', endpoint: 'tcp://evil:1' });
      const back = await waitFor(
        async () => {
          const l = await readLeader(raw, path);
          return l?.data.endpoint === 'tcp://h:0' ? l : undefined;
        },
        { message: 'other JSON written back' },
      );
      assert.equal(back.id, 'n0');
      assert.equal(elections[0]!.isLeader, true);
      assert.equal(elections[1]!.isLeader, false);
      await waitFor(() => followed.at(-1) === 'n0', { message: 'readers end on the real leader' });
      assert.ok(!followed.includes('n1'), `the follower n1 was never reported as leader (saw ${followed.join()})`);
    } finally {
      unfollow();
      for (const e of elections) await e.close();
    }
  });

  test('self-healing registry: its kind folder deleted and re-created, the watch keeps listing joins', async () => {
    const zk = await client();
    const raw = await client();
    const paths = cloverPaths(freshRoot());
    const registry = new NodeRegistry(zk, paths);
    const seen: string[] = [];
    const stop = registry.watch('clients', (nodes) => seen.push(nodes.map((n) => n.id).join()));
    try {
      await raw.ensurePath(paths.nodesOf('clients'));
      await raw.create(paths.node('clients', 'a1'), { id: 'a1', seq: 1 }, 'ephemeral');
      await waitFor(() => seen.at(-1) === 'a1', { message: 'a1 listed' });
      await raw.delete(paths.nodes, { recursive: true });
      await waitFor(() => seen.at(-1) === '', { message: 'the empty list after the deletion' });
      await raw.ensurePath(paths.nodesOf('clients'));
      await raw.create(paths.node('clients', 'a2'), { id: 'a2', seq: 1 }, 'ephemeral');
      await waitFor(() => seen.at(-1) === 'a2', { message: 'a2 listed in the re-created folder' });
      await raw.set(paths.node('clients', 'a2'), { id: 'a2', seq: 2 });
      await waitFor(async () => (await registry.list('clients'))[0]?.data.seq === 2, { message: 'a beat in the new folder read' });
    } finally {
      stop();
    }
  });

  test('self-healing change feed: a change written after its folder was deleted (and re-created) is still seen', async () => {
    const writer = await client();
    const reader = await client();
    const raw = await client();
    const paths = cloverPaths(freshRoot());
    const got: JobChange[] = [];
    let resets = 0;
    const logger = recordingLogger();
    const feed = new JobChangeFeed(reader, paths, {
      onChange: (c) => got.push(c),
      onReset: () => {
        resets++;
      },
      logger,
    });
    try {
      await feed.start();
      for (const jobId of ['j1', 'j2', 'j3']) await publishJobChange(writer, paths, { jobId, op: 'upsert' });
      await waitFor(() => got.length === 3, { message: 'three changes before' });

      await raw.delete(paths.jobChanges, { recursive: true });
      // The feed re-creates its folder by itself.
      await waitFor(() => raw.exists(paths.jobChanges), { message: 'folder back' });
      await publishJobChange(writer, paths, { jobId: 'after-delete', op: 'delete' });
      await waitFor(() => got.some((c) => c.jobId === 'after-delete'), { message: 'the change after the deletion' });
      assert.equal(got.at(-1)!.op, 'delete');
      assert.equal(got.at(-1)!.seq, 0, 'the new folder numbers from 0 again');
      assert.ok(resets >= 1, 'onReset told the consumer');
      assert.ok(
        warningsOf(logger).some((w) => w.includes('deleted or replaced')),
        'a warning logged',
      );

      // Deleted and re-created by someone else in one go, then written to at once.
      for (const jobId of ['k1', 'k2', 'k3']) await publishJobChange(writer, paths, { jobId, op: 'upsert' });
      await waitFor(() => got.some((c) => c.jobId === 'k3'), { message: 'k3' });
      await raw.delete(paths.jobChanges, { recursive: true });
      await publishJobChange(writer, paths, { jobId: 'after-recreate', op: 'trigger' });
      await waitFor(() => got.some((c) => c.jobId === 'after-recreate'), { message: 'the change in the re-created folder' });
      assert.deepEqual(
        got.map((c) => c.jobId),
        ['j1', 'j2', 'j3', 'after-delete', 'k1', 'k2', 'k3', 'after-recreate'],
        'each once, in order',
      );
    } finally {
      await feed.close();
    }
  });

  test('self-healing config: deleted or garbled config falls back to defaults with a warning, and a later valid write is picked up', async () => {
    const zk = await client();
    const raw = await client();
    const paths = cloverPaths(freshRoot());
    const logger = recordingLogger();
    await raw.ensurePath(paths.root);
    await raw.create(paths.config, { heartbeatIntervalMs: 500, deadTimeoutMs: { clients: 3000 } });
    const seen: ClusterConfig[] = [];
    const stop = watchClusterConfig(zk, paths, (c) => seen.push(c), { logger });
    try {
      await stop.ready;
      assert.equal(seen.at(-1)!.heartbeatIntervalMs, 500);
      assert.equal(seen.at(-1)!.deadTimeoutMs.clients, 3000);

      await raw.setRaw(paths.config, Buffer.from('{"heartbeatIntervalMs": 5'));
      await waitFor(() => seen.at(-1)!.heartbeatIntervalMs === 2000, { message: 'garbage: defaults' });
      assert.deepEqual(seen.at(-1), defaultClusterConfig);
      assert.ok(
        warningsOf(logger).some((w) => w.includes('not JSON')),
        `a warning (got ${warningsOf(logger).join(' | ')})`,
      );
      assert.deepEqual(await readClusterConfig(raw, paths), defaultClusterConfig, 'a one-off read falls back too, never throws');

      // One bad setting falls back alone; the valid ones are kept.
      await raw.set(paths.config, { heartbeatIntervalMs: 'fast', deadTimeoutMs: { clients: 4000, servers: -1 } });
      await waitFor(() => seen.at(-1)!.deadTimeoutMs.clients === 4000, { message: 'partly valid config read' });
      assert.deepEqual(seen.at(-1), { heartbeatIntervalMs: 2000, deadTimeoutMs: { servers: 10_000, clients: 4000, monitors: 10_000 } });
      assert.ok(
        warningsOf(logger).some((w) => w.includes('heartbeatIntervalMs')) &&
          warningsOf(logger).some((w) => w.includes('deadTimeoutMs.servers')),
      );

      await raw.delete(paths.config);
      await waitFor(() => seen.at(-1)!.deadTimeoutMs.clients === 10_000, { message: 'deleted: defaults' });
      assert.deepEqual(seen.at(-1), defaultClusterConfig);

      await raw.create(paths.config, { heartbeatIntervalMs: 750 });
      await waitFor(() => seen.at(-1)!.heartbeatIntervalMs === 750, { message: 'a later valid write picked up' });
    } finally {
      stop();
    }
  });
}
