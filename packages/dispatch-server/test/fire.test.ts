import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSchema, type Job, type Run, type RunInput, type RunPatch } from '@clover/model';
import { noopLogger } from '@clover/telemetry';
import { AgentDirectory, FireTimer, JobScheduler, Router } from '../src/index.js';
import { fireJob, type FireDeps } from '../src/fire.js';
import { KeyedChain } from '../src/keyed-chain.js';
import { SlotGate } from '../src/slot-gate.js';
import type { RunTracker } from '../src/track.js';
import { testJob } from './jobs.js';

// fireJob's decisions, around a tracker that only records what it is asked: the store, the
// sockets and the agents are the integration tests' (dispatch.test.ts).
const job = testJob;

const slot = Date.UTC(2026, 0, 1, 0, 0, 10);

function harness(
  opts: {
    now?: number;
    active?: Run[];
    atSlot?: (j: Job) => Job | null;
    leadingAtSlot?: boolean;
    slowClaim?: boolean;
    lostDuringClaim?: boolean;
  } = {},
) {
  let now = opts.now ?? slot - 100;
  let leading = true;
  let active = opts.active ?? [];
  let reachSlot!: () => void;
  const slotReached = new Promise<void>((r) => (reachSlot = r));
  const log: string[] = [];
  const inserted: RunInput[] = [];
  const updated: Array<{ id: string; patch: RunPatch }> = [];
  const dispatched: Array<{ job: Job; run: Run; order?: string[] }> = [];
  const tracker = {
    now: () => now,
    activeRuns: () => active,
    inProgress: () => active.length,
    route: () => ['agent-1', 'agent-2'],
    sendFired: (j: Job, run: Run, order: string[]) => {
      log.push('dispatch');
      dispatched.push({ job: j, run, order });
      // What the tracker does: the run is in flight from here on.
      active = [...active, run];
    },
    cancel: (run: Run) => log.push(`cancel ${run.id}`),
  } as unknown as RunTracker;
  const deps: FireDeps = {
    insertRun: (input) => {
      log.push('insert');
      inserted.push(input);
      // A claim write that took longer than the lead.
      if (opts.slowClaim) now = slot + 10;
      // Deposed while the store held the write (a pause, a slow store).
      if (opts.lostDuringClaim) leading = false;
      // The store answers on a later turn, as the write batch does.
      return new Promise((r) => setImmediate(() => r(runSchema.parse({ attempt: 1, ...input }))));
    },
    updateRun: (id, patch) => {
      log.push('update');
      updated.push({ id, patch });
      return Promise.resolve(true);
    },
    term: () => 7,
    leads: (term) => leading && term === 7,
    untilSlot: async () => {
      log.push('wait');
      if (now >= slot) return;
      await slotReached;
      now = slot;
      leading = opts.leadingAtSlot ?? true;
    },
    jobAtSlot: (j) => (opts.atSlot ? opts.atSlot(j) : j),
    lanes: new KeyedChain(),
    tracker,
    agents: new AgentDirectory(() => undefined),
    router: new Router(),
    logger: noopLogger,
  };
  return {
    deps,
    log,
    inserted,
    updated,
    dispatched,
    reachSlot,
    setActive: (runs: Run[]) => (active = runs),
  };
}

const settle = () => new Promise((r) => setImmediate(r));
const running = (id: string) =>
  runSchema.parse({ id, jobId: 'j1', scheduledAt: new Date(slot - 1000), trigger: 'schedule', status: 'running', attempt: 1 });

test('a slot handed over ahead is claimed ahead: the row first, stamped with the slot; the dispatch only at the slot', async () => {
  const h = harness();
  const fired = fireJob(h.deps, job(), slot, 'schedule');
  await settle();
  assert.deepEqual(h.log, ['insert', 'wait'], 'claimed, then waiting');
  assert.equal(h.inserted[0]!.status, 'dispatched');
  assert.equal(h.inserted[0]!.node, 'agent-1');
  assert.equal((h.inserted[0]!.dispatchedAt as Date | undefined)?.getTime(), slot, 'the EXEC leaves at the slot, not at the claim');
  h.reachSlot();
  const runs = await fired;
  assert.deepEqual(h.log, ['insert', 'wait', 'dispatch']);
  assert.equal(runs.length, 1);
  assert.deepEqual(h.dispatched[0]!.order, ['agent-1', 'agent-2']);
});

test('a job disabled, deleted or rescheduled inside the lead: its claimed run is recorded skipped, never sent', async () => {
  const h = harness({ atSlot: () => null });
  const fired = fireJob(h.deps, job(), slot, 'schedule');
  await settle();
  h.reachSlot();
  assert.deepEqual(await fired, []);
  assert.deepEqual(h.log, ['insert', 'wait', 'update']);
  assert.equal(h.updated[0]!.patch.status, 'skipped');
  assert.match(h.updated[0]!.patch.error ?? '', /before its slot/);
});

