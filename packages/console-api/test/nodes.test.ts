import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Heartbeat } from '@clover/heartbeat';
import { cleanUp, startZooKeeper, waitFor, within, type ZooKeeperHandle } from '@clover/testkit';
import {
  JobChangeFeed,
  LeaderElection,
  createZkClient,
  publishJobChange,
  readLeader,
  structuralPaths,
  watchClusterConfig,
  writeClusterConfig,
  type ClusterConfig,
  type JobChange,
  type ZkClient,
} from '@clover/zk-kit';
import type { ApiErrorBody, ClusterSettings, MachineList, NodeList, NodeView, Stats, Wire } from '@clover/model';
import { embeddedBackend, ifStarted, loggedIn, mongoBackend, paths, startHarness, type Client, type Harness } from './harness.js';

// The nodes endpoints against both ZooKeeper backends: the in-process tree on the embedded store
// (as in `clover standalone`), and a real server on MongoDB (as in a cluster; the embedded store
// when no MongoDB can be had outside CI, which mongoBackend says in a line).
const mongo = await mongoBackend('clover_console_nodes');
after(() => cleanUp([['MongoDB', () => mongo.cleanup()]]));
const storeFor = { memory: embeddedBackend, zookeeper: 'skip' in mongo.backend ? embeddedBackend : mongo.backend };

