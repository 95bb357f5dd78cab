import type { Connection } from 'mongoose';

/** What the server behind a MongoDB URL can do, as far as the store cares. */
export interface ServerCapabilities {
  /** `MongoDB 7.0.14` or `FerretDB 1.24.2 (wire 7.0.42)`: for logs and the store README's table. */
  readonly server: string;
  /**
   * TTL indexes (`expireAfterSeconds`). MongoDB has them; FerretDB 1.x answers `NotImplemented`
   * when one is created, so there the store removes expired rows itself on a timer.
   */
  readonly ttlIndexes: boolean;
  /**
   * Whether a filter is answered from an index. FerretDB 1.24 on SQLite scans the collection for
   * every filter but `_id` (its explain: `filterPushdown: false`), so there a log search skips its
   * newest-rows probe (log-words.ts), which would only be a second scan.
   */
  readonly indexedFilters: boolean;
}

/**
 * Asks the server's `buildInfo`. FerretDB answers with a `ferretdbVersion` field beside the
 * MongoDB version it speaks; its 1.x releases have no TTL indexes (FerretDB issue tracker,
 * "Index option expireAfterSeconds is not implemented yet", code 238).
 * @throws what the driver throws when the server cannot be reached.
 */
export async function probeServer(conn: Connection): Promise<ServerCapabilities> {
  if (!conn.db) throw new Error('MongoDB connection is not open: no database to ask for buildInfo');
  const info = (await conn.db.admin().command({ buildInfo: 1 })) as { version?: string; ferretdbVersion?: string };
  if (info.ferretdbVersion !== undefined) {
    return { server: `FerretDB ${info.ferretdbVersion} (wire ${info.version ?? '?'})`, ttlIndexes: false, indexedFilters: false };
  }
  return { server: `MongoDB ${info.version ?? '?'}`, ttlIndexes: true, indexedFilters: true };
}
