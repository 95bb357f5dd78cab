import { startZooKeeper } from '@clover/testkit';
import { createZkClient, cloverPaths } from './src/index.js';
import { writeSync } from 'node:fs';
const log = (s: string) => writeSync(1, s + '\n');
const zk = await startZooKeeper();
log('zk up ' + zk.connectString);
const { spawnSync } = await import('node:child_process');
const code = `
import { createZkClient, cloverPaths } from './src/index.js';
import { writeSync } from 'node:fs';
const log = (s) => writeSync(1, s + '\\n');
const c = createZkClient({ connect: process.argv[2], sessionTimeoutMs: 5000, auth: { user: 'clover', password: 'abcdefgh' } });
log('connecting'); await c.connect(); log('connected');
const paths = cloverPaths('/clover');

try { log('claimTree'); log('claimed ' + await c.claimTree('/clover')); } catch (e) { log('claim err ' + e); }
try { log('create eph'); await c.create('/clover/nodes/servers/x', {a:1}, 'ephemeral'); log('created'); } catch (e) { log('create err ' + e); }
await c.close(); log('closed');
`;
const { writeFileSync } = await import('node:fs');
writeFileSync('repro-child.ts', code);
const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', 'repro-child.ts', zk.connectString], { encoding: 'utf8' });
log('child status ' + r.status + ' signal ' + r.signal);
log(r.stdout);
log(r.stderr.split('\n').filter((l) => !l.includes('yield')).slice(-10).join('\n'));
await zk.cleanup();
process.exit(0);
