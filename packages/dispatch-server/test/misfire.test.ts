import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from '@clover/model';
import { waitFor } from '@clover/testkit';
import { JobScheduler, latestSlotBetween, nextSlot } from '../src/index.js';
import { misfireThresholdMs } from '../src/schedule.js';
import { testJob } from './jobs.js';

// The scheduler's misfire rules on their own, with a clock the test sets (the real FireTimer
// underneath): what a slot that comes too late fires, and how the latest missed slot is found.

const job = testJob;

/** The latest slot in (from, to] the slow way: every slot from `from` on. */
function walkedLatest(j: Job, fromMs: number, toMs: number): number | null {
  let latest: number | null = null;
  for (let s = nextSlot(j, fromMs); s !== null && s <= toMs; s = nextSlot(j, s)) latest = s;
  return latest;
}

const t0 = Date.UTC(2026, 10, 30, 9, 0, 0);

test('latestSlotBetween finds what walking every slot finds, for dense, sparse, windowed and irregular schedules', () => {
  const schedules: Array<Record<string, unknown>> = [
    { schedule: { type: 'cron', expr: '* * * * * *' } },
    { schedule: { type: 'cron', expr: '0 * * * * *' } },
    { schedule: { type: 'cron', expr: '*/5 * 9 * * *' } },
    { schedule: { type: 'cron', expr: '0 30 9,17 * * *', timezone: 'Europe/Berlin' } },
    { schedule: { type: 'interval', everyMs: 7000, startAt: new Date(t0 + 123) } },
    { schedule: { type: 'once', at: new Date(t0 + 5000) } },
    { schedule: { type: 'cron', expr: '* * * * * *' }, window: { startAt: new Date(t0 + 2000), endAt: new Date(t0 + 9000) } },
  ];
  const spans = [0, 1, 999, 1000, 1001, 4321, 60_000, 3_600_000, 5 * 3_600_000];
  const offsets = [-7_200_000, -3_600_000, -1, 0, 1, 2500, 40_000, 9_000_000];
  let compared = 0;
  for (const over of schedules) {
    const j = job(over);
    for (const offset of offsets)
      for (const span of spans) {
        const to = t0 + offset;
        const from = to - span;
        assert.equal(latestSlotBetween(j, from, to), walkedLatest(j, from, to), `${JSON.stringify(over)} in (${from}, ${to}]`);
        compared++;
      }
  }
  assert.equal(compared, schedules.length * spans.length * offsets.length);
});

test('latestSlotBetween: an every-second job missed for two days gives its last slot, not the 100,000th', () => {
  const now = t0;
  // Walking forward with a cap of 100,000 slots stopped ~28 h short of now.
  assert.equal(latestSlotBetween(job(), now - 2 * 86_400_000, now), now);
  const fired: Array<[number, string]> = [];
  const s = new JobScheduler(
    (_j, at, trigger) => fired.push([at, trigger]),
    () => undefined,
    () => now,
  );
  s.load([job({ nextRunAt: new Date(now - 2 * 86_400_000) })]);
  s.stop();
  assert.deepEqual(fired, [[now, 'misfire']], 'a new leader fires the latest slot missed');
});

test('misfireThresholdMs: the start deadline, kept within 10 s and 60 s', () => {
  assert.equal(misfireThresholdMs(job(), t0), 10_000, 'every second: the default start deadline, 10 s');
  assert.equal(misfireThresholdMs(job({ schedule: { type: 'cron', expr: '0 * * * * *' } }), t0), 60_000, 'every minute: 60 s');
  assert.equal(misfireThresholdMs(job({ startDeadlineMs: 0 }), t0), 10_000, 'a start deadline of 0 still tolerates jitter');
  assert.equal(
    misfireThresholdMs(job({ startDeadlineMs: 86_400_000 }), t0),
    60_000,
    'a day-long start deadline catches up a minute at most',
  );
  assert.equal(misfireThresholdMs(job({ startDeadlineMs: 30_000 }), t0), 30_000);
});

