import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoFaults, runChaos } from '../chaos/harness.js';

// Issue 17's integration test, as a chaos run: three dispatch-servers that share the jobs out
// (CLOVER_DISPATCH_SHARES=1, each firing the jobs of the partitions it owns), three agents, one
// real ZooKeeper, all real processes. A random server is SIGKILLed every 20 s and started again
// once its partitions were taken over, an agent every 30 s, a server SIGSTOPped past its session,
// ZooKeeper restarted once, and a fourth server joins halfway. Every server fires, and every count
// that must be 0 is 0: exactly one run per job per slot across every hand-over.
// Figures: bench/README, "Chaos with the jobs shared out". In `pnpm test`; alone:
// `pnpm --filter @clover/e2e chaos:shares`. It was out of `pnpm test` while one run in three had
// 8 forbid overlaps at its ZooKeeper restart (every agent's session expired, and every server
// took every live agent for lost; fixed: dispatch-server keeps the runs of an agent that still
// answers), and the partitions were 16,384 (takeovers of 12-15 s; now 1,024).
const jobs = Number(process.env.CHAOS_JOBS ?? 300);

test(`chaos with the jobs shared out, 2 minutes, ${jobs} jobs: every server fires, a server killed and one joining, and no execution twice, no slot twice, no slot missed beyond its policy, no forbid overlap, every run over, counters right`, async () => {
  const report = await runChaos({ durationMs: 120_000, jobs, shares: true });
  const f = report.figures;
  console.log(
    `chaos (shares): ${f.runs} runs ${JSON.stringify(f.runsByStatus)}, ${f.executionsJournaled} executions journaled, ` +
      `by server ${JSON.stringify(f.executionsByServer)}; ${f.leaderKills} server kills, ${f.agentKills} agent kills, ` +
      `${f.stops} stops, ${f.zooKeeperRestarts} ZooKeeper restarts, ${f.serverJoins} joins`,
  );
  assert.ok(
    f.leaderKills >= 4 && f.agentKills >= 2 && f.stops === 1 && f.zooKeeperRestarts === 1 && f.serverJoins === 1,
    `disruptions: ${JSON.stringify(f)}`,
  );
  for (const server of ['dispatch-1', 'dispatch-2', 'dispatch-3', 'dispatch-4'])
    assert.ok((f.executionsByServer[server] ?? 0) > 0, `${server} sent executions: ${JSON.stringify(f.executionsByServer)}`);
  assert.ok(f.executionsJournaled > f.jobs * 60, `executions journaled: ${f.executionsJournaled}`);
  assertNoFaults(report);
});
