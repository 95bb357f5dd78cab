import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { CleanupStack } from '@clover/lifecycle';
import { assign, partitionsOf } from '@clover/partitions';
import { spawnProcess, startZooKeeper, waitFor, type ZooKeeperHandle } from '@clover/testkit';
import { createZkClient, partitionNodeName, PartitionOwnership, type ZkClient } from '../src/index.js';
import { Holders, count } from './partition-holders.js';

const root = '/clover/partitions';

/** The partitions a fixture member (fixtures/partition-member.ts) says it holds, from its output so far. */
function heldBy(output: string): Set<number> {
  const held = new Set<number>();
  for (const line of output.split('\n')) {
    if (!line.startsWith('{"event"')) continue;
    let parsed: { event: string; body: unknown };
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      continue; // a line cut by the C client's stderr written into the middle of it
    }
    const { event, body } = parsed;
    if (event === 'acquired') for (const g of body as Array<{ partition: number }>) held.add(g.partition);
    if (event === 'revoked') for (const p of (body as { partitions: number[] }).partitions) held.delete(p);
  }
  return held;
}

/** Runs `body` against a real ZooKeeper, then closes what it pushed on the stack and the server, even when it fails. */
async function onZooKeeper(body: (zk: ZooKeeperHandle, cleanup: CleanupStack) => Promise<void>): Promise<void> {
  const cleanup = new CleanupStack();
  try {
    const zk = await startZooKeeper();
    cleanup.push('zookeeper', () => zk.cleanup());
    await body(zk, cleanup);
  } finally {
    await cleanup.close();
  }
}

async function client(zk: ZooKeeperHandle, cleanup: CleanupStack, sessionTimeoutMs = 4000): Promise<ZkClient> {
  const c = createZkClient({ connect: zk.connectString, sessionTimeoutMs });
  cleanup.push('zk client', () => c.close());
  await c.connect();
  return c;
}

async function member(
  zk: ZooKeeperHandle,
  cleanup: CleanupStack,
  holders: Holders,
  id: string,
  drain?: (partitions: number[]) => Promise<void>,
): Promise<PartitionOwnership> {
  const c = await client(zk, cleanup);
  const m = new PartitionOwnership(c, { path: root, id, partitionCount: count, drain });
  holders.follow(id, m);
  cleanup.push(`member ${id}`, () => m.close());
  await m.start();
  return m;
}

test('members split the partitions as rendezvous hashing says; a leave and a join hand over only what moves, never to two owners at once', () =>
  onZooKeeper(async (zk, cleanup) => {
    const holders = new Holders();
    const a = await member(zk, cleanup, holders, 'server-a');
    await waitFor(() => holders.matches(['server-a']), { message: 'a alone holds all' });
    assert.equal(a.grants().length, count);

    // b drains slowly: while it drains, nobody may hold what it gives up.
    const b = await member(zk, cleanup, holders, 'server-b', async (partitions) => {
      await new Promise((r) => setTimeout(r, 200));
      for (const p of partitions) if (holders.byPartition.has(p)) holders.violations.push(`${p} held during b's drain`);
      holders.drained.push(...partitions.map(String));
    });
    const c = await member(zk, cleanup, holders, 'server-c');
    await waitFor(() => holders.matches(['server-a', 'server-b', 'server-c']), { timeoutMs: 20_000, message: 'three-way split' });
    const three = assign(['server-a', 'server-b', 'server-c'], count);
    assert.deepEqual(
      c.grants().map((g) => g.partition),
      partitionsOf(three, 'server-c'),
    );

    // A graceful leave: b's partitions go to a and c, after its drain; a and c keep theirs (same epochs).
    const aBefore = new Map(a.grants().map((g) => [g.partition, g.epoch]));
    const bHad = b.grants().map((g) => g.partition);
    // b drained what c's join took from it already; only the leave counts from here.
    holders.drained.length = 0;
    await b.close();
    await waitFor(() => holders.matches(['server-a', 'server-c']), { timeoutMs: 20_000, message: 'b gone' });
    assert.deepEqual(
      holders.drained.map(Number).sort((x, y) => x - y),
      bHad,
    );
    for (const [p, epoch] of aBefore) assert.equal(a.grantOf(p)?.epoch, epoch, `a kept partition ${p} at its epoch`);
    // A partition b released and a took has a higher epoch than any b held.
    for (const p of bHad) assert.ok((a.grantOf(p) ?? c.grantOf(p))!.epoch >= 2, `partition ${p} claimed anew`);

    // A join: d takes only partitions that rendezvous hashing moves to it.
    const aHad = new Set(a.grants().map((g) => g.partition));
    await member(zk, cleanup, holders, 'server-d');
    await waitFor(() => holders.matches(['server-a', 'server-c', 'server-d']), { timeoutMs: 20_000, message: 'd joined' });
    const after = new Set(a.grants().map((g) => g.partition));
    for (const p of after) assert.ok(aHad.has(p), `a gained partition ${p} on a join`);
    assert.deepEqual(holders.violations, []);
  }));

