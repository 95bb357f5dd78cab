import { BadVersionError, ConnectionLossError, NodeExistsError, NoNodeError, NotEmptyError, ZkError } from '../errors.js';
import type { CreateMode, ZkStat } from '../interfaces.js';
import { joinPath, parentOf } from '../paths.js';
import type { OneShotWatcher, RawSession, SessionEvents } from '../session.js';

interface TreeNode {
  data: Buffer;
  stat: ZkStat;
  children: Map<string, TreeNode>;
  /** Next sequential suffix handed out under this node. */
  nextSeq: number;
}

interface SessionState {
  id: string;
  events: SessionEvents;
  alive: boolean;
  ephemerals: Set<string>;
}

const registry = new Map<string, MemoryZkServer>();

function newNode(data: Buffer, owner: string, now: number): TreeNode {
  return {
    data,
    children: new Map(),
    nextSeq: 0,
    stat: { version: 0, cversion: 0, ctime: now, mtime: now, ephemeralOwner: owner, numChildren: 0, dataLength: data.length },
  };
}

/**
 * An in-process ZooKeeper: one tree, many sessions, with the server's semantics (ephemerals end
 * with their session, sequential suffixes, version checks, one-shot watches delivered
 * asynchronously). Named instances let every role of one process share a tree.
 */
export class MemoryZkServer {
  private readonly root = newNode(Buffer.alloc(0), '0', Date.now());
  private readonly sessions = new Map<string, SessionState>();
  private readonly nodeWatches = new Map<string, Set<OneShotWatcher>>();
  private readonly childWatches = new Map<string, Set<OneShotWatcher>>();
  private sessionCounter = 0;

  static get(name = 'default'): MemoryZkServer {
    let server = registry.get(name);
    if (!server) {
      server = new MemoryZkServer();
      registry.set(name, server);
    }
    return server;
  }

  /** Ends a session as the server would after its timeout: ephemerals go, the client hears 'expired'. */
  expireSession(sessionId: string): void {
    const s = this.sessions.get(sessionId);
    if (!s) return;
    this.endSession(s);
    setImmediate(() => s.events.expired());
  }

  /**
   * Cuts a session's connection for `forMs` without ending the session: the client hears
   * 'disconnected', then 'connected' in the same session, as after a network blip shorter than
   * the session timeout. Its watches and ephemerals stay.
   */
  interruptSession(sessionId: string, forMs: number): void {
    const s = this.sessions.get(sessionId);
    if (!s) return;
    setImmediate(() => s.alive && s.events.disconnected());
    setTimeout(() => s.alive && s.events.connected(), forMs).unref();
  }

  /** Requests served so far, by kind (`get`, `exists`, `children`, `set`, ...): for tests and diagnosis. */
  readonly requests = new Map<string, number>();

  private served(kind: string): void {
    this.requests.set(kind, (this.requests.get(kind) ?? 0) + 1);
  }

  /** One-shot watches armed on `path` and not fired yet, of the node (get, exists) and of its children: for tests and diagnosis. */
  watchesOn(path: string): { node: number; children: number } {
    return { node: this.nodeWatches.get(path)?.size ?? 0, children: this.childWatches.get(path)?.size ?? 0 };
  }

  sessionIds(): string[] {
    return [...this.sessions.keys()];
  }

  openSession(events: SessionEvents): RawSession {
    const id = `mem-${(++this.sessionCounter).toString(16).padStart(8, '0')}`;
    const state: SessionState = { id, events, alive: true, ephemerals: new Set() };
    this.sessions.set(id, state);
    setImmediate(() => state.alive && events.connected());
    // As the real session's calls: what `fn` throws is the rejection, never a throw out of the call.
    const guard = <T>(kind: string, fn: () => T): Promise<T> => {
      this.served(kind);
      return state.alive ? new Promise((resolve) => resolve(fn())) : Promise.reject(new ConnectionLossError());
    };
    return {
      id,
      create: (path, data, mode) => guard('create', () => this.create(state, path, data, mode)),
      get: (path, watcher) =>
        guard('get', () => {
          const node = this.find(path);
          if (!node) throw new NoNodeError(path);
          if (watcher) this.addWatch(this.nodeWatches, path, state, watcher);
          return { data: Buffer.from(node.data), stat: { ...node.stat } };
        }),
      exists: (path, watcher) =>
        guard('exists', () => {
          if (watcher) this.addWatch(this.nodeWatches, path, state, watcher);
          const node = this.find(path);
          return node ? { ...node.stat } : null;
        }),
      children: (path, watcher) =>
        guard('children', () => {
          const node = this.find(path);
          if (!node) throw new NoNodeError(path);
          if (watcher) this.addWatch(this.childWatches, path, state, watcher);
          return [...node.children.keys()];
        }),
      set: (path, data, version) =>
        guard('set', () => {
          const node = this.find(path);
          if (!node) throw new NoNodeError(path);
          if (version !== -1 && version !== node.stat.version) throw new BadVersionError(path);
          node.data = Buffer.from(data);
          node.stat.version += 1;
          node.stat.mtime = Date.now();
          node.stat.dataLength = data.length;
          this.fire(this.nodeWatches, path, 'data');
          return { ...node.stat };
        }),
      delete: (path, version) => guard('delete', () => this.remove(path, version)),
      close: () =>
        new Promise<void>((resolve) => {
          if (state.alive) this.endSession(state);
          resolve();
        }),
    };
  }

