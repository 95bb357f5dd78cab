import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jobInputSchema, jobSchema, type Job, type Run } from '@clover/model';
import { checkChaos } from '../chaos/harness.js';

// The chaos harness's rules on evidence made up here: each fault planted once is counted once,
// and a clean record counts nothing. The 2-minute chaos run (chaos.test.ts) relies on them.
const from = Date.UTC(2026, 10, 30, 12, 0, 0);
const to = from + 5000;
const slots = [0, 1, 2, 3, 4].map((i) => from + i * 1000);

const run = (jobId: string, at: number, over: Partial<Run> = {}): Run => ({
  id: `${jobId}@${new Date(at).toISOString()}`,
  jobId,
  scheduledAt: new Date(at),
  trigger: 'schedule',
  status: 'succeeded',
  attempt: 1,
  node: 'agent-1',
  dispatchedAt: new Date(at),
  startedAt: new Date(at + 5),
  finishedAt: new Date(at + 10),
  exitCode: 0,
  outputTail: '',
  error: null,
  leaderTerm: null,
  ...over,
});
const jobRow = (id: string, runCount: number, failureCount = 0): Job =>
  jobSchema.parse({
    ...jobInputSchema.parse({ name: id, schedule: { type: 'cron', expr: '* * * * * *' }, kind: { type: 'handler', name: 'noop' } }),
    id,
    createdAt: new Date(from - 60_000),
    updatedAt: new Date(from - 60_000),
    runCount,
    failureCount,
  });
const start = (execId: string, jobId: string, at: number, agentId = 'agent-1') => ({ event: 'start' as const, at, agentId, execId, jobId });
const end = (execId: string, jobId: string, at: number, agentId = 'agent-1') => ({
  event: 'end' as const,
  at,
  agentId,
  execId,
  jobId,
  status: 'succeeded',
});

function clean() {
  const runs = slots.map((s) => run('noop', s));
  return {
    from,
    to,
    jobs: [{ id: 'noop', mix: 'noop' as const, createdAt: from - 60_000 }],
    runs,
    journals: runs.flatMap((r) => [start(r.id, 'noop', r.scheduledAt.getTime() + 5), end(r.id, 'noop', r.scheduledAt.getTime() + 10)]),
    jobRows: new Map([['noop', jobRow('noop', 5)]]),
    counters: new Map([['noop', { succeeded: 5 }]]),
    disruptions: [],
    agentKillsAt: new Map<string, number[]>(),
    counts: { leaderKills: 0, agentKills: 0, stops: 0, zooKeeperRestarts: 0, serverJoins: 0 },
  };
}

test('a clean record counts nothing', () => {
  assert.deepEqual(Object.values(checkChaos(clean()).zeros), [0, 0, 0, 0, 0, 0]);
});

test('each planted fault is counted where it belongs', () => {
  const e = clean();
  // An execution started twice (on two agents).
  e.journals.push(start(e.runs[0]!.id, 'noop', from + 50, 'agent-2'));
  // A second run for slot 1 (a different id for the same slot).
  e.runs.push(run('noop', slots[1]!, { id: 'noop@dup' }));
  // Slot 3 missed with no disruption to excuse it; the run after it is a schedule run, not a misfire.
  e.runs = e.runs.filter((r) => r.scheduledAt.getTime() !== slots[3]);
  // A run not over.
  e.runs[0] = { ...e.runs[0]!, status: 'running' };
  const r = checkChaos(e);
  assert.equal(r.zeros.executionsStartedTwice, 1);
  assert.equal(r.zeros.slotsWithMoreThanOneRun, 1);
  assert.equal(r.zeros.slotsMissedBeyondPolicy, 2, 'the missed slot, and the gap it leaves ending in no misfire run');
  assert.equal(r.zeros.runsNotFinal, 1);
  assert.ok(r.zeros.countersDisagreeing >= 1, 'the counters no longer match the runs');
  assert.equal(r.examples.slotsMissedBeyondPolicy.length, 2);
});