test('a claim that took longer than the lead is still judged at the slot', async () => {
  const h = harness({ slowClaim: true, atSlot: () => null });
  assert.deepEqual(await fireJob(h.deps, job(), slot, 'schedule'), []);
  assert.deepEqual(h.log, ['insert', 'wait', 'update'], 'the job went away while its row was being written: skipped, not sent');
});

test('the job as it stands at the slot is the one dispatched (a payload changed inside the lead)', async () => {
  const changed = job({ payload: { v: 2 } });
  const h = harness({ atSlot: () => changed });
  const fired = fireJob(h.deps, job(), slot, 'schedule');
  await settle();
  h.reachSlot();
  await fired;
  assert.equal(h.dispatched[0]!.job, changed);
});

test('leadership lost inside the lead: nothing is sent or rewritten (the next leader adopts the row)', async () => {
  const h = harness({ leadingAtSlot: false });
  const fired = fireJob(h.deps, job(), slot, 'schedule');
  await settle();
  h.reachSlot();
  assert.deepEqual(await fired, []);
  assert.deepEqual(h.log, ['insert', 'wait']);
});

test('forbid looks at running runs at the slot: one that ends inside the lead does not skip the fire', async () => {
  const h = harness({ active: [running('j1@earlier')] });
  const fired = fireJob(h.deps, job({ concurrency: 'forbid' }), slot, 'schedule');
  await settle();
  assert.deepEqual(h.log, ['wait'], 'nothing claimed while a run might still end in time');
  h.setActive([]);
  h.reachSlot();
  assert.equal((await fired).length, 1);
  assert.deepEqual(h.log, ['wait', 'insert', 'wait', 'dispatch'], 'judged again after the claim (the slot has come: no waiting)');
});

test('forbid with a run still going at the slot writes the slot skipped; replace cancels it and dispatches', async () => {
  const still = running('j1@earlier');
  const f = harness({ active: [still] });
  const forbidden = fireJob(f.deps, job({ concurrency: 'forbid' }), slot, 'schedule');
  f.reachSlot();
  assert.deepEqual(await forbidden, []);
  assert.equal(f.inserted[0]!.status, 'skipped');
  const r = harness({ active: [still] });
  const replaced = fireJob(r.deps, job({ concurrency: 'replace' }), slot, 'schedule');
  r.reachSlot();
  assert.equal((await replaced).length, 1);
  assert.deepEqual(r.log, ['wait', 'insert', 'wait', 'cancel j1@earlier', 'dispatch']);
});

test('overdue slots of a forbid job fired in one turn: the first runs, the others are written skipped', async () => {
  // Issue 16's chaos run: a new leader, busy adopting, fired a forbid job's slots 20–24 late and
  // side by side; each looked before any had claimed, and all five ran at once.
  const h = harness({ now: slot + 5000 });
  const forbid = job({ concurrency: 'forbid' });
  const fired = await Promise.all([0, 1, 2, 3].map((i) => fireJob(h.deps, forbid, slot + i * 1000, 'misfire')));
  assert.deepEqual(
    fired.map((runs) => runs.length),
    [1, 0, 0, 0],
  );
  assert.deepEqual(
    h.inserted.map((r) => r.status),
    ['dispatched', 'skipped', 'skipped', 'skipped'],
  );
  // An `allow` job's fires do not wait for each other.
  const a = harness({ now: slot + 5000 });
  const all = await Promise.all([0, 1].map((i) => fireJob(a.deps, job(), slot + i * 1000, 'misfire')));
  assert.deepEqual(
    all.map((runs) => runs.length),
    [1, 1],
  );
});

