import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jobInputSchema, type Run } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import { CleanupStack } from '@clover/lifecycle';
import { freePort, spawnProcess, startZooKeeper, tempDir, waitFor, within, type ChildHandle } from '@clover/testkit';
import { cloverPaths, createZkClient, publishJobChange, readLeader, writeClusterConfig, type ZkClient } from '@clover/zk-kit';

// A built dispatch-server whose wall clock really steps, an hour forward and back, under Debian's
// libfaketime (apt package `faketime`): LD_PRELOAD'ed, it answers the process's every reading of
// CLOCK_REALTIME (Date.now, new Date) with the real time plus the offset in a file the test
// rewrites, while CLOCK_MONOTONIC (Node's timers, performance.now, the ZooKeeper C client's
// session clock) stays real (FAKETIME_DONT_FAKE_MONOTONIC=1): what NTP stepping a wrong clock does.
// The agent's clock and the test's stay true. Evidence: the store's runs and the agent's own
// journal of every execution it starts. Rules: docs/architecture.md, "Clock trouble".

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = (pkg: string) => path.join(repoRoot, 'packages', pkg, 'dist/bin.js');
const paths = cloverPaths('/clover');
const hourMs = 3_600_000;

/** libfaketime's multi-threaded build, wherever Debian put it for this architecture; null when not installed. */
function findLibfaketime(): string | null {
  const roots = ['/usr/lib', '/usr/lib64', '/usr/local/lib'];
  for (const root of roots) {
    const direct = path.join(root, 'faketime/libfaketimeMT.so.1');
    if (existsSync(direct)) return direct;
    if (!existsSync(root)) continue;
    for (const arch of readdirSync(root).filter((d) => d.endsWith('-linux-gnu'))) {
      const lib = path.join(root, arch, 'faketime/libfaketimeMT.so.1');
      if (existsSync(lib)) return lib;
    }
  }
  return null;
}

const libfaketime = findLibfaketime();
// CI installs it (.ci/run) and must run this; elsewhere a machine without it skips, saying why.
const skip = libfaketime === null && process.env.CI !== 'true' ? 'libfaketime is not installed (apt-get install faketime)' : false;

interface JournalLine {
  event: 'start' | 'end';
  execId: string;
  jobId: string;
}

const opened = new CleanupStack();
let store: Store;
let admin: ZkClient;
let clockFile: string;
let journalFile: string;
let server: ChildHandle;

/** Sets the dispatch-server's wall clock offset, in libfaketime's words ('+0', '+1h', '-1h'). */
async function setServerClock(offset: string): Promise<void> {
  await writeFile(clockFile, `${offset}\n`);
}

async function runsOf(jobId: string): Promise<Run[]> {
  const runs = (await store.runs.list({ jobId, limit: 1000 })).items;
  return runs.sort((a, b) => a.scheduledAt.getTime() - b.scheduledAt.getTime());
}

async function startsByExecId(): Promise<Map<string, number>> {
  const text = await readFile(journalFile, 'utf8').catch(() => '');
  const starts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const l = JSON.parse(line) as JournalLine;
    if (l.event === 'start') starts.set(l.execId, (starts.get(l.execId) ?? 0) + 1);
  }
  return starts;
}

before(async () => {
  if (skip) return;
  assert.ok(libfaketime, 'CI=true: libfaketime must be installed (.ci/run installs the Debian package faketime)');
  const zkServer = await startZooKeeper();
  opened.push('ZooKeeper', () => zkServer.cleanup());
  const dir = await tempDir('clover-faketime-');
  opened.push('temp dir', () => dir.cleanup());
  admin = createZkClient({ connect: zkServer.connectString, sessionTimeoutMs: 5000 });
  opened.push('admin zk', () => admin.close());
  await within(admin.connect(), 20_000, 'the admin ZooKeeper session');
  await writeClusterConfig(admin, paths, { heartbeatIntervalMs: 500, deadTimeoutMs: { servers: 6000, clients: 6000, monitors: 6000 } });
  clockFile = path.join(dir.path, 'faketime');
  journalFile = path.join(dir.path, 'agent.jsonl');
  await setServerClock('+0');
  const common = {
    CLOVER_ZK: zkServer.connectString,
    CLOVER_ZK_SESSION_TIMEOUT_MS: '6000',
    CLOVER_HEARTBEAT_MS: '500',
    CLOVER_METRICS_PORT: '0',
    CLOVER_DATA_DIR: dir.path,
    CLOVER_LOG_DIR: path.join(dir.path, 'logs'),
    CLOVER_LOG_LEVEL: 'warn',
  };
  const procs: ChildHandle[] = [];
  opened.push('processes', async () => {
    for (const p of procs) await p.kill('SIGKILL');
  });
  server = spawnProcess(process.execPath, [bin('dispatch-server')], {
    name: 'dispatch-faketime',
    cwd: repoRoot,
    env: {
      ...common,
      CLOVER_NODE_ID: 'dispatch-faketime',
      CLOVER_DISPATCH_BIND: `tcp://127.0.0.1:${await freePort()}`,
      LD_PRELOAD: libfaketime,
      FAKETIME_TIMESTAMP_FILE: clockFile,
      // Read the file again at most every second: a rewrite is a step of the clock within a second.
      FAKETIME_CACHE_DURATION: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    },
  });
  procs.push(server);
  procs.push(
    spawnProcess(process.execPath, [bin('scheduler-client')], {
      name: 'agent-true-clock',
      cwd: repoRoot,
      env: {
        ...common,
        CLOVER_NODE_ID: 'agent-true-clock',
        CLOVER_EXEC_JOURNAL: journalFile,
        CLOVER_DATA_DIR: path.join(dir.path, 'agent'),
      },
    }),
  );
  await waitFor(async () => (await readLeader(admin, paths.electionDispatch))?.id === 'dispatch-faketime', {
    timeoutMs: 60_000,
    message: 'the dispatch-server under libfaketime leads',
  });
  await waitFor(() => admin.exists(paths.node('clients', 'agent-true-clock')), { timeoutMs: 60_000, message: 'the agent registered' });
  store = await openStore({ dataDir: dir.path });
  opened.push('store', () => store.close());
});

