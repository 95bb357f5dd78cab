import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cleanUp,
  freePort,
  spawnProcess,
  startZooKeeper,
  tempDir,
  waitFor,
  type ChildHandle,
  type TempDir,
  type CleanupStep,
  type ZooKeeperHandle,
} from '@clover/testkit';
import { RouterTransport, type Exec, type Message } from '@clover/protocol';
import { LeaderElection, cloverPaths, createZkClient, type ZkClient } from '@clover/zk-kit';

// A crashed agent leaves nothing running. The agent is the real bin, a separate process,
// SIGKILLed while a shell job (`sh -c 'sleep 150; …'`: a shell and its child, a grandchild of
// the agent) runs; a real ZooKeeper and a real ROUTER on 127.0.0.1 stand for the cluster.
const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../src/bin.ts');
const repo = path.resolve(here, '../../..');
const paths = cloverPaths('/orphans');

let zkServer: ZooKeeperHandle;
let zk: ZkClient;
let router: RouterTransport;
let election: LeaderElection;
let dir: TempDir;
/** What the router received, and for each HELLO whether the watched group had live processes at that moment. */
const inbox: Array<{ peer: string; msg: Message; groupAlive?: boolean }> = [];
let watchedGroup = 0;
const children: ChildHandle[] = [];
const groupsToSweep = new Set<number>();
/** Each part's close, pushed as before() opens it. */
const opened: CleanupStep[] = [];

interface Proc {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
  cmdline: string;
}

function proc(pid: number): Proc | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    return { pid, state: f[0]!, ppid: Number(f[1]), pgrp: Number(f[2]), cmdline };
  } catch {
    return null;
  }
}

function all(): Proc[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map((n) => proc(Number(n)))
    .filter((p): p is Proc => p !== null && p.state !== 'Z' && p.state !== 'X');
}

/** The live (not zombie) processes of a group. */
const members = (pgid: number) => all().filter((p) => p.pgrp === pgid);

before(async () => {
  zkServer = await startZooKeeper();
  opened.push(['zookeeper', () => zkServer.cleanup()]);
  zk = createZkClient({ connect: zkServer.connectString });
  opened.push(['zk', () => zk.close()]);
  await zk.connect();
  const port = await freePort();
  router = new RouterTransport({
    bind: `tcp://127.0.0.1:${port}`,
    // Checked the moment each HELLO arrives: was anything of the watched group still running?
    onMessage: (peer, msg) =>
      inbox.push({ peer, msg, ...(msg.type === 'HELLO' && watchedGroup ? { groupAlive: members(watchedGroup).length > 0 } : {}) }),
  });
  opened.push(['router', () => router.close()]);
  await router.start();
  election = new LeaderElection(zk, { path: paths.electionDispatch, id: 'server-1', data: { endpoint: `tcp://127.0.0.1:${port}` } });
  opened.push(['election', () => election.close()]);
  await election.start();
  dir = await tempDir('clover-orphans-');
  opened.push(['temp dir', () => dir.cleanup()]);
});

after(() =>
  cleanUp([
    ...children.map((c, i) => [`agent ${i}`, () => c.kill('SIGKILL', 10_000).then(() => undefined)] as const),
    [
      'orphans left by a failed test',
      () => {
        for (const g of groupsToSweep)
          try {
            process.kill(-g, 'SIGKILL');
          } catch {
            /* gone */
          }
      },
    ],
    ...opened.reverse(),
  ]),
);

async function startAgent(id: string, env: Record<string, string>): Promise<ChildHandle> {
  const child = spawnProcess(process.execPath, ['--conditions=source', '--import', 'tsx', bin], {
    name: id,
    cwd: repo,
    env: {
      CLOVER_ZK: zkServer.connectString,
      CLOVER_METRICS_PORT: '0',
      CLOVER_ZK_ROOT: '/orphans',
      CLOVER_NODE_ID: id,
      CLOVER_ZK_SESSION_TIMEOUT_MS: '2000',
      CLOVER_HEARTBEAT_MS: '500',
      CLOVER_ALLOW_SHELL: 'true',
      ...env,
    },
  });
  children.push(child);
  await child.waitForOutput(/agent started/, 30_000);
  return child;
}

const hellosFrom = (id: string) => inbox.filter((x) => x.peer === id && x.msg.type === 'HELLO');
const answers = <T extends Message['type']>(id: string, type: T, execId: string) =>
  inbox
    .filter((x) => x.peer === id && x.msg.type === type && (x.msg.body as { execId?: string }).execId === execId)
    .map((x) => x.msg as Extract<Message, { type: T }>);

/** Starts `sleep 150` under a shell on the agent, as a `forbid` job would; answers the shell's and the sleep's pids. */
async function startSleep(id: string, execId: string): Promise<{ shell: Proc; sleep: Proc }> {
  await waitFor(() => hellosFrom(id).length > 0, { message: `HELLO from ${id}`, timeoutMs: 20_000 });
  const marker = `clover-orphan-${process.pid}-${execId}`;
  const now = Date.now();
  const exec: Exec = {
    execId,
    jobId: 'forbid-job',
    jobName: 'forbid job',
    attempt: 1,
    kind: { type: 'shell', command: 'sh', args: ['-c', `sleep 150; echo ${marker}`], env: {} },
    payload: {},
    timeoutMs: 300_000,
    deadline: now + 300_000,
    scheduledAt: now,
  };
  await waitFor(async () => (await router.send(id, { type: 'EXEC', body: exec })) && true, { message: 'EXEC sent' });
  await waitFor(() => answers(id, 'ACK', execId).some((a) => a.body.accepted), { message: 'the EXEC accepted', timeoutMs: 20_000 });
  const shell = await waitFor(() => all().find((p) => p.cmdline.includes(marker) && p.cmdline.startsWith('sh ')), {
    message: 'the shell running',
  });
  groupsToSweep.add(shell.pgrp);
  const sleep = await waitFor(() => members(shell.pgrp).find((p) => p.cmdline.startsWith('sleep 150')), { message: 'its sleep running' });
  return { shell, sleep };
}