test('a gap inside a disruption that ends in a misfire run is the misfire policy at work', () => {
  const e = clean();
  e.runs = e.runs.filter((r) => r.scheduledAt.getTime() !== slots[1] && r.scheduledAt.getTime() !== slots[2]);
  e.runs = e.runs.map((r) => (r.scheduledAt.getTime() === slots[3] ? { ...r, trigger: 'misfire' } : r));
  e.disruptions.push({ what: 'SIGKILL leader', from: slots[1]! - 100, to: slots[3]! + 100 } as never);
  e.jobRows.set('noop', jobRow('noop', 3));
  e.counters.set('noop', { succeeded: 3 });
  assert.deepEqual(checkChaos(e).zeros.slotsMissedBeyondPolicy, 0);
});

test('a second the whole cluster lost just before a leader kill (its rows never reached the store) is the disruption; one job alone missing it is a miss', () => {
  // The MongoDB chaos run: the dying leader's last second or two of fires were claimed but their
  // rows still in its write queue when it was SIGKILLed; the next leader's misfire run ends each gap.
  const ids = ['a', 'b', 'c', 'd'];
  const e = clean();
  e.jobs = ids.map((id) => ({ id, mix: 'noop' as const, createdAt: from - 60_000 }));
  const record = (lostAt2: string[]) =>
    ids.flatMap((id) =>
      slots.flatMap((s) => {
        if (s === slots[2] && lostAt2.includes(id)) return [];
        return [run(id, s, s === slots[3] && lostAt2.includes(id) ? { trigger: 'misfire' } : {})];
      }),
    );
  // SIGKILLed 1.5 s after slot 2, healed by slot 3's misfire runs.
  e.disruptions.push({ what: 'SIGKILL leader', from: slots[2]! + 1500, to: slots[2]! + 1800 } as never);
  e.runs = record(ids);
  assert.equal(checkChaos(e).zeros.slotsMissedBeyondPolicy, 0, 'slot 2 lost by every job: the dying leader');
  e.runs = record(['a']);
  const r = checkChaos(e);
  assert.equal(r.zeros.slotsMissedBeyondPolicy, 1, 'slot 2 lost by one job while the cluster fired it: a miss');
  assert.match(r.examples.slotsMissedBeyondPolicy[0] ?? '', /^a@.*T12:00:02\.000Z: no run/);
  e.runs = record(ids);
  e.disruptions[0] = { what: 'SIGKILL leader', from: slots[2]! + 6500, to: slots[2]! + 6800 } as never;
  assert.equal(checkChaos(e).zeros.slotsMissedBeyondPolicy, 4, 'more than 5 s before the disruption, a lost second is not its');
});

test("a fire_once job's slots a dying leader never wrote, closed by the next leader's misfire run, are its policy; closed by a schedule run, or begun more than 5 s before, a miss", () => {
  // The MongoDB chaos run (11:53:31): a forbid job's skip, queued at its slot, was still in flight
  // when the leader was SIGKILLed 3 s later; the next leader's misfire run closed the gap.
  const e = clean();
  e.jobs = ['a', 'b', 'c'].map((id) => ({ id, mix: 'noop' as const, createdAt: from - 60_000 }));
  e.disruptions.push({ what: 'SIGKILL leader', from: slots[1]! + 3000, to: slots[1]! + 3300 } as never);
  const others = ['b', 'c'].flatMap((id) => slots.map((s) => run(id, s)));
  e.runs = [...others, run('a', slots[0]!), run('a', slots[4]!, { trigger: 'misfire' })];
  assert.equal(checkChaos(e).zeros.slotsMissedBeyondPolicy, 0, "a's slots 1-3, closed by its misfire run at the takeover");
  e.runs = [...others, run('a', slots[0]!), run('a', slots[4]!)];
  assert.equal(
    checkChaos(e).zeros.slotsMissedBeyondPolicy,
    5,
    'closed by a schedule run: slots 1 and 2, and the gap of 3 not ending in a misfire',
  );
  // Killed at 6.5 s, the misfire run at 7: a gap from slot 1 began 5.5 s before the kill.
  e.to = from + 8000;
  e.disruptions[0] = { what: 'SIGKILL leader', from: from + 6500, to: from + 6800 } as never;
  const longer = ['b', 'c'].flatMap((id) => [0, 1, 2, 3, 4, 5, 6, 7].map((i) => run(id, from + i * 1000)));
  e.runs = [...longer, run('a', slots[0]!), run('a', from + 7000, { trigger: 'misfire' })];
  assert.equal(checkChaos(e).zeros.slotsMissedBeyondPolicy, 5, 'slots 1-5 (6 is the disruption): begun more than 5 s before it, a miss');
  e.runs = [...longer, run('a', slots[0]!), run('a', slots[1]!), run('a', from + 7000, { trigger: 'misfire' })];
  assert.equal(checkChaos(e).zeros.slotsMissedBeyondPolicy, 0, 'slots 2-6, begun 4.5 s before it: the policy');
});

