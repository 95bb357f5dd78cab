import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cleanUp,
  freePort,
  mongoForTest,
  spawnProcess,
  startSmtpSink,
  startZooKeeper,
  tempDir,
  waitFor,
  within,
  type ChildHandle,
  type SmtpSink,
  type TempDir,
  type ZooKeeperHandle,
} from '@clover/testkit';
import { CleanupError, CleanupStack } from '@clover/lifecycle';
import { NoAuthError, cloverPaths, createZkClient, readLeader, writeClusterConfig, type ZkClient } from '@clover/zk-kit';
import { ConsoleSession, waitForHealth } from '../lib/api.js';

// The cluster as a platform team deploys it: every role its own process, built bins only, one
// real ZooKeeper, one shared store, a real SMTP server. The same scenario runs twice, once per
// store the processes can share: one SQLite file all of them open, and MongoDB (FerretDB from
// tools/ferretdb, or the server of CLOVER_TEST_MONGO_URL), each on a cluster of its own.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = (pkg: string) => path.join(repoRoot, 'packages', pkg, 'dist/bin.js');
const paths = cloverPaths('/clover');
const deadTimeoutMs = 4000;
// clover's ZooKeeper identity in this cluster (CLOVER_ZK_AUTH): a test value, made fresh per run.
const zkAuth = { user: 'clover', password: randomBytes(18).toString('base64') };

interface Run {
  id: string;
  status: string;
  node: string | null;
  scheduledAt: string;
}
interface Incident {
  subject: string;
  kind: string;
  closedAt: string | null;
  notifiedAt: string | null;
}

/**
 * The whole-cluster scenario on one shared store: a cluster of its own (ZooKeeper, SMTP sink,
 * temp dir, six processes) started before and killed after, whatever the outcome.
 * `storeEnv` is what points every process at the store (none: the SQLite file in CLOVER_DATA_DIR).
 */
