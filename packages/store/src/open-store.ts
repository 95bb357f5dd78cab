import type { Store, StoreOptions } from './interfaces.js';
import { openMongoStore } from './mongo/open.js';
import { openSqliteStore } from './sqlite/open.js';

/** MongoDB when a URL is given, else the embedded SQLite file. */
export async function openStore(opts: StoreOptions = {}): Promise<Store> {
  if (opts.mongoUrl) return openMongoStore({ ...opts, mongoUrl: opts.mongoUrl });
  return openSqliteStore(opts);
}
