import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Run } from '@clover/model';
import { freePort, waitFor } from '@clover/testkit';
import { DealerTransport } from '@clover/protocol';
import { noopLogger, type Logger } from '@clover/telemetry';
import type { Handler } from '@clover/scheduler-client';
import { DispatchServer } from '../src/index.js';
import { paths, sayHello, startCluster, type Cluster } from './harness.js';

// A leader whose wall clock steps an hour forward or back while it fires (NTP stepping a clock
// that was wrong, an operator's `date -s`, a VM resumed): real agent over ZeroMQ, embedded store,
// in-process ZooKeeper tree; the server's clock is injected (DispatchServerOptions.clock), its
// timers are the real ones. The rules are in docs/architecture.md, "Clock trouble".

const hourMs = 3_600_000;

/** A wall clock that can be stepped: Date.now plus an offset. */
function steppableClock() {
  let offsetMs = 0;
  return {
    now: () => Date.now() + offsetMs,
    step(ms: number) {
      offsetMs += ms;
    },
  };
}

/** Every execution id the agent was asked to run, with how many times. */
function countingHandler(): { handler: Handler; executions: Map<string, number> } {
  const executions = new Map<string, number>();
  return {
    executions,
    handler: (ctx) => {
      executions.set(ctx.execId, (executions.get(ctx.execId) ?? 0) + 1);
    },
  };
}

const every = (name: string, misfire: 'fire_once' | 'skip') => ({
  name,
  schedule: { type: 'cron', expr: '* * * * * *' },
  kind: { type: 'handler', name: 'count' },
  misfire,
});

async function runsOf(c: Cluster, jobId: string): Promise<Run[]> {
  return (await c.runsOf(jobId)).sort((a, b) => a.scheduledAt.getTime() - b.scheduledAt.getTime());
}

function assertEachExecutedOnce(executions: Map<string, number>): void {
  const twice = [...executions].filter(([, n]) => n > 1);
  assert.deepEqual(twice, [], 'no execution id started twice');
}

test('the wall clock steps an hour forward: each job misses the hour by its misfire policy, no burst of catch-up fires', async () => {
  const clock = steppableClock();
  const c = await startCluster('clock-forward', { clock: clock.now });
  try {
    const { handler, executions } = countingHandler();
    await c.startAgent('agent-fwd', { handlers: { count: handler } });
    const fireOnce = await c.createJob(every('every-second fire_once', 'fire_once'));
    const skip = await c.createJob(every('every-second skip', 'skip'));
    const minutely = await c.createJob({ ...every('every minute', 'fire_once'), schedule: { type: 'cron', expr: '0 * * * * *' } });
    // Half an hour away: its timer, set on the monotonic clock, would sleep through the step.
    const inTheHour = await c.createJob({
      ...every('one-shot inside the hour', 'fire_once'),
      schedule: { type: 'once', at: new Date(clock.now() + hourMs / 2) },
      deleteWhenDone: false,
    });
    await waitFor(async () => (await runsOf(c, fireOnce.id)).length >= 3, { message: 'the every-second job fires before the step' });

    const stepFrom = clock.now();
    clock.step(hourMs);
    const stepTo = stepFrom + hourMs;
    await waitFor(
      async () => {
        const after = (await runsOf(c, fireOnce.id)).filter((r) => r.scheduledAt.getTime() > stepTo + 1000);
        const skipAfter = (await runsOf(c, skip.id)).filter((r) => r.scheduledAt.getTime() > stepTo + 1000);
        return after.length >= 2 && skipAfter.length >= 2 && (await runsOf(c, inTheHour.id)).length === 1;
      },
      { timeoutMs: 20_000, message: 'firing goes on after the step' },
    );
    const elapsedSinceStepMs = clock.now() - stepTo;

    // No slot of the hour stepped over is fired, but for fire_once's one misfire at its end.
    const inHour = (r: Run) => r.scheduledAt.getTime() > stepFrom + 1000 && r.scheduledAt.getTime() < stepTo - 1000;
    for (const job of [fireOnce, skip]) {
      const runs = await runsOf(c, job.id);
      assert.deepEqual(runs.filter(inHour), [], `${job.name}: no slot inside the hour fires`);
      const after = runs.filter((r) => r.scheduledAt.getTime() >= stepTo - 1000);
      assert.ok(after.length <= elapsedSinceStepMs / 1000 + 2, `${job.name}: ${after.length} runs after the step, not a burst`);
    }
    const onceMisfires = (await runsOf(c, fireOnce.id)).filter((r) => r.trigger === 'misfire');
    assert.equal(onceMisfires.length, 1, 'fire_once: the missed hour ends in one misfire run');
    assert.ok(onceMisfires[0]!.scheduledAt.getTime() >= stepTo - 1000, 'at the latest slot missed');
    assert.equal((await runsOf(c, skip.id)).filter((r) => r.trigger === 'misfire').length, 0, 'skip: no misfire run');

    // Its minutes from the step on: the 60 stepped over end in one misfire; a minute that has come since fires as usual.
    const minuteRuns = (await runsOf(c, minutely.id)).filter((r) => r.scheduledAt.getTime() > stepFrom);
    assert.deepEqual(
      minuteRuns.filter((r) => r.scheduledAt.getTime() <= stepTo).map((r) => r.trigger),
      ['misfire'],
      'the every-minute job: one run for the 60 minutes stepped over',
    );
    assert.ok(minuteRuns[0]!.scheduledAt.getTime() > stepTo - 60_000, 'at its latest minute');
    assert.ok(
      minuteRuns.slice(1).every((r) => r.trigger === 'schedule'),
      'then on time',
    );

    const [oneShot] = await runsOf(c, inTheHour.id);
    assert.equal(oneShot!.trigger, 'misfire', 'the one-shot stepped over fires once, as a misfire, within a second or so');

    await waitFor(() => [...executions.keys()].length > 0, { message: 'the agent ran something' });
    assertEachExecutedOnce(executions);
  } finally {
    await c.close();
  }
});