after(async () => {
  const failed = await opened.close();
  assert.deepEqual(
    failed.map((f) => f.name),
    [],
    'every clean-up step ran',
  );
});

test(
  'a dispatch-server under libfaketime, its clock stepped an hour forward then back: misfire policy, no burst, no slot twice',
  { skip },
  async () => {
    const every = { type: 'cron', expr: '* * * * * *' };
    const create = async (name: string, misfire: 'fire_once' | 'skip') => {
      const job = await store.jobs.create(
        jobInputSchema.parse({ name, schedule: every, kind: { type: 'handler', name: 'noop' }, misfire }),
      );
      await publishJobChange(admin, paths, { jobId: job.id, op: 'upsert' });
      return job;
    };
    const fireOnce = await create('faketime fire_once', 'fire_once');
    const skipJob = await create('faketime skip', 'skip');
    await waitFor(async () => (await runsOf(fireOnce.id)).length >= 3 && (await runsOf(skipJob.id)).length >= 3, {
      timeoutMs: 30_000,
      message: 'both jobs fire on the true clock',
    });

    // An hour forward.
    const stepFrom = Date.now();
    await setServerClock('+1h');
    const stepTo = stepFrom + hourMs;
    await waitFor(
      async () => {
        const after = async (id: string) => (await runsOf(id)).filter((r) => r.scheduledAt.getTime() > stepTo + 1500).length;
        return (await after(fireOnce.id)) >= 2 && (await after(skipJob.id)) >= 2;
      },
      { timeoutMs: 30_000, message: 'firing goes on, an hour ahead' },
    );
    const inHour = (r: Run) => r.scheduledAt.getTime() > stepFrom + 2000 && r.scheduledAt.getTime() < stepTo - 2000;
    for (const job of [fireOnce, skipJob])
      assert.deepEqual((await runsOf(job.id)).filter(inHour), [], `${job.name}: no burst over the hour`);
    assert.equal((await runsOf(fireOnce.id)).filter((r) => r.trigger === 'misfire').length, 1, 'fire_once: one misfire for the hour');
    assert.equal((await runsOf(skipJob.id)).filter((r) => r.trigger === 'misfire').length, 0, 'skip: none');

    // And back: every slot the clock now reads again was fired (or missed) already.
    const before = (await runsOf(fireOnce.id)).length;
    const lastFired = Math.max(...(await runsOf(fireOnce.id)).map((r) => r.scheduledAt.getTime()));
    await setServerClock('+0');
    await new Promise((r) => setTimeout(r, 4000));
    const runs = await runsOf(fireOnce.id);
    assert.ok(runs.length <= before + 2, `${runs.length - before} runs after the step back (a slot or two claimed as it came)`);
    assert.ok(
      runs.every((r) => r.scheduledAt.getTime() <= lastFired + 2000),
      'nothing fires at a slot the true clock now reads: those were handed out an hour ago or missed',
    );
    assert.equal((await readLeader(admin, paths.electionDispatch))?.id, 'dispatch-faketime', 'it kept the lead through both steps');
    let exited = false;
    void server.exited.then(() => (exited = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(exited, false, 'and it is still running');

    const twice = [...(await startsByExecId())].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], 'the agent started no execution twice');
  },
);
