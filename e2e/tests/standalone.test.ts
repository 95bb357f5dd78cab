import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnProcess, tempDir, waitFor, type ChildHandle } from '@clover/testkit';
import { ConsoleSession, waitForHealth } from '../lib/api.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// What `pnpm start` runs once turbo has built the tree (the test suite builds it first).
const cloverBin = path.join(repoRoot, 'packages/clover/dist/bin.js');

interface Run {
  id: string;
  status: string;
  jobId: string;
}

test('clover standalone: a job runs every second and survives a restart', async () => {
  const data = await tempDir('clover-standalone-');
  after(() => data.cleanup());
  const httpPort = await freePort();
  const env = {
    CLOVER_DATA_DIR: data.path,
    CLOVER_HTTP_PORT: String(httpPort),
    CLOVER_DISPATCH_BIND: `tcp://127.0.0.1:${await freePort()}`,
    CLOVER_ADMIN_PASSWORD: 'e2e-admin-password',
  };
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  const start = (): ChildHandle => spawnProcess(process.execPath, [cloverBin, 'standalone'], { env, cwd: repoRoot, name: 'standalone' });

  let proc = start();
  after(() => proc.kill('SIGKILL'));
  await proc.waitForOutput(/console at http/, 60_000);
  await waitForHealth(baseUrl);

  const admin = await ConsoleSession.login(baseUrl, 'admin', 'e2e-admin-password');
  const job = await admin.call<{ id: string }>('POST', '/api/jobs', {
    name: 'every-second',
    schedule: { type: 'cron', expr: '* * * * * *', timezone: 'UTC' },
    kind: { type: 'handler', name: 'echo' },
    payload: { hello: 'clover' },
    target: { type: 'any' },
  });

  const succeeded = async (min: number) =>
    waitFor(
      async () => {
        const page = await admin.call<{ items: Run[] }>('GET', `/api/runs?jobId=${encodeURIComponent(job.id)}&status=succeeded&limit=500`);
        return page.items.length >= min ? page.items : undefined;
      },
      { timeoutMs: 30_000, message: `${min} succeeded runs of ${job.id}` },
    );

  const before = await succeeded(3);
  assert.ok(before.every((r) => r.jobId === job.id));

  // A clean stop, then the same data directory: the job and its history are still there.
  assert.equal(await proc.kill('SIGTERM'), 0);
  proc = start();
  await proc.waitForOutput(/console at http/, 60_000);
  await waitForHealth(baseUrl);
  const again = await ConsoleSession.login(baseUrl, 'admin', 'e2e-admin-password');
  const detail = await again.call<{ job: { id: string; name: string }; nextFireTimes: string[] }>(
    'GET',
    `/api/jobs/${encodeURIComponent(job.id)}`,
  );
  assert.equal(detail.job.name, 'every-second');
  assert.equal(detail.nextFireTimes.length, 10);
  const history = await again.call<{ items: Run[] }>('GET', `/api/runs?jobId=${encodeURIComponent(job.id)}&limit=500`);
  for (const run of before)
    assert.ok(
      history.items.some((r) => r.id === run.id),
      `run ${run.id} kept across the restart`,
    );
  // And it keeps firing after the restart.
  await waitFor(
    async () => {
      const page = await again.call<{ items: Run[] }>('GET', `/api/runs?jobId=${encodeURIComponent(job.id)}&status=succeeded&limit=500`);
      return page.items.length > before.length;
    },
    { timeoutMs: 30_000, message: 'runs after the restart' },
  );
});