test('the wall clock steps an hour back: no slot fires again, and firing resumes at the first slot not fired', async () => {
  const clock = steppableClock();
  const c = await startCluster('clock-back', { clock: clock.now });
  try {
    const { handler, executions } = countingHandler();
    await c.startAgent('agent-back', { handlers: { count: handler } });
    const job = await c.createJob(every('every-second', 'fire_once'));
    await waitFor(async () => (await runsOf(c, job.id)).length >= 3, { message: 'fires before the step' });

    const duplicatesBefore = c.server.stats.skippedDuplicates;
    clock.step(-hourMs);
    const stepped = await runsOf(c, job.id);
    const lastBefore = stepped.at(-1)!.scheduledAt.getTime();
    // Three seconds of real time with the clock an hour behind: every slot it now reads was fired.
    await new Promise((r) => setTimeout(r, 3000));
    const during = await runsOf(c, job.id);
    assert.ok(
      during.length <= stepped.length + 1,
      `${during.length - stepped.length} runs while the clock was behind (one claimed ahead at most)`,
    );
    assert.ok(
      during.every((r) => r.scheduledAt.getTime() <= lastBefore + 1000),
      'none at a slot the clock has not reached again',
    );
    assert.equal(c.server.stats.skippedDuplicates, duplicatesBefore, 'no slot already fired was even tried again');

    // The clock is put right: the slots of the real time it lost are on time still, and fire once each.
    clock.step(hourMs);
    await waitFor(async () => (await runsOf(c, job.id)).some((r) => r.scheduledAt.getTime() > clock.now() - 1500), {
      message: 'firing resumes',
    });
    const runs = await runsOf(c, job.id);
    const slots = runs.map((r) => r.scheduledAt.getTime());
    const gaps = slots.slice(1).filter((s, i) => s - slots[i]! !== 1000);
    assert.deepEqual(gaps, [], 'every slot from the first to now has one run: none lost, none twice');
    assert.equal(runs.filter((r) => r.trigger === 'misfire').length, 0, 'the seconds lost were within the misfire threshold: caught up');
    await waitFor(() => [...executions.keys()].length >= runs.length - 2, { message: 'the agent ran them' });
    assertEachExecutedOnce(executions);
  } finally {
    await c.close();
  }
});