test('a member whose session expires (its process stopped) has its partitions taken by the others; woken, it hears it lost them and claims its share at higher epochs', (t) =>
  onZooKeeper(async (zk, cleanup) => {
    const holders = new Holders();
    await member(zk, cleanup, holders, 'server-a');
    await member(zk, cleanup, holders, 'server-c');
    await waitFor(() => holders.matches(['server-a', 'server-c']), { timeoutMs: 20_000, message: 'a and c split' });

    const sessionMs = 2000;
    const b = spawnProcess(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', fileURLToPath(new URL('fixtures/partition-member.ts', import.meta.url))],
      { name: 'member-b', env: { ZK: zk.connectString, ROOT: root, ID: 'server-b', COUNT: String(count), SESSION_MS: String(sessionMs) } },
    );
    cleanup.push('member b', () => b.kill('SIGKILL'));
    const bWants = partitionsOf(assign(['server-a', 'server-b', 'server-c'], count), 'server-b');
    const observer = await client(zk, cleanup);
    const ownerOf = async (p: number) =>
      (await observer.get<{ owner: string | null }>(`${root}/owners/${partitionNodeName(p)}`))?.data.owner;
    const versionOf = async (p: number) => (await observer.exists(`${root}/owners/${partitionNodeName(p)}`))?.version ?? -1;
    await waitFor(async () => (await Promise.all(bWants.map(ownerOf))).every((o) => o === 'server-b'), {
      timeoutMs: 20_000,
      message: 'b holds its share',
    });
    // And b knows it: its znodes can name it before its claims are answered (ci20: stopped in
    // between, b never held them, so it had nothing to hear it lost).
    await waitFor(() => bWants.every((p) => heldBy(b.output()).has(p)), { timeoutMs: 20_000, message: 'b says it holds its share' });
    const bEpochs = new Map(await Promise.all(bWants.map(async (p) => [p, await versionOf(p)] as const)));

    // Stopped, b cannot answer ZooKeeper: its session expires and a and c take its partitions.
    process.kill(b.pid, 'SIGSTOP');
    const stoppedAt = performance.now();
    cleanup.push('member b continued', () => {
      try {
        process.kill(b.pid, 'SIGCONT');
      } catch {
        // already gone
      }
    });
    await waitFor(() => holders.matches(['server-a', 'server-c']), { timeoutMs: sessionMs + 15_000, message: "b's share taken over" });
    // A figure, not an assertion (speed belongs in bench/): the issue asks for the session timeout plus 1 s.
    t.diagnostic(
      `b's ${bWants.length} partitions owned again ${Math.round(performance.now() - stoppedAt)} ms after SIGSTOP (session ${sessionMs} ms)`,
    );
    for (const p of bWants) assert.ok((await versionOf(p)) > (bEpochs.get(p) ?? 0), `partition ${p}: the epoch b held is fenced`);

    // Woken, b learns its session is gone (every partition lost at once), joins again, and gets its share at higher epochs.
    process.kill(b.pid, 'SIGCONT');
    await b.waitForOutput(/"event":"revoked"/, 20_000);
    await waitFor(() => bWants.every((p) => !holders.byPartition.has(p)), {
      timeoutMs: 20_000,
      message: 'a and c hand b its share back',
    });
    await waitFor(async () => (await Promise.all(bWants.map(ownerOf))).every((o) => o === 'server-b'), {
      timeoutMs: 20_000,
      message: 'b holds its share again',
    });
    for (const p of bWants) assert.ok((await versionOf(p)) > (bEpochs.get(p) ?? 0) + 2, `partition ${p} claimed by b anew`);
    assert.deepEqual(holders.violations, []);
  }));

test('a member started with another partition count is refused', () =>
  onZooKeeper(async (zk, cleanup) => {
    await member(zk, cleanup, new Holders(), 'server-a');
    const other = new PartitionOwnership(await client(zk, cleanup), { path: root, id: 'server-b', partitionCount: count * 2 });
    await assert.rejects(other.start(), /set for 256 partitions, this member for 512/);
  }));
