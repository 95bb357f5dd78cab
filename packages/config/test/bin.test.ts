import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { spawnProcess, type ChildHandle } from '@clover/testkit';

const bin = fileURLToPath(new URL('./fixtures/steps-bin.ts', import.meta.url));

function startBin(name: string, env: Record<string, string>): ChildHandle {
  return spawnProcess(process.execPath, ['--conditions=source', '--import', 'tsx', bin], { name, env });
}

/** The `closed <name>` lines in the order the clean-up steps ran. */
const closed = (child: ChildHandle) => [...child.output().matchAll(/^closed (\w+)$/gm)].map((m) => m[1]);

test('SIGTERM runs every clean-up step newest first, past one that throws, names it, exits 1', async () => {
  const child = startBin('steps-bin throwing', { STEPS: 'store,zk:throw,server' });
  await child.waitForOutput(/^ready$/m, 30_000);
  assert.equal(await child.kill('SIGTERM', 30_000), 1);
  assert.deepEqual(closed(child), ['server', 'zk', 'store'], 'the step after the one that threw still ran');
  assert.match(child.output(), /steps-bin: clean-up step "zk" failed: zk close failed/);
  assert.doesNotMatch(child.output(), /clean-up step "(server|store)" failed/);
});

test('a clean shutdown exits 0 and names nothing', async () => {
  const child = startBin('steps-bin clean', { STEPS: 'store,logger,server' });
  await child.waitForOutput(/^ready$/m, 30_000);
  assert.equal(await child.kill('SIGINT', 30_000), 0);
  assert.deepEqual(closed(child), ['server', 'logger', 'store']);
  assert.doesNotMatch(child.output(), /failed/);
});

test('a step that hangs is cut at its bound, named, and the next still runs', async () => {
  const child = startBin('steps-bin hanging', { STEPS: 'store,zk:hang,server', STEP_TIMEOUT_MS: '300' });
  await child.waitForOutput(/^ready$/m, 30_000);
  assert.equal(await child.kill('SIGTERM', 30_000), 1);
  assert.deepEqual(closed(child), ['server', 'zk', 'store']);
  assert.match(child.output(), /clean-up step "zk" failed: timed out after 300 ms/);
});

test('a start that fails half way closes what it had opened and exits 1', async () => {
  const child = startBin('steps-bin failing start', { STEPS: 'store,zk:throw', FAIL_START: '1' });
  assert.equal(await child.waitForExit(30_000), 1);
  assert.match(child.output(), /steps-bin: could not start: no ZooKeeper/);
  assert.deepEqual(closed(child), ['zk', 'store']);
  assert.match(child.output(), /clean-up step "zk" failed: zk close failed/);
  assert.doesNotMatch(child.output(), /^ready$/m);
});
