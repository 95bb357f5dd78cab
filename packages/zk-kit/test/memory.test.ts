import { MemoryZkServer, createZkClient } from '../src/index.js';
import { zkContract } from './contract.js';

let n = 0;
zkContract('in-process tree', async () => {
  const name = `contract-${process.pid}-${++n}`;
  return {
    client: async () => {
      const zk = createZkClient({ connect: `memory:${name}` });
      await zk.connect();
      return zk;
    },
    expire: async (zk) => MemoryZkServer.get(name).expireSession(zk.sessionId!),
    cleanup: async () => undefined,
  };
});
