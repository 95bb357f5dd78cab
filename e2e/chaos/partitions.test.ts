import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { runIdOf, terminalStatuses, type Incident } from '@clover/model';
import { waitFor } from '@clover/testkit';
import { assertNoFaults, runChaos, type ChaosCluster, type ChaosReport, type Mix } from './harness.js';

// Issue 16, "Hosts and partitions": the chaos harness's cluster with every process, ZooKeeper and
// the store (MongoDB: FerretDB) on a host of its own (a network namespace, one bridge), and a
// host cut off the network (its bridge port down: packets dropped, no RST) and put back. Each
// scenario is checked by the harness's counts that must be 0 and by checks of its own.
// `pnpm --filter @clover/e2e chaos:partitions`; needs root (`ip netns`), so it skips without.
// Not in `pnpm test` (about 4 minutes, and root): bench/README, "Hosts and partitions", has its figures.

const sessionMs = 4000;
// Two jobs of each kind, and two of the slow ones (4 s runs every 5 s) to cut an agent off in the middle of.
const mix: Mix[] = ['noop', 'shell', 'forbid', 'flaky', 'once', 'skip', 'slow'];
const jobs = 14;
// CHAOS_KEEP=1 keeps the cluster's data and logs; CHAOS_LOG_LEVEL=info says more in them.
const common = {
  hosts: true,
  jobs,
  mix,
  sessionMs,
  keepDir: process.env.CHAOS_KEEP === '1',
  ...(process.env.CHAOS_LOG_LEVEL ? { logLevel: process.env.CHAOS_LOG_LEVEL } : {}),
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const isRoot = process.getuid?.() === 0 && canNetns();

function canNetns(): boolean {
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function assertZeros(report: ChaosReport): void {
  const f = report.figures;
  console.log(
    `  runs ${f.runs} ${JSON.stringify(f.runsByStatus)} by trigger ${JSON.stringify(f.runsByTrigger)}; ${f.executionsJournaled} executions journaled`,
  );
  for (const d of f.disruptions) console.log(`  ${new Date(d.from).toISOString()} ${d.what} (excuses ${d.to - d.from} ms of slots)`);
  console.log(`  zeros ${JSON.stringify(report.zeros)}`);
  assertNoFaults(report);
}

/** The runs not final, in full: which server left them so shows in their times. */
function printNotFinal(report: ChaosReport): void {
  const final = new Set<string>(terminalStatuses);
  for (const r of report.evidence.runs.filter((x) => !final.has(x.status)))
    console.log(
      `  not final: ${r.id} ${r.status} attempt ${r.attempt} trigger ${r.trigger} node ${r.node} dispatchedAt ${r.dispatchedAt?.toISOString()} startedAt ${r.startedAt?.toISOString()}`,
    );
}

/** What a dispatch-server says of itself: whether it leads, and the runs it has recorded (fired, finished). */
async function serverView(c: ChaosCluster, id: string) {
  const m = await c.metrics(id);
  return {
    at: Date.now(),
    leading: m.total('clover_dispatch_leader'),
    recorded: m.total('clover_dispatch_fires_total') + m.total('clover_dispatch_runs_finished_total'),
    fenced: m.total('clover_store_writes_fenced_total'),
    connected: m.total('clover_zookeeper_session_state', { state: 'connected' }),
  };
}
type ServerView = Awaited<ReturnType<typeof serverView>>;

const skip = isRoot ? false : 'needs root (ip netns)';

test(`the leader's host cut off for ${2.5 * sessionMs} ms (past its session), then put back`, { skip }, async () => {
  const cutMs = 2.5 * sessionMs;
  const report = await runChaos({
    ...common,
    durationMs: 45_000,
    scenario: async (c) => {
      await sleep(c.from + 8000 - Date.now());
      const leader = await waitFor(c.leaderNow, { timeoutMs: 20_000, message: 'a leader' });
      const pid = c.process(leader).pid;
      const t0 = Date.now();
      await c.network!.cut(leader);
      // The cut-off server's own view, read on its host, until the cut ends.
      const views: ServerView[] = [];
      const watching = (async () => {
        while (Date.now() < t0 + cutMs) {
          views.push(await serverView(c, leader));
          await sleep(250);
        }
      })();
      const next = await c.newLeader(leader);
      const tookOverAt = Date.now();
      await watching;
      await c.network!.heal(leader);
      const healedAt = Date.now();
      c.disruptions.push({ what: `leader ${leader}'s host cut off for ${healedAt - t0} ms → ${next}`, from: t0, to: tookOverAt + 4000 });
      // It rejoins by itself: a session again, as a follower, the same process.
      const rejoined = await waitFor(
        async () => {
          const v = await serverView(c, leader).catch(() => null);
          return v && v.connected === 1 ? v : null;
        },
        { timeoutMs: 30_000, intervalMs: 250, message: `${leader} back in ZooKeeper after the heal` },
      );
      await sleep(c.to - Date.now());
      const after = await serverView(c, leader);
      return { leader, next, pid, t0, healedAt, views, rejoined, after };
    },
  });
  const s = report.scenario as {
    leader: string;
    next: string;
    pid: number;
    t0: number;
    healedAt: number;
    views: ServerView[];
    rejoined: ServerView;
    after: ServerView;
  };
  console.log(`  ${s.leader} cut off at ${new Date(s.t0).toISOString()} for ${s.healedAt - s.t0} ms; ${s.next} took over`);
  const view = (v: ServerView) => `+${v.at - s.t0}ms leading=${v.leading} recorded=${v.recorded} connected=${v.connected}`;
  console.log(`  its own view while cut off: ${s.views.map(view).join(', ')}`);
  console.log(`  after the heal: ${view(s.rejoined)}; at the end: ${view(s.after)}`);
  printNotFinal(report);
  assertZeros(report);
  assert.notEqual(s.next, s.leader);
  // Once its session may have expired it may no longer lead: from then on it says it does not,
  // and records nothing more, then, after the heal, or by the window's end.
  const mayNoLongerLead = s.t0 + sessionMs;
  const late = s.views.filter((v) => v.at >= mayNoLongerLead);
  assert.ok(late.length > 0, 'views past its session');
  assert.deepEqual(
    late.filter((v) => v.leading !== 0),
    [],
    'the cut-off server still says it leads past its session',
  );
  // While cut off it records nothing. Once the link is back, the writes it queued before it lost
  // the lead reach the store (TCP retransmits them): its updates of runs the next leader had
  // taken are refused by the store's fence (`clover_store_writes_fenced_total`), its inserts take
  // only slots no one else fired, and the next leader's sweep adopts them (0 runs not final above).
  const recordedThen = late[0]!.recorded;
  assert.deepEqual(
    late.filter((v) => v.recorded !== recordedThen),
    [],
    'the cut-off server recorded runs while cut off past its session',
  );
  console.log(
    `  its writes that reached the store after the heal: ${s.after.recorded - recordedThen} recorded, ${s.after.fenced} refused by the fence`,
  );
  // No agent started anything it sent once it may no longer lead.
  const fromOld = report.evidence.journals.filter((l) => l.event === 'start' && l.leader === s.leader && l.at >= mayNoLongerLead);
  assert.deepEqual(fromOld, [], 'executions started on an EXEC of the cut-off server past its session');
  // Healed without a restart: the same process, back in ZooKeeper, following.
  assert.equal(s.after.connected, 1);
  assert.equal(s.after.leading, 0);
  assert.ok(s.pid > 0);
});

test(`an agent's host cut off in the middle of a run for ${2.5 * sessionMs} ms, then put back`, { skip }, async () => {
  const cutMs = 2.5 * sessionMs;
  const report = await runChaos({
    ...common,
    durationMs: 45_000,
    scenario: async (c) => {
      await sleep(c.from + 8000 - Date.now());
      const slowJobs = new Set(c.jobs.filter((j) => j.mix === 'slow').map((j) => j.id));
      // An agent in the middle of a slow run: started at least half a second ago, not ended.
      const found = await waitFor(
        async () => {
          const lines = await c.journals();
          const ended = new Set(lines.filter((l) => l.event === 'end').map((l) => l.execId));
          const open = lines.filter((l) => l.event === 'start' && slowJobs.has(l.jobId) && !ended.has(l.execId) && Date.now() - l.at > 500);
          return open[0] ? { agent: open[0].agentId, open: open.filter((l) => l.agentId === open[0]!.agentId).map((l) => l.execId) } : null;
        },
        { timeoutMs: 15_000, intervalMs: 100, message: 'an agent in the middle of a slow run' },
      );
      const t0 = Date.now();
      await c.network!.cut(found.agent);
      await sleep(t0 + cutMs - Date.now());
      await c.network!.heal(found.agent);
      const healedAt = Date.now();
      c.disruptions.push({ what: `agent ${found.agent}'s host cut off for ${healedAt - t0} ms, mid-run`, from: t0, to: healedAt + 4000 });
      // Healed: it runs work again, the same process.
      await waitFor(async () => (await c.journals()).some((l) => l.event === 'start' && l.agentId === found.agent && l.at > healedAt), {
        timeoutMs: 30_000,
        intervalMs: 250,
        message: `${found.agent} running executions again after the heal`,
      });
      await sleep(c.to - Date.now());
      return { ...found, t0, healedAt };
    },
  });
  const s = report.scenario as { agent: string; open: string[]; t0: number; healedAt: number };
  const runs = new Map(report.evidence.runs.map((r) => [r.id, r]));
  const cutRuns = s.open.map((execId) => runs.get(runIdOf(execId)));
  console.log(
    `  ${s.agent} cut off at ${new Date(s.t0).toISOString()} for ${s.healedAt - s.t0} ms in the middle of ${s.open.join(', ')}: ` +
      cutRuns.map((r) => `${r?.id} ${r?.status} attempt ${r?.attempt}`).join('; '),
  );
  assertZeros(report);
  // Each run cut off is over, once: it finished (its RESULT came after the heal), or it was
  // recorded lost and retried (the slow jobs allow one retry), never left lost at its first attempt.
  for (const r of cutRuns) {
    assert.ok(r, 'the run cut off is in the store');
    assert.ok((terminalStatuses as readonly string[]).includes(r.status), `${r.id}: ${r.status}`);
    assert.ok(r.status === 'succeeded' || r.attempt > 1, `${r.id}: ${r.status} at attempt ${r.attempt}, not retried`);
  }
});

test(
  `the ZooKeeper host cut off for ${0.5 * sessionMs} ms (shorter than the session and the dead timeout by more than a heartbeat and a reconnect)`,
  { skip },
  async () => {
    const cutMs = 0.5 * sessionMs;
    const report = await runChaos({
      ...common,
      durationMs: 30_000,
      scenario: async (c) => {
        await sleep(c.from + 8000 - Date.now());
        const leader = await waitFor(c.leaderNow, { timeoutMs: 20_000, message: 'a leader' });
        const t0 = Date.now();
        await c.network!.cut('zookeeper');
        await sleep(t0 + cutMs - Date.now());
        await c.network!.heal('zookeeper');
        const healedAt = Date.now();
        c.disruptions.push({ what: `ZooKeeper's host cut off for ${healedAt - t0} ms`, from: t0, to: healedAt + 4000 });
        await sleep(c.to - Date.now());
        const leaderAfter = await c.leaderNow();
        // As the API answers it: dates as ISO strings.
        const incidents = await c.api.call<{ items: Array<Pick<Incident, 'subject'> & { openedAt: string }> }>(
          'GET',
          '/api/incidents?kind=node_dead&limit=100',
        );
        return { leader, leaderAfter, t0, healedAt, deadIncidents: incidents.items.filter((i) => Date.parse(i.openedAt) >= t0) };
      },
    });
    const s = report.scenario as {
      leader: string;
      leaderAfter: string | null;
      t0: number;
      healedAt: number;
      deadIncidents: Array<{ subject: string }>;
    };
    console.log(
      `  ZooKeeper cut off for ${s.healedAt - s.t0} ms; leader ${s.leader} before, ${s.leaderAfter} after; dead-node incidents ${s.deadIncidents.length}`,
    );
    assertZeros(report);
    // No session expired: the leader leads on, and no machine was taken for dead.
    assert.equal(s.leaderAfter, s.leader);
    assert.deepEqual(
      s.deadIncidents.map((i) => i.subject),
      [],
      'dead-node incidents for a ZooKeeper cut shorter than the dead timeout',
    );
  },
);
