import type { NodeKind } from './interfaces.js';

export interface CloverPaths {
  root: string;
  nodes: string;
  nodesOf(kind: NodeKind): string;
  node(kind: NodeKind, id: string): string;
  electionDispatch: string;
  electionMonitor: string;
  jobChanges: string;
  config: string;
  /** The partition ownership recipe's folder (PartitionOwnership): members, owners, the count. */
  partitions: string;
}

export const nodeKinds: readonly NodeKind[] = ['servers', 'clients', 'monitors'];

/** The ZooKeeper layout of docs/architecture.md under a configurable root. */
export function cloverPaths(root = '/clover'): CloverPaths {
  if (!/^\/[^/]/.test(root) || root.endsWith('/')) throw new Error(`ZooKeeper root must look like /name, got "${root}"`);
  const nodes = `${root}/nodes`;
  return {
    root,
    nodes,
    nodesOf: (kind) => `${nodes}/${kind}`,
    node: (kind, id) => {
      if (!id || id.includes('/')) throw new Error(`node id must be non-empty without '/', got "${id}"`);
      return `${nodes}/${kind}/${id}`;
    },
    electionDispatch: `${root}/election/dispatch`,
    electionMonitor: `${root}/election/monitor`,
    jobChanges: `${root}/jobs/changes`,
    config: `${root}/config`,
    partitions: `${root}/partitions`,
  };
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function joinPath(parent: string, child: string): string {
  return parent === '/' ? `/${child}` : `${parent}/${child}`;
}

export function assertPath(path: string): void {
  if (!path.startsWith('/') || (path.length > 1 && path.endsWith('/')) || path.includes('//')) {
    throw new Error(`invalid ZooKeeper path "${path}"`);
  }
}

/** One of clover's own structural znodes, and what deleting it does to a running cluster. */
export interface StructuralPath {
  path: string;
  /** What the znode is for, in a few words. */
  role: string;
  /** What happens when it is deleted (recursively) while clover runs: the console shows it. */
  onDelete: string;
}

/**
 * clover's own structural znodes under a root: the folders its recipes create and live in, and
 * the config node. The console refuses to delete any of them unless an admin forces it, since a
 * deletion disturbs a running cluster (each recipe heals itself, but work in flight notices). The
 * layout is docs/architecture.md's; keep both in step. Heartbeat znodes and election candidates
 * below these folders are not in the list: deleting one is an ordinary admin action that its
 * owner answers by writing it back.
 */
export function structuralPaths(paths: CloverPaths): StructuralPath[] {
  const everything = 'every recipe below it re-creates its part';
  return [
    {
      path: paths.root,
      role: "clover's root",
      onDelete: `removes every node of the cluster: leaders step down and are elected again, every process writes its heartbeat back, queued job changes are lost and the cluster settings fall back to their defaults; ${everything}`,
    },
    {
      path: paths.nodes,
      role: 'heartbeats of every process',
      onDelete:
        'removes every heartbeat; each process writes its own back within a moment, and a monitor may count the gap as a short death',
    },
    ...nodeKinds.map((kind) => ({
      path: paths.nodesOf(kind),
      role: `heartbeats of the ${kind}`,
      onDelete: `removes the ${kind}' heartbeats; each writes its own back within a moment, and a monitor may count the gap as a short death`,
    })),
    {
      path: parentOf(paths.electionDispatch),
      role: 'leader elections',
      onDelete:
        'ends both elections: the dispatch leader and the active monitor step down and are elected again; no job fires and no death is acted on in between',
    },
    {
      path: paths.electionDispatch,
      role: 'dispatch-server election',
      onDelete:
        'ends the dispatch election: the leader steps down and stops firing jobs until a leader is elected again a moment later (agents follow the new leader)',
    },
    {
      path: paths.electionMonitor,
      role: 'monitor election',
      onDelete: 'ends the monitor election: the active monitor stands by until one is elected again; deaths in between are acted on then',
    },
    {
      path: parentOf(paths.jobChanges),
      role: 'job bookkeeping',
      onDelete: 'drops the job change feed: changes not yet read by the dispatch leader are lost and reach it only at its next election',
    },
    {
      path: paths.jobChanges,
      role: 'job change feed',
      onDelete:
        'drops queued job changes: those not yet read by the dispatch leader are lost and reach it only at its next election; the feed starts again',
    },
    {
      path: paths.partitions,
      role: 'partition ownership',
      onDelete:
        'ends every partition claim: each dispatch-server stops firing its partitions, the folder is made again and the partitions are claimed anew (epochs start again in a new incarnation)',
    },
    {
      path: paths.config,
      role: 'cluster settings',
      onDelete: 'resets the cluster settings (heartbeat interval, dead timeouts) to their defaults until they are written again',
    },
  ];
}

/** The structural entry for `path` (trailing slashes ignored), or null when it is not one. */
export function structuralPath(paths: CloverPaths, path: string): StructuralPath | null {
  const clean = path.replace(/\/+$/, '') || '/';
  return structuralPaths(paths).find((s) => s.path === clean) ?? null;
}