test('a stall (the whole cluster lost every second up to a leader kill, here 6 s) and the second before it are the disruption; a lost stretch that ends before the kill is not', () => {
  // The MongoDB chaos run at 14:41:56: a new leader's store took none of its writes for 10 s before
  // it was killed; the forbid jobs' skips of the stall's first second (written at the slot) were lost
  // where the others' claims (written ahead) had landed. The next leader's misfire runs close each gap.
  const e = clean();
  const ids = ['a', 'b', 'c', 'd'];
  e.jobs = ids.map((id) => ({ id, mix: 'noop' as const, createdAt: from - 60_000 }));
  e.to = from + 14_000;
  e.disruptions.push({ what: 'SIGKILL leader', from: from + 12_000, to: from + 12_300 } as never);
  const record = (lost: number[], misfireAt: number[]) =>
    ids.flatMap((id) => [
      ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
        .filter((i) => !lost.includes(i) && !(id === 'a' && i === 5))
        .map((i) => run(id, from + i * 1000, misfireAt.includes(i) ? { trigger: 'misfire' } : {})),
    ]);
  e.runs = record([6, 7, 8, 9, 10, 11, 12], [13]);
  assert.equal(checkChaos(e).zeros.slotsMissedBeyondPolicy, 0, "6-11 lost by all, and a's 5 just before them");
  e.runs = record([6, 7, 8, 12], [9, 13]);
  const r = checkChaos(e);
  assert.equal(
    r.zeros.slotsMissedBeyondPolicy,
    5,
    "9-11 fired, so 6-8 are no stall: 7 and 8 are within 5 s of the kill (excused as before), 6 is not (a miss for each job), nor is a's 5",
  );
  assert.match(r.examples.slotsMissedBeyondPolicy[0] ?? '', /^a@.*T12:00:05\.000Z: no run/);
});

test('a misfire=skip job: the slots a new leader found missed (its fire_once jobs misfire at them) are its policy, even past the recorded end of the disruption; a later slot is a miss', () => {
  // The MongoDB chaos run (11:03:32, 11:08:12, 11:11:33): a new leader known at 30.5, firing from 33;
  // its fire_once jobs' misfire runs at :32 said :32 was missed, and the ten skip jobs had no run there.
  const e = clean();
  e.jobs = [
    { id: 'a', mix: 'noop' as const, createdAt: from - 60_000 },
    { id: 'k', mix: 'skip' as never, createdAt: from - 60_000 },
  ];
  e.disruptions.push({ what: 'SIGKILL leader', from: slots[1]! - 500, to: slots[1]! + 300 } as never);
  const aRuns = [run('a', slots[0]!), run('a', slots[2]!, { trigger: 'misfire' }), run('a', slots[3]!), run('a', slots[4]!)];
  e.runs = [...aRuns, run('k', slots[0]!), run('k', slots[3]!), run('k', slots[4]!)];
  assert.equal(checkChaos(e).zeros.slotsMissedBeyondPolicy, 0, "k's slots 1 and 2: the takeover, by its policy");
  e.runs = [...aRuns, run('k', slots[0]!), run('k', slots[4]!)];
  const r = checkChaos(e);
  assert.equal(r.zeros.slotsMissedBeyondPolicy, 1, "k's slot 3 came after the new leader's misfire slot: a miss");
  assert.match(r.examples.slotsMissedBeyondPolicy[0] ?? '', /^k@.*T12:00:03\.000Z: no run/);
});