/** A JobScheduler on a clock the test moves, recording what it hands out. */
function scheduler(startMs: number) {
  let now = startMs;
  const fired: Array<[string, number, string]> = [];
  const armed = new Map<string, number | null>();
  const s = new JobScheduler(
    (j, at, trigger) => fired.push([j.id, at, trigger]),
    (j, next) => armed.set(j.id, next),
    () => now,
  );
  return {
    s,
    fired,
    armed,
    set(ms: number) {
      now = ms;
    },
  };
}

test('a running leader whose wall clock steps forward an hour: one misfire for fire_once, none for skip, within about a second', async () => {
  const start = Math.ceil(Date.now() / 1000) * 1000 + 500;
  const h = scheduler(start);
  h.s.load([
    job({ id: 'once', misfire: 'fire_once', nextRunAt: new Date(start + 500) }),
    job({ id: 'skip', misfire: 'skip', nextRunAt: new Date(start + 500) }),
  ]);
  assert.deepEqual(h.fired, [], 'nothing due yet');
  const stepped = start + 3_600_000;
  h.set(stepped);
  try {
    // The FireTimer's own timer still counts toward the old slot on the monotonic clock; it
    // looks at the wall clock within wallCheckMs (1 s) and sees the step.
    await waitFor(() => h.fired.length >= 1, { timeoutMs: 5000, message: 'the step is seen' });
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(h.fired, [['once', stepped - 500, 'misfire']], 'one fire for 3,600 slots: the latest, as a misfire');
    assert.equal(h.armed.get('skip'), stepped + 500, 'skip: re-armed at its first slot after the step');
    assert.equal(h.armed.get('once'), stepped + 500);
  } finally {
    h.s.stop();
  }
});

test('a slot half an hour away when the wall clock steps past it is seen within about a second, not half an hour later', async () => {
  const start = Date.now();
  const h = scheduler(start);
  // Alone on the timer: no nearer slot wakes it. Its setTimeout, on the monotonic clock, says 30 minutes.
  h.s.load([job({ id: 'half-hour', schedule: { type: 'once', at: new Date(start + 1_800_000) }, createdAt: new Date(start) })]);
  h.set(start + 3_600_000);
  try {
    await waitFor(() => h.fired.length >= 1, { timeoutMs: 5000, message: 'the step is seen' });
    assert.deepEqual(h.fired, [['half-hour', start + 1_800_000, 'misfire']]);
  } finally {
    h.s.stop();
  }
});

test('a slot a little late (within the threshold) still fires on time, each missed slot once', async () => {
  const start = Math.ceil(Date.now() / 1000) * 1000 + 500;
  const h = scheduler(start);
  h.s.load([job({ id: 'once', nextRunAt: new Date(start + 500) })]);
  h.set(start + 4000);
  try {
    await waitFor(() => h.fired.length >= 4, { timeoutMs: 5000, message: 'the late slots' });
    assert.deepEqual(
      h.fired.map(([, at, trigger]) => [at - start, trigger]),
      [500, 1500, 2500, 3500].map((d) => [d, 'schedule']),
    );
  } finally {
    h.s.stop();
  }
});

test('a running leader whose wall clock steps back an hour hands out no slot twice, and resumes past the last one', async () => {
  const start = Math.ceil(Date.now() / 1000) * 1000 + 500;
  const h = scheduler(start);
  h.s.load([job({ id: 'once', nextRunAt: new Date(start + 500) })]);
  try {
    h.set(start + 1000);
    await waitFor(() => h.fired.length >= 1, { timeoutMs: 5000, message: 'the first slot' });
    h.set(start + 1000 - 3_600_000);
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(
      h.fired.map(([, at]) => at - start),
      [500],
      'nothing while the clock reads an hour that was fired',
    );
    assert.equal(h.s.nextAt('once'), start + 1500, 'armed at the first slot not handed out');
    h.set(start + 1600);
    await waitFor(() => h.fired.length >= 2, { timeoutMs: 5000, message: 'resumes' });
    assert.deepEqual(
      h.fired.map(([, at, trigger]) => [at - start, trigger]),
      [
        [500, 'schedule'],
        [1500, 'schedule'],
      ],
    );
  } finally {
    h.s.stop();
  }
});
