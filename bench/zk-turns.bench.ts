// How fast zk-kit's ZooKeeper client gets answers when the event loop it runs on is busy: the
// `zookeeper` addon hands JavaScript one response per poll event, so at most one per turn of the
// event loop, however many are in flight. A dispatch-server firing its share between the turns
// reads its takeover's owner znodes at that pace (bench/README, "ZooKeeper answers per turn").
//
// Real ZooKeeper, 300 znodes; 300 gets at once on an idle loop, then on a loop whose every turn
// carries BUSY_MS of other work (a setImmediate that spins), for each BUSY_MS listed. Prints the
// time for the 300 answers and the turns the loop made meanwhile. Asserts nothing.
//
//   cd bench && node --conditions=source --import tsx zk-turns.bench.ts      (BUSY_MS=1,5,10,20 GETS=300)
import { startZooKeeper } from '@clover/testkit';
import { createZkClient } from '@clover/zk-kit';

const gets = Number(process.env.GETS ?? 300);
const busyList = (process.env.BUSY_MS ?? '1,5,10,20').split(',').map(Number);

const zkServer = await startZooKeeper();
const zk = createZkClient({ connect: zkServer.connectString, sessionTimeoutMs: 60_000 });
try {
  await zk.connect();
  for (let i = 0; i < gets; i++) await zk.ensurePath(`/turns/n${i}`);
  /** All `gets` reads at once; the ms until the last answer. */
  const readAll = async () => {
    const began = performance.now();
    await Promise.all(Array.from({ length: gets }, (_, i) => zk.getRaw(`/turns/n${i}`)));
    return performance.now() - began;
  };
  await readAll(); // warm
  console.log(`zk-turns: ${gets} gets at once on an idle loop: ${(await readAll()).toFixed(0)} ms`);
  for (const busyMs of busyList) {
    let turns = 0;
    let busy = true;
    const spin = () => {
      const until = performance.now() + busyMs;
      while (performance.now() < until);
      turns++;
      if (busy) setImmediate(spin);
    };
    setImmediate(spin);
    const ms = await readAll();
    busy = false;
    console.log(
      `  every turn ${busyMs} ms busy: ${ms.toFixed(0)} ms for ${gets} answers, ${turns} turns (${(gets / turns).toFixed(2)} answers a turn)`,
    );
  }
} finally {
  await zk.close();
  await zkServer.cleanup();
}
