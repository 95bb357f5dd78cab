import { joinPath, NoNodeError, type ZkClient } from '@clover/zk-kit';

/** A live dispatch-server as its election candidate znode names it (docs/protocol.md, ZooKeeper). */
export interface DispatchServerInfo {
  /** The server's node id (the candidate's `id`). */
  id: string;
  /** The candidate znode's name, `c-<seq>`: a new one for each life (and each re-entry) of the server. */
  node: string;
  /** Where its ROUTER listens, `tcp://<host>:<port>`. */
  endpoint: string;
  /** It reads messages of several bodies (the candidate's `batch`). */
  batch: boolean;
  /**
   * It fires a share of the jobs, not all or none (the candidate's `shares`; docs/protocol.md,
   * Several servers): it takes runs over whenever the servers change, so it hears the recent
   * RESULTs then. Absent: a server of the single-leader cluster, which does so only as leader.
   */
  shares: boolean;
}

/** Every live dispatch-server, in election order, and which of them leads (its id; null: none named). */
export interface ServerList {
  servers: DispatchServerInfo[];
  leader: string | null;
}

const candidatePrefix = 'c-';
const seqOf = (name: string): number => Number(name.slice(name.lastIndexOf('-') + 1));

/**
 * Reads the dispatch-servers standing in the election at `electionPath`: each candidate whose
 * data is `{ id, endpoint }` (strings), once per server id (its lowest candidate, should a server
 * briefly hold two). The leader is the lowest candidate, and only if its data is usable, as
 * zk-kit's `readLeader` says: a garbled lowest candidate means no leader, never the next one.
 * An absent folder is an empty list. Throws what ZooKeeper throws otherwise.
 */
export async function readServers(zk: ZkClient, electionPath: string): Promise<ServerList> {
  let names: string[];
  try {
    names = (await zk.children(electionPath)).filter((n) => n.startsWith(candidatePrefix)).sort((a, b) => seqOf(a) - seqOf(b));
  } catch (err) {
    if (err instanceof NoNodeError) return { servers: [], leader: null };
    throw err;
  }
  const servers: DispatchServerInfo[] = [];
  let leader: string | null = null;
  let first = true;
  for (const node of names) {
    const data = await zk.get<Record<string, unknown> | null>(joinPath(electionPath, node)).then(
      (n) => n?.data,
      () => null,
    );
    // Gone between the listing and the read: the next one may be lowest now.
    if (data === undefined) continue;
    const usable = data !== null && typeof data === 'object' && typeof data.id === 'string' && typeof data.endpoint === 'string';
    if (first && usable) leader = data.id as string;
    first = false;
    if (!usable || servers.some((s) => s.id === data.id)) continue;
    servers.push({
      id: data.id as string,
      node,
      endpoint: data.endpoint as string,
      batch: data.batch === true,
      shares: data.shares === true,
    });
  }
  return { servers, leader };
}

/**
 * Calls `listener` with every live dispatch-server now and whenever the candidates change (one
 * joins, leaves, re-enters, or its data is rewritten). `null` means not known: ZooKeeper is out
 * of reach or did not answer; a listener keeps what it has until a list comes. Returns the stop.
 */
export function watchServers(zk: ZkClient, electionPath: string, listener: (list: ServerList | null) => void): () => void {
  let stopped = false;
  let running = false;
  /** Refreshes asked for: one running pass goes round again if more were asked while it read. */
  let asked = 0;
  let last: string | undefined;
  /** A data watch on each candidate, so a candidate's data written back is seen. */
  const nodeWatches = new Map<string, () => void>();
  const refresh = async () => {
    asked++;
    if (running) return;
    running = true;
    try {
      let answered: number;
      do {
        answered = asked;
        const list = zk.state === 'connected' ? await readServers(zk, electionPath).catch(() => null) : null;
        if (stopped) return;
        if (list) followNodes(list.servers.map((s) => s.node));
        const key = JSON.stringify(list);
        if (key !== last) {
          last = key;
          listener(list);
        }
      } while (asked !== answered);
    } finally {
      running = false;
    }
  };
  const followNodes = (nodes: string[]) => {
    for (const [node, stop] of nodeWatches)
      if (!nodes.includes(node)) {
        stop();
        nodeWatches.delete(node);
      }
    for (const node of nodes)
      if (!nodeWatches.has(node))
        nodeWatches.set(
          node,
          zk.watch(joinPath(electionPath, node), (e) => e.type === 'data' && void refresh()),
        );
  };
  const stopWatch = zk.watch(electionPath, () => void refresh());
  const offState = zk.onState(() => void refresh());
  void refresh();
  return () => {
    stopped = true;
    stopWatch();
    offState();
    for (const stop of nodeWatches.values()) stop();
    nodeWatches.clear();
  };
}
