import { InvalidDataError, NoNodeError } from '../errors.js';
import type { NodeKind, NodeRecord, ZkClient, ZkStat } from '../interfaces.js';
import type { CloverPaths } from '../paths.js';
import { joinPath } from '../paths.js';

/** How long a watch waits before it reads a kind's list again after a read failed, in ms. */
const retryAfterFailedReadMs = 500;

/**
 * The live processes of the cluster, as their heartbeat znodes say. A list is whole or not at
 * all: a node is left out only when ZooKeeper says it is gone, never because a read of it failed,
 * since whoever reads the list (the monitor, a dispatch-server's agents) takes a node left out
 * for a node dead.
 */
export class NodeRegistry {
  constructor(
    private readonly zk: ZkClient,
    private readonly paths: CloverPaths,
  ) {}

  /**
   * The nodes of `kind`, sorted by id; [] when the kind's folder does not exist. A node whose
   * data is not JSON (written behind its heartbeat's back) is listed, with data `{}`. Rejects
   * with the client's error (a lost connection, a closed client) when any read fails.
   */
  async list(kind: NodeKind): Promise<NodeRecord[]> {
    const dir = this.paths.nodesOf(kind);
    let names: string[];
    try {
      names = await this.zk.children(dir);
    } catch (err) {
      if (err instanceof NoNodeError) return [];
      throw err;
    }
    const records = await Promise.all(names.map((id) => this.read(kind, dir, id)));
    return records.filter((r): r is NodeRecord => r !== null).sort((a, b) => a.id.localeCompare(b.id));
  }

  /** One node's record; null when it went between the listing and the read. */
  private async read(kind: NodeKind, dir: string, id: string): Promise<NodeRecord | null> {
    const path = joinPath(dir, id);
    let node: { data: unknown; stat: ZkStat } | null;
    try {
      node = await this.zk.get(path);
    } catch (err) {
      if (!(err instanceof InvalidDataError)) throw err;
      const raw = await this.zk.getRaw(path);
      node = raw && { data: null, stat: raw.stat };
    }
    if (!node) return null;
    // A heartbeat's data is a JSON object; a node without data (or with other JSON) has none.
    const data = typeof node.data === 'object' && node.data !== null ? (node.data as Record<string, unknown>) : {};
    return { kind, id, path, data, stat: node.stat };
  }

  /** Calls the listener with the full list now and after every join, leave or heartbeat. */
  watch(kind: NodeKind, listener: (nodes: NodeRecord[]) => void): () => void {
    const dir = this.paths.nodesOf(kind);
    const perNode = new Map<string, () => void>();
    let stopped = false;
    let pending = false;
    let retry: NodeJS.Timeout | null = null;
    const update = async () => {
      pending = false;
      let nodes: NodeRecord[];
      try {
        nodes = await this.list(kind);
      } catch {
        // Read again shortly, and meanwhile say nothing: a partial list would bury the live nodes
        // it could not read (the monitor declared them vanished, CI of 2026-12-01).
        if (!stopped && !retry)
          retry = setTimeout(() => {
            retry = null;
            refresh();
          }, retryAfterFailedReadMs);
        return;
      }
      if (stopped) return;
      const ids = new Set(nodes.map((n) => n.id));
      for (const [id, off] of perNode) {
        if (ids.has(id)) continue;
        off();
        perNode.delete(id);
      }
      for (const n of nodes) if (!perNode.has(n.id)) perNode.set(n.id, this.zk.watch(n.path, refresh));
      listener(nodes);
    };
    const refresh = () => {
      if (pending || stopped) return;
      pending = true;
      // update() catches list()'s failures, so only the listener can throw here: its error
      // surfaces as an unhandled rejection, as a throw from any callback would.
      setImmediate(() => void update());
    };
    const stopDir = this.zk.watch(dir, refresh);
    refresh();
    return () => {
      stopped = true;
      if (retry) clearTimeout(retry);
      stopDir();
      for (const off of perNode.values()) off();
      perNode.clear();
    };
  }
}
