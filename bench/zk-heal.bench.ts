// How long each ZooKeeper recipe takes to heal after its znodes are deleted behind its back
// (the console's Nodes page, zkCli's deleteall), on a real ZooKeeper 3.8: ROUNDS times each,
// from the deletion's answer to the recipe working again, p50 / p95 / max.
//   node --conditions=source --import tsx zk-heal.bench.ts     (ROUNDS=30 by default)
import { Heartbeat } from '@clover/heartbeat';
import { cleanUp, startZooKeeper, waitFor } from '@clover/testkit';
import { JobChangeFeed, LeaderElection, cloverPaths, createZkClient, publishJobChange, type ZkClient } from '@clover/zk-kit';

const rounds = Number(process.env.ROUNDS ?? 30);
const paths = cloverPaths('/bench');

function summary(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(1);
  return `p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${s.at(-1)!.toFixed(1)} ms (${s.length} rounds)`;
}

const server = await startZooKeeper();
const clients: ZkClient[] = [];
const client = async () => {
  const c = createZkClient({ connect: server.connectString, sessionTimeoutMs: 10_000 });
  clients.push(c);
  await c.connect();
  return c;
};
const stops: Array<() => Promise<unknown>> = [];
try {
  const raw = await client();

  // Election: the lone dispatch leader's folder deleted; until 'elected' fires again.
  const election = new LeaderElection(await client(), {
    path: paths.electionDispatch,
    id: 'server-1',
    data: { endpoint: 'tcp://127.0.0.1:1' },
  });
  let elected = 0;
  election.on('elected', () => {
    elected++;
  });
  await election.start();
  stops.push(() => election.close());
  await waitFor(() => election.isLeader, { message: 'leads' });
  const electionMs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const before = elected;
    await raw.delete(paths.electionDispatch, { recursive: true });
    const t = performance.now();
    await waitFor(() => elected > before, { timeoutMs: 10_000, intervalMs: 1, message: 'elected again' });
    electionMs.push(performance.now() - t);
  }

  // Heartbeat: its kind folder deleted; until its ephemeral is back, as another session sees it.
  const hb = new Heartbeat({ zk: await client(), paths, kind: 'clients', id: 'agent-1', version: 'bench', intervalMs: 3_600_000 });
  await hb.start();
  stops.push(() => hb.close());
  const heartbeatMs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    await raw.delete(paths.nodesOf('clients'), { recursive: true });
    const t = performance.now();
    await waitFor(() => raw.exists(hb.path), { timeoutMs: 10_000, intervalMs: 1, message: 'heartbeat back' });
    heartbeatMs.push(performance.now() - t);
  }

  // Change feed: its folder deleted, then a change published; until the feed delivers it.
  const seen = new Set<string>();
  const feed = new JobChangeFeed(await client(), paths, { onChange: (c) => void seen.add(c.jobId) });
  await feed.start();
  stops.push(() => feed.close());
  const feedMs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    await raw.delete(paths.jobChanges, { recursive: true });
    const t = performance.now();
    await publishJobChange(raw, paths, { jobId: `job-${i}`, op: 'upsert' });
    await waitFor(() => seen.has(`job-${i}`), { timeoutMs: 10_000, intervalMs: 1, message: 'change delivered' });
    feedMs.push(performance.now() - t);
  }

  console.log(`election folder deleted -> elected again:        ${summary(electionMs)}`);
  console.log(`heartbeat kind folder deleted -> ephemeral back: ${summary(heartbeatMs)}`);
  console.log(`change folder deleted -> next change delivered:  ${summary(feedMs)}`);
} finally {
  await cleanUp([
    ...stops.map((s, i) => [`recipe ${i}`, s] as const),
    ...clients.map((c, i) => [`zk ${i}`, () => c.close()] as const),
    ['ZooKeeper', () => server.cleanup()],
  ]);
}
