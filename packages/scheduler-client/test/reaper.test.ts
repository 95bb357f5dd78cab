import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cleanUp, waitFor } from '@clover/testkit';
import { noopLogger } from '@clover/telemetry';
import { GroupReaper } from '../src/orphans/reaper.js';

const groups: number[] = [];
after(() =>
  cleanUp(
    groups.map(
      (g) =>
        [
          `group ${g}`,
          () => {
            try {
              process.kill(-g, 'SIGKILL');
            } catch {
              /* gone */
            }
          },
        ] as const,
    ),
  ),
);

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function sleeper(): number {
  const child = spawn('sleep', ['120'], { detached: true, stdio: 'ignore' });
  child.unref();
  groups.push(child.pid!);
  return child.pid!;
}

test('the reaper kills the groups still registered when its pipe closes, and only those', async () => {
  const reaper = new GroupReaper(noopLogger);
  const [a, b, c] = [sleeper(), sleeper(), sleeper()];
  reaper.watch(a);
  reaper.watch(b);
  reaper.watch(c);
  // The middle one of three ended: a later process given its pid must not be killed.
  reaper.forget(b);
  const pid = reaper.pid!;
  assert.ok(alive(pid));
  reaper.close();
  await waitFor(() => !alive(a) && !alive(c), { message: 'the registered groups killed' });
  await waitFor(() => !alive(pid), { message: 'the reaper exits after its one job' });
  assert.ok(alive(b), 'the forgotten group lives');
});

test('a reaper that dies at once (no shell there) is not started again in a loop; the agent runs on', async () => {
  const warnings: string[] = [];
  const reaper = new GroupReaper({ ...noopLogger, warn: (m: string) => void warnings.push(m) }, { shell: '/nonexistent/sh' });
  reaper.watch(sleeper());
  await waitFor(() => warnings.length > 0, { message: 'a warning' });
  assert.match(warnings.join('\n'), /reaper/);
  reaper.close();
});

test('a reaper killed from outside is replaced, and the new one guards the groups still running', async () => {
  // Replacement only after a reaper that lived a while (one that dies at once is not looped
  // on): this clock says two seconds passed between its start and its death.
  let now = 0;
  const reaper = new GroupReaper(noopLogger, { clock: () => now });
  const a = sleeper();
  reaper.watch(a);
  const first = reaper.pid!;
  now += 2000;
  process.kill(first, 'SIGKILL');
  await waitFor(() => reaper.pid !== null && reaper.pid !== first, { message: 'a new reaper' });
  assert.ok(alive(a), "the reaper's death kills nothing");
  reaper.close();
  await waitFor(() => !alive(a), { message: 'the new reaper kills the group it inherited' });
});
