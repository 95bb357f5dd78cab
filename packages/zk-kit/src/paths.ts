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