for (const backend of ['memory', 'zookeeper'] as const) {
  const store = storeFor[backend];
  describe(`nodes over ${backend}, store ${store.name}`, () => {
    let zkServer: ZooKeeperHandle | undefined;
    let h: Harness;
    let admin: Client;
    let viewer: Client;
    let agentZk: ZkClient;
    let beat: Heartbeat;

    before(async () => {
      let connect = `memory:nodes-${randomUUID()}`;
      if (backend === 'zookeeper') {
        zkServer = await startZooKeeper();
        connect = zkServer.connectString;
      }
      h = await startHarness(connect, 'store' in store ? store.store : undefined);
      admin = await loggedIn(h.url, 'admin');
      viewer = await loggedIn(h.url, 'vic');
      agentZk = createZkClient({ connect, sessionTimeoutMs: 5000 });
      await within(agentZk.connect(), 20_000, `a ZooKeeper session at ${connect}`);
      beat = new Heartbeat({
        zk: agentZk,
        paths,
        kind: 'clients',
        id: 'agent-1',
        version: 'test',
        endpoint: 'tcp://127.0.0.1:1',
        intervalMs: 200,
        info: () => ({ running: 2, capacity: 8, handlers: ['echo', 'report.daily'], groups: ['billing'], tags: ['gpu'] }),
      });
      await beat.start();
      await h.zk.ensurePath(`${paths.root}/scratch`);
      await h.zk.create(`${paths.root}/scratch/note`, { owner: 'ops', level: 1 });
    });
    after(() =>
      cleanUp([
        ['heartbeat', () => ifStarted(beat)?.close()],
        ['agent zk', () => ifStarted(agentZk)?.close()],
        ['harness', () => ifStarted(h)?.close()],
        ['ZooKeeper', () => zkServer?.cleanup()],
      ]),
    );

    test('the tree lists heartbeating nodes with their data and age', async () => {
      const r = await viewer.call<Wire<NodeList>>('GET', '/api/nodes');
      assert.equal(r.status, 200);
      const agent = r.body.items.find((n) => n.path === paths.node('clients', 'agent-1'));
      assert.ok(agent, JSON.stringify(r.body.items.map((n) => n.path)));
      assert.equal(agent.kind, 'clients');
      assert.equal(agent.id, 'agent-1');
      assert.equal(agent.ephemeral, true);
      assert.equal((agent.data as Record<string, unknown>).kind, 'clients');
      assert.ok(agent.ageMs !== null && agent.ageMs < 60_000);
      assert.equal(r.body.items[0]?.path, paths.root, 'depth-first from the root');
      assert.ok(!Number.isNaN(Date.parse(agent.mtime)), 'when its data last changed');
      const stats = await viewer.call<Wire<Stats>>('GET', '/api/stats');
      assert.equal(stats.body.nodes.clients, 1);
    });

    test('machines: a live agent from its heartbeat; a dead one from its open incident until it is closed by hand', async () => {
      const dead = await h.store.incidents.open({
        kind: 'node_dead',
        subject: 'agent-gone',
        nodeKind: 'clients',
        openedAt: new Date(),
        message: 'agent-gone stopped beating',
        details: { host: 'old-host', pid: 7, lastBeatAt: Date.now() - 10_000 },
      });
      const r = await viewer.call<Wire<MachineList>>('GET', '/api/machines');
      assert.equal(r.status, 200);
      const agent = r.body.items.find((m) => m.id === 'agent-1');
      assert.ok(agent, JSON.stringify(r.body.items));
      assert.deepEqual(
        [agent.kind, agent.state, agent.running, agent.capacity, agent.handlers, agent.groups, agent.tags, agent.leader],
        ['clients', 'up', 2, 8, ['echo', 'report.daily'], ['billing'], ['gpu'], null],
      );
      assert.ok(agent.ageMs !== null && agent.ageMs < 60_000);
      const gone = r.body.items.find((m) => m.id === 'agent-gone');
      assert.deepEqual([gone?.state, gone?.host, gone?.pid, gone?.incident?.id], ['dead', 'old-host', 7, dead.id]);
      assert.equal((await viewer.call('POST', `/api/incidents/${dead.id}/close`)).status, 403, 'viewers only look');
      assert.equal((await admin.call('POST', `/api/incidents/${dead.id}/close`)).status, 200);
      const after = await viewer.call<Wire<MachineList>>('GET', '/api/machines');
      assert.ok(!after.body.items.some((m) => m.id === 'agent-gone'), 'dismissed');
      assert.equal((await admin.call('POST', '/api/incidents/no-such/close')).status, 404);
    });

    test('cluster settings: written with the defaults at start, validated, version-checked, followed by the readers', async () => {
      const first = await viewer.call<Wire<ClusterSettings>>('GET', '/api/config');
      assert.equal(first.status, 200);
      assert.ok(first.body.version >= 0, 'the console wrote /clover/config at start');
      assert.deepEqual((await h.zk.get(paths.config))?.data, first.body.defaults);
      const body = {
        heartbeatIntervalMs: 1000,
        deadTimeoutMs: { servers: 5000, clients: 1500, monitors: 5000 },
        version: first.body.version,
      };
      assert.equal((await viewer.call('PUT', '/api/config', body)).status, 403);
      const bad = await admin.call<ApiErrorBody>('PUT', '/api/config', body);
      assert.equal(bad.status, 400);
      assert.deepEqual(bad.body.issues?.['deadTimeoutMs.clients'], { code: 'min', params: { n: 2000 } }, 'twice the heartbeat interval');
      const tooFast = await admin.call<ApiErrorBody>('PUT', '/api/config', { ...body, heartbeatIntervalMs: 10 });
      assert.deepEqual(tooFast.body.issues?.heartbeatIntervalMs, { code: 'min', params: { n: 100 } });
      const seen: ClusterConfig[] = [];
      const stop = watchClusterConfig(agentZk, paths, (c) => seen.push(c));
      try {
        await stop.ready;
        const good = { ...body, deadTimeoutMs: { ...body.deadTimeoutMs, clients: 3000 } };
        const saved = await admin.call<Wire<ClusterSettings>>('PUT', '/api/config', good);
        assert.equal(saved.status, 200);
        assert.equal(saved.body.version, first.body.version + 1);
        await waitFor(() => seen.some((c) => c.deadTimeoutMs.clients === 3000 && c.heartbeatIntervalMs === 1000), {
          message: 'a reader follows the change',
        });
        assert.equal((await admin.call('PUT', '/api/config', good)).status, 409, 'a stale version');
      } finally {
        stop();
        await writeClusterConfig(h.zk, paths, first.body.defaults);
      }
    });

    test("cluster settings: the quiet period and digest window are validated, stored in /clover/config, and left out mean each monitor's own", async () => {
      const first = await viewer.call<Wire<ClusterSettings>>('GET', '/api/config');
      assert.equal(first.body.config.quietPeriodMs, undefined, 'not written at start: each monitor applies its own');
      const body = { ...first.body.config, version: first.body.version };
      const tooLong = await admin.call<ApiErrorBody>('PUT', '/api/config', { ...body, quietPeriodMs: 86_400_001, digestWindowMs: -1 });
      assert.equal(tooLong.status, 400);
      const issues = tooLong.body.issues ?? {};
      assert.deepEqual(issues.quietPeriodMs, { code: 'max', params: { n: 86_400_000 } });
      assert.deepEqual(issues.digestWindowMs, { code: 'min', params: { n: 0 } });
      try {
        const saved = await admin.call<Wire<ClusterSettings>>('PUT', '/api/config', {
          ...body,
          quietPeriodMs: 60_000,
          digestWindowMs: 5000,
        });
        assert.equal(saved.status, 200);
        const stored = (await h.zk.get(paths.config))?.data as Record<string, unknown>;
        assert.deepEqual([stored.quietPeriodMs, stored.digestWindowMs], [60_000, 5000]);
        const read = await viewer.call<Wire<ClusterSettings>>('GET', '/api/config');
        assert.deepEqual([read.body.config.quietPeriodMs, read.body.config.digestWindowMs], [60_000, 5000]);
        // Left out again: gone from the node, each monitor's own setting applies.
        await admin.call('PUT', '/api/config', { ...first.body.config, version: read.body.version });
        assert.equal(((await h.zk.get(paths.config))?.data as Record<string, unknown>).quietPeriodMs, undefined);
      } finally {
        await writeClusterConfig(h.zk, paths, first.body.defaults);
      }
    });

    test('update is version-checked; a stale version is a 409', async () => {
      const path = `${paths.root}/scratch/note`;
      const read = await viewer.call<Wire<NodeView>>('GET', `/api/nodes/data?path=${encodeURIComponent(path)}`);
      assert.deepEqual(read.body.data, { owner: 'ops', level: 1 });
      const put = await admin.call<Wire<NodeView>>('PUT', `/api/nodes/data?path=${encodeURIComponent(path)}`, {
        data: { owner: 'ops', level: 2 },
        version: read.body.version,
      });
      assert.equal(put.status, 200);
      assert.equal((put.body.data as Record<string, unknown>).level, 2);
      assert.equal((await h.zk.get<{ level: number }>(path))?.data.level, 2);
      const stale = await admin.call<ApiErrorBody>('PUT', `/api/nodes/data?path=${encodeURIComponent(path)}`, {
        data: { level: 3 },
        version: read.body.version,
      });
      assert.equal(stale.status, 409);
      assert.equal(stale.body.error, 'conflict');
      const outside = await admin.call<ApiErrorBody>('PUT', `/api/nodes/data?path=${encodeURIComponent('/zookeeper/quota')}`, {
        data: 1,
        version: 0,
      });
      assert.equal(outside.status, 400);
      assert.match(outside.body.fields?.path ?? '', /must start with \/clover/);
      assert.equal((await admin.call('GET', `/api/nodes/data?path=${encodeURIComponent(`${paths.root}/nope`)}`)).status, 404);
    });

    test('delete needs a matching confirm and removes the subtree', async () => {
      const path = `${paths.root}/scratch`;
      const unconfirmed = await admin.call<ApiErrorBody>('DELETE', `/api/nodes/data?path=${encodeURIComponent(path)}`);
      assert.equal(unconfirmed.status, 400);
      assert.equal(unconfirmed.body.fields?.confirm, 'must equal path');
      assert.ok(await h.zk.exists(path));
      const done = await admin.call('DELETE', `/api/nodes/data?path=${encodeURIComponent(path)}&confirm=${encodeURIComponent(path)}`);
      assert.equal(done.status, 200);
      assert.equal(await h.zk.exists(path), null);
      const rootRefused = await admin.call('DELETE', `/api/nodes/data?path=${paths.root}&confirm=${paths.root}`);
      assert.equal(rootRefused.status, 409, 'not the root without force');
      assert.ok(await h.zk.exists(paths.root));
    });

    test("clover's structural nodes: refused without force=true, saying what would happen; forced, and every recipe heals", async (t) => {
      // The recipes of a running cluster, on the agent's session: election, change feed, config, heartbeat.
      const dispatch = new LeaderElection(agentZk, {
        path: paths.electionDispatch,
        id: 'server-1',
        data: { endpoint: 'tcp://127.0.0.1:7710' },
      });
      const monitorElection = new LeaderElection(agentZk, { path: paths.electionMonitor, id: 'monitor-1' });
      let elected = 0;
      dispatch.on('elected', () => {
        elected++;
      });
      const changes: JobChange[] = [];
      const feed = new JobChangeFeed(agentZk, paths, { onChange: (c) => void changes.push(c) });
      await writeClusterConfig(h.zk, paths, { heartbeatIntervalMs: 700, deadTimeoutMs: { servers: 5000, clients: 5000, monitors: 5000 } });
      const configs: ClusterConfig[] = [];
      const stopConfig = watchClusterConfig(agentZk, paths, (c) => void configs.push(c));
      t.after(() =>
        cleanUp([
          ['config watch', () => stopConfig()],
          ['feed', () => feed.close()],
          ['dispatch election', () => dispatch.close()],
          ['monitor election', () => monitorElection.close()],
        ]),
      );
      await dispatch.start();
      await monitorElection.start();
      await feed.start();
      await stopConfig.ready;
      await waitFor(() => dispatch.isLeader, { message: 'server-1 leads' });
      const del = (path: string, force?: boolean) =>
        admin.call<ApiErrorBody>(
          'DELETE',
          `/api/nodes/data?path=${encodeURIComponent(path)}&confirm=${encodeURIComponent(path)}${force ? '&force=true' : ''}`,
        );

      // Folders of roles this test does not run (servers', monitors' heartbeats) as a cluster has them.
      for (const s of structuralPaths(paths)) await h.zk.ensurePath(s.path);
      for (const s of structuralPaths(paths)) {
        const refused = await del(s.path);
        assert.equal(refused.status, 409, `${s.path} refused`);
        assert.equal(refused.body.error, 'structural_node');
        assert.ok(refused.body.message.includes(s.onDelete), `the message says what happens: ${refused.body.message}`);
        assert.match(refused.body.message, /force=true/);
        assert.ok(await h.zk.exists(s.path), `${s.path} still there`);
      }
      const viewerTry = await viewer.call(
        'DELETE',
        `/api/nodes/data?path=${encodeURIComponent(paths.electionDispatch)}&confirm=${encodeURIComponent(paths.electionDispatch)}&force=true`,
      );
      assert.equal(viewerTry.status, 403, 'force is for admins only');
      const refusedDispatch = await del(paths.electionDispatch);
      assert.match(refusedDispatch.body.message, /leader steps down/);

      // Forced: the issue's example. Dispatch comes back by itself: a leader again, found by readers.
      const electedBefore = elected;
      assert.equal((await del(paths.electionDispatch, true)).status, 200);
      await waitFor(() => elected > electedBefore && dispatch.isLeader, { message: 'elected again after the forced deletion' });
      assert.equal((await readLeader(h.zk, paths.electionDispatch))?.data.endpoint, 'tcp://127.0.0.1:7710');

      assert.equal((await del(paths.jobChanges, true)).status, 200);
      await publishJobChange(h.zk, paths, { jobId: 'after-forced-delete', op: 'upsert' });
      await waitFor(() => changes.some((c) => c.jobId === 'after-forced-delete'), {
        message: 'the feed sees a change after its folder was deleted',
      });

      assert.equal((await del(paths.config, true)).status, 200);
      await waitFor(() => configs.at(-1)?.heartbeatIntervalMs === 2000, { message: 'config back to its defaults' });

      assert.equal((await del(paths.nodesOf('clients'), true)).status, 200);
      await waitFor(() => h.zk.exists(paths.node('clients', 'agent-1')), { message: 'heartbeat back' });

      // Everything at once.
      const electedBeforeRoot = elected;
      const rootGone = await del(paths.root, true);
      assert.equal(rootGone.status, 200, JSON.stringify(rootGone.body));
      await waitFor(() => elected > electedBeforeRoot && dispatch.isLeader, { message: 'elected again after the root went' });
      await waitFor(() => h.zk.exists(paths.node('clients', 'agent-1')), { message: 'heartbeat back after the root went' });
      await waitFor(async () => (await readLeader(h.zk, paths.electionMonitor))?.id === 'monitor-1', { message: 'monitor election back' });
      await publishJobChange(h.zk, paths, { jobId: 'after-root', op: 'trigger' });
      await waitFor(() => changes.some((c) => c.jobId === 'after-root'), { message: 'the feed after the root went' });
    });
  });
}
