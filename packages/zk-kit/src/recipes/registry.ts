import type { NodeKind, NodeRecord, ZkClient } from '../interfaces.js';
import type { CloverPaths } from '../paths.js';
import { joinPath } from '../paths.js';

/** The live processes of the cluster, as their heartbeat znodes say. */
export class NodeRegistry {
  constructor(
    private readonly zk: ZkClient,
    private readonly paths: CloverPaths,
  ) {}

  async list(kind: NodeKind): Promise<NodeRecord[]> {
    const dir = this.paths.nodesOf(kind);
    let names: string[];
    try {
      names = await this.zk.children(dir);
    } catch {
      return [];
    }
    const records = await Promise.all(
      names.map(async (id) => {
        const node = await this.zk.get(joinPath(dir, id)).catch(() => null);
        if (!node) return null;
        // A heartbeat's data is a JSON object; a node without data (or with other JSON) has none.
        const data = typeof node.data === 'object' && node.data !== null ? (node.data as Record<string, unknown>) : {};
        const record: NodeRecord = { kind, id, path: joinPath(dir, id), data, stat: node.stat };
        return record;
      }),
    );
    return records.filter((r): r is NodeRecord => r !== null).sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Calls the listener with the full list now and after every join, leave or heartbeat. */
  watch(kind: NodeKind, listener: (nodes: NodeRecord[]) => void): () => void {
    const dir = this.paths.nodesOf(kind);
    const perNode = new Map<string, () => void>();
    let stopped = false;
    let pending = false;
    const update = async () => {
      pending = false;
      const nodes = await this.list(kind);
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
      // list() never rejects (a node it cannot read is left out), so only the listener can throw
      // here: its error surfaces as an unhandled rejection, as a throw from any callback would.
      setImmediate(() => void update());
    };
    const stopDir = this.zk.watch(dir, refresh);
    refresh();
    return () => {
      stopped = true;
      stopDir();
      for (const off of perNode.values()) off();
      perNode.clear();
    };
  }
}