function clusterScenario(storeName: string, storeEnv: Record<string, string>): void {
  describe(`cluster on ${storeName}`, () => {
    let zkServer: ZooKeeperHandle;
    let sink: SmtpSink;
    let dir: TempDir;
    let admin: ZkClient;
    let baseUrl: string;
    let common: Record<string, string>;
    const procs = new Map<string, ChildHandle>();
    // Each part's clean-up is pushed as it comes up, so after() closes exactly what before() opened.
    const opened = new CleanupStack();

    function start(id: string, pkg: string, env: Record<string, string> = {}): ChildHandle {
      const child = spawnProcess(process.execPath, [bin(pkg)], { name: id, cwd: repoRoot, env: { ...common, CLOVER_NODE_ID: id, ...env } });
      procs.set(id, child);
      return child;
    }

    before(async () => {
      zkServer = await startZooKeeper();
      opened.push('ZooKeeper', () => zkServer.cleanup());
      sink = await startSmtpSink();
      opened.push('SMTP sink', () => sink.stop());
      dir = await tempDir('clover-cluster-');
      opened.push('temp dir', () => dir.cleanup());
      admin = createZkClient({ connect: zkServer.connectString, sessionTimeoutMs: 5000, auth: zkAuth });
      opened.push('admin zk', () => admin.close());
      opened.push('processes', () => cleanUp([...procs].map(([id, p]) => [id, () => p.kill('SIGKILL')] as const)));
      await within(admin.connect(), 20_000, 'the admin ZooKeeper session');
      await writeClusterConfig(admin, paths, {
        heartbeatIntervalMs: 500,
        deadTimeoutMs: { servers: deadTimeoutMs, clients: deadTimeoutMs, monitors: deadTimeoutMs },
      });
      const httpPort = await freePort();
      baseUrl = `http://127.0.0.1:${httpPort}`;
      common = {
        CLOVER_ZK: zkServer.connectString,
        CLOVER_METRICS_PORT: '0',
        // Every process is clover's ZooKeeper identity: the whole scenario runs under its ACLs.
        CLOVER_ZK_AUTH: `${zkAuth.user}:${zkAuth.password}`,
        CLOVER_ZK_SESSION_TIMEOUT_MS: String(deadTimeoutMs),
        CLOVER_HEARTBEAT_MS: '500',
        CLOVER_DATA_DIR: dir.path,
        CLOVER_LOG_DIR: path.join(dir.path, 'logs'),
        ...storeEnv,
      };
      start('dispatch-1', 'dispatch-server', { CLOVER_DISPATCH_BIND: `tcp://127.0.0.1:${await freePort()}` });
      start('dispatch-2', 'dispatch-server', { CLOVER_DISPATCH_BIND: `tcp://127.0.0.1:${await freePort()}` });
      start('monitor-1', 'monitor', {
        CLOVER_SMTP_URL: sink.url,
        CLOVER_MAIL_FROM: 'clover@cluster.test',
        CLOVER_CONSOLE_URL: baseUrl,
        CLOVER_DIGEST_WINDOW_MS: '500',
        // Every death mailed: a node that flapped earlier (a heartbeat held past the dead timeout on
        // a loaded machine) would otherwise have its real death within the quiet period unmailed.
        CLOVER_QUIET_PERIOD_MS: '0',
      });
      start('agent-1', 'scheduler-client', { CLOVER_GROUPS: 'workers' });
      start('agent-2', 'scheduler-client', { CLOVER_GROUPS: 'workers' });
      start('console', 'console-api', {
        CLOVER_HTTP_PORT: String(httpPort),
        CLOVER_HTTP_HOST: '127.0.0.1',
        CLOVER_ADMIN_PASSWORD: 'cluster-admin-pw',
      });
      await waitForHealth(baseUrl, 60_000);
      for (const id of ['agent-1', 'agent-2']) {
        await waitFor(() => admin.exists(paths.node('clients', id)), { timeoutMs: 30_000, message: `${id} registered` });
      }
    });

    after(async () => {
      const failed = await opened.close();
      if (failed.length) throw new CleanupError(failed);
    });

    test('jobs created through the console run on both agents; leader and agent deaths are handed over, mailed and shown', async () => {
      const api = await ConsoleSession.login(baseUrl, 'admin', 'cluster-admin-pw');
      await api.call('POST', '/api/contacts', { name: 'Ops', email: 'ops@cluster.test' });
      const job = (routing: string, name: string) =>
        api.call<{ id: string }>('POST', '/api/jobs', {
          name,
          schedule: { type: 'cron', expr: '* * * * * *' },
          kind: { type: 'handler', name: 'echo' },
          target: { type: 'group', group: 'workers' },
          routing,
          retries: { max: 2, backoffMs: 200 },
        });
      /**
       * The first mail after the `since`-th whose subject or text says `title` (a digest names each
       * of its incidents in its text only). @throws after 30 s, with the mails seen and what the
       * monitor logged about deaths and mail.
       */
      const mailSaying = (title: string, since: number) =>
        waitFor(() => sink.messages.slice(since).find((m) => `${m.subject ?? ''}\n${m.text ?? ''}`.includes(title)), {
          timeoutMs: 30_000,
          message: `a mail saying "${title}"`,
        }).catch((err: unknown) => {
          const subjects = sink.messages.slice(since).map((m) => m.subject);
          const said = (procs.get('monitor-1')?.output() ?? '')
            .split('\n')
            .filter((l) => /dead|mail|quiet|fail|error|standing|active|recovered/i.test(l))
            .slice(-40);
          throw new Error(`${(err as Error).message}; mails since: ${JSON.stringify(subjects)}; the monitor logged:\n${said.join('\n')}`);
        });
      const broadcast = await job('broadcast', 'fan-out');
      const spread = await job('round_robin', 'spread');
      const runsOf = async (jobId: string) =>
        (await api.call<{ items: Run[] }>('GET', `/api/runs?jobId=${encodeURIComponent(jobId)}&limit=500`)).items;
      const nodesThatRan = async (jobId: string, since = 0) =>
        new Set((await runsOf(jobId)).filter((r) => r.status === 'succeeded' && Date.parse(r.scheduledAt) > since).map((r) => r.node));

      // Both agents serve both jobs.
      await waitFor(async () => (await nodesThatRan(broadcast.id)).size === 2, {
        timeoutMs: 30_000,
        message: 'broadcast runs on both agents',
      });
      await waitFor(async () => (await nodesThatRan(spread.id)).size === 2, { timeoutMs: 30_000, message: 'round robin over both agents' });

      // The leading dispatch-server dies: the other takes over and fires on.
      const leader = await readLeader(admin, paths.electionDispatch);
      assert.ok(leader && procs.has(leader.id), `a leader among the servers: ${leader?.id}`);
      const survivor = leader.id === 'dispatch-1' ? 'dispatch-2' : 'dispatch-1';
      const killedAt = Date.now();
      const mailsBeforeLeaderDied = sink.messages.length;
      await procs.get(leader.id)!.kill('SIGKILL');
      await waitFor(async () => (await readLeader(admin, paths.electionDispatch))?.id === survivor, {
        timeoutMs: 30_000,
        message: `${survivor} leads`,
      });
      await waitFor(async () => (await nodesThatRan(spread.id, killedAt + deadTimeoutMs)).size > 0, {
        timeoutMs: 30_000,
        message: 'runs after the hand-over',
      });
      await mailSaying(`server ${leader.id} is dead`, mailsBeforeLeaderDied);

      // Then an agent dies: its node goes, an incident opens, the contact is mailed, work moves to the other.
      const agentKilledAt = Date.now();
      const mailsBeforeAgentDied = sink.messages.length;
      await procs.get('agent-2')!.kill('SIGKILL');
      const mail = await mailSaying('client agent-2 is dead', mailsBeforeAgentDied);
      assert.equal(mail.to && 'text' in mail.to ? mail.to.text : '', 'ops@cluster.test');
      assert.match(mail.text ?? '', new RegExp(baseUrl.replace(/[.:/]/g, '\\$&')), 'the mail links to the console');
      const incidents = await waitFor(
        async () => {
          const open = (await api.call<{ items: Incident[] }>('GET', '/api/incidents?open=true')).items;
          return open.some((i) => i.subject === 'agent-2' && i.kind === 'node_dead' && i.notifiedAt) ? open : undefined;
        },
        { timeoutMs: 10_000, message: 'the console shows the incident, mailed' },
      );
      assert.ok(
        incidents.some((i) => i.subject === leader.id),
        'and the dead server',
      );
      const nodes = (await api.call<{ items: Array<{ path: string }> }>('GET', '/api/nodes')).items.map((n) => n.path);
      assert.ok(!nodes.includes(paths.node('clients', 'agent-2')), 'the dead agent is gone from the tree');
      assert.ok(nodes.includes(paths.node('clients', 'agent-1')));
      assert.ok(
        !nodes.includes(paths.node('servers', leader.id)) && nodes.includes(paths.node('servers', survivor)),
        'the hand-over shows in the tree',
      );
      await waitFor(
        async () => {
          const later = (await runsOf(spread.id)).filter((r) => Date.parse(r.scheduledAt) > agentKilledAt + deadTimeoutMs + 1000);
          return later.length >= 3 && later.every((r) => r.node === 'agent-1' || r.status !== 'succeeded');
        },
        { timeoutMs: 30_000, message: 'work moves to agent-1' },
      );

      // No slot ran twice: one run per (job, second) for the round-robin job.
      const ids = (await runsOf(spread.id)).map((r) => r.id);
      assert.equal(new Set(ids).size, ids.length);

      // And they shared the store named: the SQLite file exists exactly when no MongoDB was given
      // (a process that fell back to the embedded default would leave one).
      assert.equal(existsSync(path.join(dir.path, 'clover.db')), !storeEnv.CLOVER_MONGO_URL, `the store in use is ${storeName}`);

      // All along, the tree was clover's alone: a ZooKeeper client without the password can
      // neither read nor change it, nor forge a dispatch leader.
      const outsider = createZkClient({ connect: zkServer.connectString, sessionTimeoutMs: 5000 });
      try {
        await within(outsider.connect(), 20_000, 'an outsider ZooKeeper session');
        await assert.rejects(outsider.get(paths.config), NoAuthError);
        await assert.rejects(outsider.set(paths.config, { heartbeatIntervalMs: 1 }), NoAuthError);
        await assert.rejects(
          outsider.create(`${paths.electionDispatch}/c-`, { endpoint: 'tcp://evil:1' }, 'ephemeral_sequential'),
          NoAuthError,
        );
        await assert.rejects(outsider.delete(paths.node('clients', 'agent-1')), NoAuthError);
      } finally {
        await outsider.close();
      }
    });
  });
}

// Started first, stopped last: the MongoDB half's server (its database dropped or its process gone).
const mongo = await mongoForTest('clover_cluster');
after(() => cleanUp([['MongoDB', () => ('cleanup' in mongo ? mongo.cleanup() : undefined)]]));

clusterScenario('one SQLite file', {});
if ('skip' in mongo) {
  console.log(`# SKIP cluster on MongoDB: ${mongo.skip}`);
  describe('cluster on MongoDB', { skip: mongo.skip }, () => {});
} else {
  clusterScenario(`MongoDB (${mongo.server})`, { CLOVER_MONGO_URL: mongo.databaseUrl });
}
