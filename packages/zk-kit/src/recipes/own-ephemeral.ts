import type { ZkClient, ZkStat } from '../interfaces.js';

/**
 * Reads `path` and answers its stat only when it is an ephemeral znode of `session` (a
 * `ZkClient.sessionId`); null when it is gone, persistent, or another session's.
 *
 * Why a name is not enough: ZooKeeper numbers sequential children from the parent's child
 * counter, which starts again at 0 when the parent is deleted and re-created (the console's
 * Nodes page, `deleteall` in zkCli). A recipe that remembers the path of its
 * ephemeral-sequential znode can then find another session's znode under that same name, and
 * must not take it for its own. One `exists` round trip; rejects as `exists` does.
 */
export async function ownEphemeral(zk: ZkClient, path: string, session: string | null): Promise<ZkStat | null> {
  if (session === null) return null;
  const stat = await zk.exists(path);
  return stat && stat.ephemeralOwner === session ? stat : null;
}

/**
 * Deletes `path` if it is still an ephemeral znode of `session` at the version read, and
 * otherwise leaves it: a recipe removing its own znode never removes another session's that
 * came to bear the same name (see `ownEphemeral`). Never rejects: a znode already gone, a
 * newer version, or a lost connection all leave the ensemble to expire the session's znodes.
 */
export async function deleteOwnEphemeral(zk: ZkClient, path: string, session: string | null): Promise<void> {
  try {
    const stat = await ownEphemeral(zk, path, session);
    if (stat) await zk.delete(path, { version: stat.version });
  } catch {
    // Gone, changed, or disconnected: nothing of ours is left to delete, or the session's end removes it.
  }
}
