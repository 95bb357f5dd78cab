import path from 'node:path';
import { tempDir } from '@clover/testkit';
import { openStore } from '../src/index.js';
import { storeContract } from './contract.js';

storeContract('embedded SQLite', async () => {
  const dir = await tempDir('clover-store-');
  const file = path.join(dir.path, 'clover.db');
  return { open: () => openStore({ file }), openTwin: () => openStore({ file }), cleanup: () => dir.cleanup() };
});
