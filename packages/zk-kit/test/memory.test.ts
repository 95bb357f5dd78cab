import { MemoryZkServer, createZkClient } from '../src/index.js';
import { zkContract } from './contract.js';

let n = 0;
zkContract('in-process tree', () => {
  const name = `contract-${process.pid}-${++n}`;
  return Promise.resolve({
    client: async () => {
      const zk = createZkClient({ connect: `memory:${name}` });
      await zk.connect();
      return zk;
    },
    expire: (zk) => {
      MemoryZkServer.get(name).expireSession(zk.sessionId!);
      return Promise.resolve();
    },
    cleanup: () => Promise.resolve(),
  });
});