  private endSession(s: SessionState): void {
    s.alive = false;
    this.sessions.delete(s.id);
    for (const path of [...s.ephemerals]) {
      try {
        this.remove(path, -1);
      } catch {
        /* already removed */
      }
    }
  }

  private find(path: string): TreeNode | undefined {
    if (path === '/') return this.root;
    let node: TreeNode | undefined = this.root;
    for (const part of path.slice(1).split('/')) {
      node = node.children.get(part);
      if (!node) return undefined;
    }
    return node;
  }

  private create(s: SessionState, path: string, data: Buffer, mode: CreateMode): string {
    const parentPath = parentOf(path);
    const parent = this.find(parentPath);
    if (!parent) throw new NoNodeError(parentPath);
    if (parent.stat.ephemeralOwner !== '0') throw new ZkError('NOCHILDRENFOREPHEMERALS', 'ephemerals cannot have children', parentPath);
    let name = path.slice(parentPath === '/' ? 1 : parentPath.length + 1);
    if (mode === 'persistent_sequential' || mode === 'ephemeral_sequential') {
      name += String(parent.nextSeq).padStart(10, '0');
    }
    parent.nextSeq += 1;
    if (parent.children.has(name)) throw new NodeExistsError(joinPath(parentPath, name));
    const ephemeral = mode === 'ephemeral' || mode === 'ephemeral_sequential';
    const now = Date.now();
    parent.children.set(name, newNode(Buffer.from(data), ephemeral ? s.id : '0', now));
    parent.stat.cversion += 1;
    parent.stat.numChildren = parent.children.size;
    const real = joinPath(parentPath, name);
    if (ephemeral) s.ephemerals.add(real);
    this.fire(this.nodeWatches, real, 'created');
    this.fire(this.childWatches, parentPath, 'children');
    return real;
  }

  private remove(path: string, version: number): void {
    if (path === '/') throw new ZkError('BADARGUMENTS', 'cannot delete the root', path);
    const parentPath = parentOf(path);
    const parent = this.find(parentPath);
    const name = path.slice(parentPath === '/' ? 1 : parentPath.length + 1);
    const node = parent?.children.get(name);
    if (!parent || !node) throw new NoNodeError(path);
    if (version !== -1 && version !== node.stat.version) throw new BadVersionError(path);
    if (node.children.size > 0) throw new NotEmptyError(path);
    parent.children.delete(name);
    parent.stat.cversion += 1;
    parent.stat.numChildren = parent.children.size;
    if (node.stat.ephemeralOwner !== '0') this.sessions.get(node.stat.ephemeralOwner)?.ephemerals.delete(path);
    this.fire(this.nodeWatches, path, 'deleted');
    this.fire(this.childWatches, path, 'deleted');
    this.fire(this.childWatches, parentPath, 'children');
  }

  private addWatch(map: Map<string, Set<OneShotWatcher>>, path: string, s: SessionState, watcher: OneShotWatcher): void {
    let set = map.get(path);
    if (!set) map.set(path, (set = new Set()));
    // A watch belongs to its session: an expired session's watches never fire.
    const bound: OneShotWatcher = (e) => {
      if (s.alive) watcher(e);
    };
    set.add(bound);
  }

  private fire(map: Map<string, Set<OneShotWatcher>>, path: string, type: 'created' | 'data' | 'children' | 'deleted'): void {
    const set = map.get(path);
    if (!set || set.size === 0) return;
    map.delete(path);
    setImmediate(() => {
      for (const w of set) w({ type, path });
    });
  }
}
