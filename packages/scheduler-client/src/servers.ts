import { watchCandidates, type CandidateList, type ZkClient } from '@clover/zk-kit';

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

/**
 * The dispatch-servers among an election's candidates: each candidate with a string `endpoint`,
 * once per server id (its lowest candidate, should a server briefly hold two).
 */
export function serversOf(list: CandidateList): ServerList {
  const servers: DispatchServerInfo[] = [];
  for (const { id, node, data } of list.candidates) {
    if (typeof data.endpoint !== 'string' || servers.some((s) => s.id === id)) continue;
    servers.push({ id, node, endpoint: data.endpoint, batch: data.batch === true, shares: data.shares === true });
  }
  return { servers, leader: list.leader };
}

/**
 * Calls `listener` with every live dispatch-server now and whenever the candidates of the
 * election at `electionPath` change (zk-kit `watchCandidates`); `null`: not known (ZooKeeper out
 * of reach), keep what you have. Returns the stop.
 */
export function watchServers(zk: ZkClient, electionPath: string, listener: (list: ServerList | null) => void): () => void {
  return watchCandidates(zk, electionPath, (list) => listener(list && serversOf(list)));
}
