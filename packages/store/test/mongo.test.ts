import { test } from 'node:test';
import { mongoForTest } from '@clover/testkit';
import { openStore } from '../src/index.js';
import { storeContract } from './contract.js';

/**
 * The mongoose store against a real MongoDB wire server: CLOVER_TEST_MONGO_URL's, else FerretDB
 * (tools/ferretdb), a database of its own either way. Skips, saying why, only outside CI when no
 * server can be had; in CI that is a failure (mongoForTest).
 */
const mongo = await mongoForTest('clover_test');

if ('skip' in mongo) {
  console.log(`# SKIP mongoose store contract suite: ${mongo.skip}`);
  test('mongoose store contract suite', { skip: mongo.skip }, () => {});
} else {
  storeContract(`MongoDB (mongoose) on ${mongo.server}`, () => {
    const open = () => openStore({ mongoUrl: mongo.databaseUrl });
    return Promise.resolve({ open, openTwin: open, cleanup: () => mongo.cleanup() });
  });
}
