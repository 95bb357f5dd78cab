import { createHostNetwork, startZooKeeper, spawnProcess } from '@clover/testkit';
const net = await createHostNetwork(['zookeeper', 'c1', 'c2', 'c3'], { prefix: 'zkc' });
const zk = await startZooKeeper({ host: net.host('zookeeper').address, command: net.host('zookeeper').command });
const kids = ['c1', 'c2', 'c3'].map((h) => {
  const [cmd, args] = net.host(h).command(process.execPath, ['--conditions=source', '--import', 'tsx', 'scratch/zkc-client.ts', zk.connectString]);
  return spawnProcess(cmd, args, { name: h, cwd: process.cwd(), env: {}, echo: true });
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
await sleep(5000);
console.log('--- cut', new Date().toISOString());
await net.cut('zookeeper');
await sleep(Number(process.env.CUT_MS ?? 2000));
await net.heal('zookeeper');
console.log('--- heal', new Date().toISOString());
await sleep(15000);
for (const k of kids) k.kill('SIGKILL');
await zk.cleanup();
await net.close();
process.exit(0);
