import { test } from 'node:test';
import { openStore } from '../src/index.js';
import { storeContract } from './contract.js';

const url = process.env.CLOVER_TEST_MONGO_URL;
if (url) {
  storeContract('MongoDB (mongoose)', async () => {
    // One database per run, dropped afterwards.
    const dbUrl = new URL(url);
    dbUrl.pathname = `/clover_test_${process.pid}_${Date.now()}`;
    const stores: Array<Awaited<ReturnType<typeof openStore>>> = [];
    const open = async () => {
      const s = await openStore({ mongoUrl: dbUrl.toString() });
      stores.push(s);
      return s;
    };
    return {
      open,
      openTwin: open,
      cleanup: async () => {
        const mongoose = (await import('mongoose')).default;
        const conn = await mongoose.createConnection(dbUrl.toString()).asPromise();
        await conn.dropDatabase();
        await conn.close();
      },
    };
  });
} else {
  console.log('# SKIP mongoose store contract suite: CLOVER_TEST_MONGO_URL is not set (no MongoDB server on this machine)');
  test('mongoose store contract suite', { skip: 'CLOVER_TEST_MONGO_URL is not set (no MongoDB server on this machine)' }, () => {});
}