// The store here holds only this test's runs, not an hour of them: the step back is a few
// seconds, so that every slot the new leader's clock reads again was fired, as after an hour's
// step on a cluster that had been firing for that hour.
test('a new leader takes over while the wall clock reads slots already fired: the run key stops each, no second EXEC', async () => {
  const clock = steppableClock();
  const c = await startCluster('clock-back-failover', { clock: clock.now, timings: { electionSettleMs: 500 } });
  const standby = new DispatchServer({
    zk: await c.zk(),
    paths,
    store: c.store,
    id: 'clock-back-failover-standby',
    bind: `tcp://127.0.0.1:${await freePort()}`,
    clock: clock.now,
    timings: { electionSettleMs: 500 },
    drainTimeoutMs: 1000,
  });
  try {
    await standby.start();
    const { handler, executions } = countingHandler();
    await c.startAgent('agent-failover', { handlers: { count: handler } });
    const job = await c.createJob(every('every-second', 'fire_once'));
    await waitFor(async () => (await runsOf(c, job.id)).length >= 8, { message: 'fires before the step' });

    clock.step(-6000);
    await c.server.close();
    await waitFor(() => standby.isLeader, { message: 'the standby leads' });
    await waitFor(() => standby.stats.skippedDuplicates >= 3, { message: 'the new leader fires slots its clock reads again' });
    await waitFor(async () => (await runsOf(c, job.id)).some((r) => r.scheduledAt.getTime() > clock.now() - 1500), {
      message: 'and goes on past them',
    });
    const runs = await runsOf(c, job.id);
    const slots = runs.map((r) => r.scheduledAt.getTime());
    assert.deepEqual(
      slots.slice(1).filter((s, i) => s - slots[i]! !== 1000),
      [],
      'one row per slot, none missing',
    );
    await waitFor(() => executions.size >= runs.length - 1, { message: 'the agent ran them' });
    assertEachExecutedOnce(executions);
  } finally {
    await standby.close();
    await c.close();
  }
});

/** A leader on a steppable clock that pings every 200 ms and drops an agent silent for 1.5 s; its warnings, one line each. */
async function pingingCluster(name: string) {
  const clock = steppableClock();
  const warnings: string[] = [];
  const logger: Logger = { ...noopLogger, warn: (message, context) => void warnings.push(`${message} ${JSON.stringify(context)}`) };
  const c = await startCluster(name, { clock: clock.now, logger, timings: { pingIntervalMs: 200, agentSilenceMs: 1500 } });
  return { clock, warnings, c };
}

test("an agent silent across a step back of the leader's wall clock is dropped after agentSilenceMs, not an hour later", async () => {
  const { clock, warnings, c } = await pingingCluster('clock-silence');
  // An agent that says HELLO and nothing more (no PONG): its ZooKeeper node stays, so only its silence can tell.
  const id = 'silent-agent';
  const zk = await c.zk();
  await zk.ensurePath(paths.nodesOf('clients'));
  await zk.create(paths.node('clients', id), { id, beatAt: Date.now(), seq: 1 }, 'ephemeral');
  const t = new DealerTransport({ id, onMessage: () => undefined });
  t.connect(c.endpoint);
  try {
    await sayHello(t, id, 'h');
    await new Promise((r) => setTimeout(r, 300));
    clock.step(-hourMs);
    await waitFor(() => warnings.some((w) => w.startsWith('agent silent too long') && w.includes(id)), {
      timeoutMs: 10_000,
      message: 'the silent agent dropped',
    });
  } finally {
    await t.close();
    await c.close();
  }
});

test("a step forward of the leader's wall clock is no silence: an agent that answers stays", async () => {
  const { clock, warnings, c } = await pingingCluster('clock-no-silence');
  try {
    await c.startAgent('answering-agent');
    await new Promise((r) => setTimeout(r, 500));
    clock.step(hourMs);
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(
      warnings.filter((w) => w.includes('answering-agent') || w.startsWith('event loop was held')),
      [],
      'neither dropped nor excused: an hour of wall clock is no hour of silence',
    );
  } finally {
    await c.close();
  }
});

for (const [side, skewMs] of [
  ['ahead of', -10 * 60_000],
  ['behind', 10 * 60_000],
] as const) {
  test(`an agent whose clock is ten minutes ${side} the leader's runs its executions to the end, not timed out at once`, async () => {
    // The leader's clock is the one skewed here: the agent's is the test's own.
    const leaderClock = steppableClock();
    leaderClock.step(skewMs);
    const c = await startCluster(`clock-skew-${skewMs > 0 ? 'behind' : 'ahead'}`, { clock: leaderClock.now });
    try {
      await c.startAgent('skewed-agent', {
        handlers: { nap: () => new Promise((r) => setTimeout(r, 300)) },
      });
      const job = await c.createJob({
        name: 'nap',
        schedule: { type: 'once', at: new Date(leaderClock.now() + 1000) },
        kind: { type: 'handler', name: 'nap' },
        timeoutMs: 20_000,
        deleteWhenDone: false,
      });
      const [run] = await waitFor(
        async () => {
          const runs = await runsOf(c, job.id);
          return runs.length && ['succeeded', 'failed', 'timed_out', 'lost'].includes(runs[0]!.status) ? runs : undefined;
        },
        { timeoutMs: 20_000, message: 'the run ends' },
      );
      assert.equal(run!.status, 'succeeded', run!.error ?? '');
    } finally {
      await c.close();
    }
  });
}