test('a slot that came before its job was created (a loaded machine writing the jobs into the window) is no miss; the next one is', () => {
  const e = clean();
  e.jobs[0] = { ...e.jobs[0]!, createdAt: from + 1200 };
  // Slots 0–2 came before the job existed and its leader could hear of it; slot 3 did not.
  e.runs = e.runs.filter((r) => r.scheduledAt.getTime() > slots[3]!);
  e.jobRows.set('noop', jobRow('noop', 1));
  e.counters.set('noop', { succeeded: 1 });
  e.journals = e.runs.flatMap((r) => [start(r.id, 'noop', r.scheduledAt.getTime() + 5), end(r.id, 'noop', r.scheduledAt.getTime() + 10)]);
  const r = checkChaos(e);
  assert.equal(r.zeros.slotsMissedBeyondPolicy, 2, 'slot 3 missed, and the gap it leaves ending in no misfire run');
  assert.match(r.examples.slotsMissedBeyondPolicy[0] ?? '', /T12:00:03\.000Z: no run/);
});

test('forbid: two executions of one job that overlap are counted, one ended by its agent dying is not open for ever', () => {
  const e = clean();
  e.jobs.push({ id: 'f', mix: 'forbid' as never, createdAt: from - 60_000 });
  e.journals.push(start('f@1', 'f', from + 100), end('f@1', 'f', from + 1600), start('f@2', 'f', from + 1500));
  // f@3 never ended: its agent was SIGKILLed at from + 2000; f@4 starts after that.
  e.journals.push(start('f@3', 'f', from + 1700, 'agent-3'), start('f@4', 'f', from + 2500));
  e.agentKillsAt.set('agent-3', [from + 2000]);
  const r = checkChaos(e);
  assert.equal(r.zeros.forbidOverlaps, 3, 'f@2 began before f@1 ended; f@3 and f@4 before f@2, which has no end, ended');
  e.journals.push(end('f@2', 'f', from + 1650));
  assert.equal(
    checkChaos(e).zeros.forbidOverlaps,
    1,
    'with f@2 over at +1650: only f@2 began before f@1 ended; f@4 began after f@3 died with its agent',
  );
});

test('a slow job (every 5 s) misses only the slots of its own period, and overlaps as a forbid job', () => {
  const e = clean();
  const s0 = Math.ceil(from / 5000) * 5000;
  e.to = s0 + 15_000;
  e.jobs = [{ id: 's', mix: 'slow' as never, createdAt: from - 60_000 }];
  e.runs = [run('s', s0), run('s', s0 + 5000), run('s', s0 + 10_000)];
  e.journals = e.runs.flatMap((r) => [start(r.id, 's', r.scheduledAt.getTime() + 5), end(r.id, 's', r.scheduledAt.getTime() + 4005)]);
  e.jobRows = new Map([['s', jobRow('s', 3)]]);
  e.counters = new Map([['s', { succeeded: 3 }]]);
  assert.deepEqual(Object.values(checkChaos(e).zeros), [0, 0, 0, 0, 0, 0], 'one run each 5 s is every slot');
  e.runs.splice(1, 1);
  e.jobRows.set('s', jobRow('s', 2));
  e.counters.set('s', { succeeded: 2 });
  e.journals.push(start('s@late', 's', s0 + 2000), end('s@late', 's', s0 + 2500));
  const r = checkChaos(e);
  assert.equal(r.zeros.slotsMissedBeyondPolicy, 2, 'the missed slot, and the gap it leaves ending in no misfire run');
  assert.equal(r.zeros.forbidOverlaps, 1);
});