test('an agent SIGKILLed without restart: the shell job and its child die with it', async () => {
  const agent = await startAgent('agent-gone', { CLOVER_DATA_DIR: path.join(dir.path, 'gone') });
  const { shell, sleep } = await startSleep('agent-gone', 'forbid-job@1');
  assert.equal(shell.pgrp, shell.pid, 'the job runs in a process group of its own');
  assert.equal(sleep.pgrp, shell.pid);
  const reaper = all().find((p) => p.ppid === agent.pid && p.cmdline.includes("trap '' INT TERM HUP QUIT"));
  await agent.kill('SIGKILL', 10_000);
  // Nothing is restarted: the job's processes go because their agent went.
  await waitFor(() => members(shell.pgrp).length === 0, {
    message: "the shell and its sleep gone after the agent's SIGKILL",
    timeoutMs: 10_000,
  });
  assert.ok(reaper, 'one reaper process per agent');
  await waitFor(() => proc(reaper.pid) === null || proc(reaper.pid)!.state === 'Z', { message: 'the reaper gone too' });
});

test('an agent SIGKILLed and restarted: what its previous life left is killed before its HELLO, and reported', async () => {
  const dataDir = path.join(dir.path, 'restart');
  // No reaper: the children survive the crash (as after any death that takes a reaper too),
  // so the restart's own net is what is tested.
  const first = await startAgent('agent-r', { CLOVER_DATA_DIR: dataDir, CLOVER_GROUP_REAPER: 'false' });
  const { shell, sleep } = await startSleep('agent-r', 'forbid-job@2');
  await first.kill('SIGKILL', 10_000);
  const orphan = await waitFor(
    () => {
      const p = proc(sleep.pid);
      return p && p.ppid !== shell.pid ? p : p && proc(shell.pid) ? p : undefined;
    },
    { message: 'the orphan still there' },
  );
  assert.ok(proc(shell.pid) && proc(shell.pid)!.state !== 'Z', 'the shell outlived its agent');
  assert.notEqual(proc(shell.pid)!.ppid, first.pid, 'reparented: the agent is gone');
  assert.ok(orphan.state !== 'Z');

  watchedGroup = shell.pgrp;
  const hellosBefore = hellosFrom('agent-r').length;
  await startAgent('agent-r', { CLOVER_DATA_DIR: dataDir, CLOVER_GROUP_REAPER: 'false' });
  const hello = await waitFor(() => hellosFrom('agent-r')[hellosBefore], { message: "the restarted agent's HELLO", timeoutMs: 20_000 });
  assert.equal(hello.groupAlive, false, 'the orphan group was dead when the first HELLO arrived');
  assert.equal(members(shell.pgrp).length, 0);
  assert.deepEqual((hello.msg as Extract<Message, { type: 'HELLO' }>).body.orphansKilled, ['forbid-job@2']);
  const result = await waitFor(() => answers('agent-r', 'RESULT', 'forbid-job@2')[0]?.body, {
    message: 'a RESULT for the killed execution',
  });
  assert.equal(result.status, 'failed');
  assert.equal(result.exitCode, null);
  assert.match(result.error!, new RegExp(`killed process group ${shell.pid}`));
  assert.deepEqual(readdirSync(path.join(dataDir, 'process-groups')), [], 'its record is gone');
  // The same execution sent again is never run a second time.
  const now = Date.now();
  await router.send('agent-r', {
    type: 'EXEC',
    body: {
      execId: 'forbid-job@2',
      jobId: 'forbid-job',
      jobName: 'x',
      attempt: 1,
      kind: { type: 'shell', command: 'true', args: [], env: {} },
      payload: {},
      timeoutMs: 1000,
      deadline: now + 1000,
      scheduledAt: now,
    },
  });
  await waitFor(() => answers('agent-r', 'ACK', 'forbid-job@2').some((a) => a.body.reason === 'duplicate'), {
    message: 'refused as a duplicate',
  });
});

test('a restart finds the records of a live agent sharing its data directory and leaves them alone', async () => {
  const dataDir = path.join(dir.path, 'shared');
  await startAgent('agent-s1', { CLOVER_DATA_DIR: dataDir });
  const { shell } = await startSleep('agent-s1', 'forbid-job@3');
  assert.deepEqual(readdirSync(path.join(dataDir, 'process-groups')), [`${shell.pid}.json`], 'the group is recorded while it runs');
  await startAgent('agent-s2', { CLOVER_DATA_DIR: dataDir });
  await waitFor(() => hellosFrom('agent-s2').length > 0, { message: 'HELLO from agent-s2', timeoutMs: 20_000 });
  assert.equal(
    hellosFrom('agent-s2')[0]!.msg.type === 'HELLO' &&
      (hellosFrom('agent-s2')[0]!.msg as Extract<Message, { type: 'HELLO' }>).body.orphansKilled,
    undefined,
  );
  assert.ok(members(shell.pgrp).length > 0, "the live agent's job still runs");
  assert.deepEqual(readdirSync(path.join(dataDir, 'process-groups')), [`${shell.pid}.json`]);
});
