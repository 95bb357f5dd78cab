import { createZkClient } from '@clover/zk-kit';
const t0 = Date.now();
const log = (m: string, f?: unknown) => console.log(`+${Date.now() - t0}ms ${m} ${f ? JSON.stringify(f) : ''}`);
const logger = { debug: log, info: log, warn: log, error: log, child: () => logger } as any;
const zk = createZkClient({ connect: process.argv[2]!, sessionTimeoutMs: 4000, logger });
zk.onState((s) => log(`state ${s} session ${zk.sessionId}`));
await zk.connect();
await zk.create('/e-' + process.pid, Buffer.from('x'), 'ephemeral').catch((e) => log('create', String(e)));
setInterval(() => void zk.exists('/').then(() => undefined, (e) => log('exists err', String(e))), 1000);
