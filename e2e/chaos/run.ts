/**
 * The chaos run, with its figures: `pnpm --filter @clover/e2e chaos` (after `pnpm build`).
 *
 *   CHAOS_SECONDS=600 (default) CHAOS_JOBS=1000 LEADER_KILL_EVERY_MS=20000 AGENT_KILL_EVERY_MS=30000
 *   CHAOS_KEEP=1: keep the cluster's data and logs; CHAOS_LOG_LEVEL=info: the processes' log level
 *   CHAOS_ONLY=leader,agent,stop,zookeeper,join: only those disruptions
 *   CHAOS_SHARES=1: every dispatch-server fires its partitions' share (issue 17): the kills and the
 *   stop take a random server, and a fourth server joins halfway
 *   STORE=mongo: on MongoDB (FerretDB from tools/ferretdb, or CLOVER_TEST_MONGO_URL); with
 *   CLOVER_TEST_MONGO_SERVER=java, mongo-java-server from tools/mongo-java-server (FerretDB cannot
 *   carry 1,000 every-second jobs: bench/README.md)
 *
 * Prints the figures and each count that must be 0 (with examples when it is not); exits 1 when
 * any is not 0.
 */
import { mongoForTest } from '@clover/testkit';
import { openStore } from '@clover/store';
import { checkChaos, runChaos, type ChaosOptions, type ChaosReport } from './harness.js';

const seconds = Number(process.env.CHAOS_SECONDS ?? 600);
const opts: ChaosOptions = {
  durationMs: seconds * 1000,
  jobs: Number(process.env.CHAOS_JOBS ?? 1000),
  leaderKillEveryMs: Number(process.env.LEADER_KILL_EVERY_MS ?? 20_000),
  agentKillEveryMs: Number(process.env.AGENT_KILL_EVERY_MS ?? 30_000),
  // CHAOS_ONLY=zookeeper,stop: only those disruptions.
  keepDir: process.env.CHAOS_KEEP === '1',
  shares: process.env.CHAOS_SHARES === '1',
  ...(process.env.CHAOS_LOG_LEVEL ? { logLevel: process.env.CHAOS_LOG_LEVEL } : {}),
  ...(process.env.CHAOS_ONLY ? { only: process.env.CHAOS_ONLY.split(',') as ChaosOptions['only'] } : {}),
};
let stopMongo: (() => Promise<void>) | undefined;
let storeName = 'SQLite';
let recheck: ((report: ChaosReport) => Promise<void>) | undefined;
if (process.env.STORE === 'mongo') {
  const mongo = await mongoForTest('chaos');
  if ('skip' in mongo) throw new Error(`STORE=mongo: ${mongo.skip}`);
  stopMongo = () => mongo.cleanup();
  storeName = `MongoDB (${mongo.server})`;
  opts.storeEnv = { CLOVER_MONGO_URL: mongo.databaseUrl };
  opts.openStore = () => openStore({ mongoUrl: mongo.databaseUrl });
  recheck = (report) => recheckCounts(mongo.databaseUrl, report);
}

/**
 * MongoDB only, a diagnosis beside the figures: a run's counts travel in a tally that a leader
 * killed mid-batch leaves in run_tallies, and a new leader's reconcile() finishes only those older
 * than `reconcileAfterMs` (30 s). This opens the store again once the cluster is down, with no
 * such wait (no writer is left alive), so that its open reconciles every tally left; reads the
 * counts again and prints the counters check on them: what it still finds is not a tally's.
 */
async function recheckCounts(mongoUrl: string, report: ChaosReport): Promise<void> {
  const store = await openStore({ mongoUrl, reconcileAfterMs: 0 });
  try {
    const e = report.evidence;
    const jobRows = new Map(e.jobRows);
    const counters = new Map(e.counters);
    for (const j of e.jobs) {
      const row = await store.jobs.get(j.id);
      if (row) jobRows.set(j.id, row);
      const s = await store.counters.summary({ from: new Date(e.from - 3_600_000), to: new Date(e.to + 3_600_000), jobId: j.id });
      counters.set(j.id, s.totals);
    }
    const again = checkChaos({ ...e, jobRows, counters });
    console.log(`  after the tallies dead leaders left were reconciled: countersDisagreeing ${again.zeros.countersDisagreeing}`);
    for (const ex of again.examples.countersDisagreeing.slice(0, 10)) console.log(`      ${ex}`);
  } finally {
    await store.close();
  }
}
try {
  const t0 = Date.now();
  const report = await runChaos(opts);
  const f = report.figures;
  console.log(
    `chaos: ${storeName}, ${f.jobs} jobs, ${seconds} s window, ${opts.shares ? 'shared out (CLOVER_DISPATCH_SHARES)' : 'one leader'}, Node ${process.version}`,
  );
  console.log(`  runs ${f.runs}: ${JSON.stringify(f.runsByStatus)}; by trigger ${JSON.stringify(f.runsByTrigger)}`);
  console.log(
    `  executions journaled by the agents: ${f.executionsJournaled}, by the server that sent them ${JSON.stringify(f.executionsByServer)}`,
  );
  console.log(
    `  disruptions survived: ${f.leaderKills} ${opts.shares ? 'server' : 'leader'} SIGKILLs, ${f.agentKills} agent SIGKILLs, ${f.stops} SIGSTOP/SIGCONT, ${f.zooKeeperRestarts} ZooKeeper restarts, ${f.serverJoins} servers joined`,
  );
  for (const d of f.disruptions) console.log(`    ${new Date(d.from).toISOString()} ${d.what} (healed in ${d.to - d.from} ms)`);
  let bad = 0;
  for (const [k, v] of Object.entries(report.zeros)) {
    console.log(`  ${k}: ${v}`);
    if (v) {
      bad++;
      for (const ex of report.examples[k as keyof typeof report.zeros]) console.log(`      ${ex}`);
    }
  }
  console.log(`  (whole run ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  process.exitCode = bad ? 1 : 0;
  if (report.zeros.countersDisagreeing) await recheck?.(report);
} finally {
  await stopMongo?.();
}
