import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoFaults, runChaos } from '../chaos/harness.js';

// Issue 16's chaos run at CI size: the whole cluster of real processes for a 2-minute window of
// every-second jobs, the leader SIGKILLed every 20 s, an agent every 30 s, the leader SIGSTOPped
// past its session and ZooKeeper restarted once; then every count that must be 0 is 0. The
// 10-minute run and its figures: `pnpm --filter @clover/e2e chaos` (bench/README, "Chaos").
//
// Once left out of `pnpm test` while it found executions started twice and forbid overlaps
// around the SIGSTOPped leader; each cause is fixed in the product with a test of its own (the
// leader-change list in docs/architecture.md). `pnpm --filter @clover/e2e chaos:ci` runs it alone.
const jobs = Number(process.env.CHAOS_JOBS ?? 300);

test(`chaos, 2 minutes, ${jobs} jobs: no execution twice, no slot twice, no slot missed beyond its policy, no forbid overlap, every run over, counters right`, async () => {
  const report = await runChaos({ durationMs: 120_000, jobs });
  const f = report.figures;
  console.log(
    `chaos: ${f.runs} runs ${JSON.stringify(f.runsByStatus)}, ${f.executionsJournaled} executions journaled; ` +
      `${f.leaderKills} leader kills, ${f.agentKills} agent kills, ${f.stops} stops, ${f.zooKeeperRestarts} ZooKeeper restarts`,
  );
  assert.ok(f.leaderKills >= 4 && f.agentKills >= 2 && f.stops === 1 && f.zooKeeperRestarts === 1, `disruptions: ${JSON.stringify(f)}`);
  assert.ok(f.executionsJournaled > f.jobs * 60, `executions journaled: ${f.executionsJournaled}`);
  assertNoFaults(report);
});
