import { test } from 'node:test';
import { startMongo, type MongoHandle } from '@clover/testkit';
import mongoose from 'mongoose';
import { openStore } from '../src/index.js';
import { storeContract } from './contract.js';

/**
 * The mongoose store against a real MongoDB wire server. CLOVER_TEST_MONGO_URL points it at a
 * server of your own (a real MongoDB); otherwise it starts FerretDB (tools/ferretdb). It skips,
 * saying why, only outside CI when no server can be had (no Go to build FerretDB): in CI it fails.
 */
const given = process.env.CLOVER_TEST_MONGO_URL;
let server: MongoHandle | null = null;
let why: string | null = null;
if (!given) {
  try {
    server = await startMongo();
  } catch (err) {
    if (process.env.CI) throw err;
    why = `no MongoDB wire server: ${(err as Error).message.split('\n')[0]}`;
  }
}

if (why) {
  console.log(`# SKIP mongoose store contract suite: ${why}`);
  test('mongoose store contract suite', { skip: why }, () => {});
} else {
  const base = given ?? server!.url;
  storeContract(`MongoDB (mongoose) on ${given ? 'CLOVER_TEST_MONGO_URL' : server!.server}`, async () => {
    // One database per run, dropped afterwards.
    const dbUrl = new URL(base);
    dbUrl.pathname = `/clover_test_${process.pid}_${Date.now()}`;
    const open = () => openStore({ mongoUrl: dbUrl.toString() });
    return {
      open,
      openTwin: open,
      cleanup: async () => {
        try {
          const conn = await mongoose.createConnection(dbUrl.toString(), { serverSelectionTimeoutMS: 5000 }).asPromise();
          await conn.dropDatabase();
          await conn.close();
        } finally {
          await server?.stop();
        }
      },
    };
  });
}