test("a forbid job's fire held in a slow store: each later slot is written skipped at its own time, not queued behind it", async () => {
  // Issue 16's MongoDB chaos run: a forbid job's fires waited in line behind one another, a
  // store round trip each; its slots ran 5-7 s late, and six at a time were never written
  // before the leader was killed. Here the first slot's claim is held until the third slot.
  const h = harness({ now: slot - 50 });
  const offset = (r: RunInput) => (r.scheduledAt as Date).getTime() - slot;
  let now = slot - 50;
  const slotWaits = new Map<number, () => void>();
  let releaseClaim!: () => void;
  const claimHeld = new Promise<void>((r) => (releaseClaim = r));
  const deps: FireDeps = {
    ...h.deps,
    tracker: Object.assign(Object.create(h.deps.tracker) as RunTracker, { now: () => now }),
    insertRun: async (input) => {
      if (offset(input) === 0) await claimHeld;
      return h.deps.insertRun(input);
    },
    untilSlot: (at) => (at <= now ? Promise.resolve() : new Promise<void>((r) => slotWaits.set(at, r))),
  };
  const reach = async (at: number) => {
    now = at;
    for (const [t, go] of slotWaits) if (t <= at) go();
    await settle();
    await settle();
  };
  const forbid = job({ concurrency: 'forbid' });
  const fires = [0, 1, 2].map((i) => fireJob(deps, forbid, slot + i * 1000, 'schedule'));
  await settle();
  await reach(slot + 1000);
  assert.deepEqual(
    h.inserted.map((r) => [offset(r), r.status]),
    [[1000, 'skipped']],
    'the second slot written skipped at its time, the first still held',
  );
  assert.match(h.inserted[0]!.error ?? '', /still running \(concurrency forbid\)/);
  await reach(slot + 2000);
  assert.deepEqual(
    h.inserted.map((r) => [offset(r), r.status]),
    [
      [1000, 'skipped'],
      [2000, 'skipped'],
    ],
  );
  releaseClaim();
  const runs = await Promise.all(fires);
  assert.deepEqual(
    runs.map((r) => r.length),
    [1, 0, 0],
  );
  assert.deepEqual(
    h.dispatched.map((d) => d.run.scheduledAt.getTime() - slot),
    [0],
    'the held slot still runs',
  );
  // Deposed while waiting: no row is written for the slot, the next leader decides it.
  const lost = harness({ now: slot - 50 });
  let hold!: () => void;
  const held = new Promise<void>((r) => (hold = r));
  const lostDeps: FireDeps = {
    ...lost.deps,
    insertRun: async (input) => {
      await held;
      return lost.deps.insertRun(input);
    },
    leads: () => false,
    untilSlot: () => Promise.resolve(),
  };
  const first = fireJob(lostDeps, forbid, slot + 5000, 'schedule');
  assert.deepEqual(await fireJob(lostDeps, forbid, slot + 6000, 'schedule'), []);
  hold();
  await first;
  assert.ok(!lost.inserted.some((r) => r.status === 'skipped'), 'no skip written by a deposed server');
});

test('a slot already past (a misfire, a manual trigger) is written and sent at once', async () => {
  const h = harness({ now: slot + 5000 });
  const runs = await fireJob(h.deps, job(), slot, 'misfire');
  assert.equal(runs.length, 1);
  assert.deepEqual(h.log, ['insert', 'dispatch']);
  assert.equal((h.inserted[0]!.dispatchedAt as Date | undefined)?.getTime(), slot + 5000);
});

test('leadership lost while an overdue slot is being claimed: its run is not sent (the next leader adopts the row)', async () => {
  // Issue 16's MongoDB chaos run: a leader SIGSTOPped past its session stepped down, and its
  // overdue fires' claims, held ~20 s in a slow store's write queue, then landed; each was sent
  // from the deposed server as if it still led, and 11 executions ran twice (once from there,
  // once from a later leader that found the run still waiting).
  const h = harness({ now: slot + 5000, lostDuringClaim: true });
  assert.deepEqual(await fireJob(h.deps, job(), slot, 'misfire'), []);
  assert.deepEqual(h.log, ['insert'], 'claimed, never dispatched');
  assert.equal(h.dispatched.length, 0);
});

test('the timer with a lead hands a key out early, with its own time', async () => {
  const got: Array<[string, number, number]> = [];
  const t = new FireTimer((k, at) => got.push([k, at, Date.now()]), Date.now, 60);
  const at = Date.now() + 100;
  t.arm('a', at);
  await new Promise((r) => setTimeout(r, 160));
  t.stop();
  assert.equal(got.length, 1);
  assert.equal(got[0]![1], at);
  assert.ok(got[0]![2] < at, 'handed out before its time');
});

test('a job re-armed inside the lead (changed just after its slot was handed out) does not get that slot again', () => {
  const now = slot - 50;
  const fired: number[] = [];
  let armedNext: number | null = null;
  const s = new JobScheduler(
    (j, at) => {
      fired.push(at);
      if (fired.length === 1) s.upsert(job({ payload: { v: 2 } }));
    },
    (_j, next) => (armedNext = next),
    () => now,
    100,
  );
  s.load([job({ nextRunAt: new Date(slot) })]);
  // load arms the slot 50 ms away: inside the 100 ms lead, so the timer hands it out on its next turn.
  return new Promise<void>((resolve) =>
    setTimeout(() => {
      const next = s.nextAt('j1');
      s.stop();
      assert.deepEqual(fired, [slot]);
      assert.equal(next, slot + 1000);
      assert.equal(armedNext, slot + 1000);
      resolve();
    }, 30),
  );
});

test('the slot gate: one timer per slot time, never early, and opened at once on demand', async () => {
  const gate = new SlotGate();
  const at = Date.now() + 40;
  const woke: number[] = [];
  const waits = [1, 2, 3].map(() => gate.until(at).then(() => woke.push(Date.now())));
  assert.equal(gate.size, 1);
  await Promise.all(waits);
  assert.ok(woke.every((t) => t >= at));
  assert.equal(gate.size, 0);
  let opened = false;
  const far = gate.until(Date.now() + 60_000).then(() => (opened = true));
  gate.openAll();
  await far;
  assert.ok(opened);
  await gate.until(Date.now() - 1);
});
