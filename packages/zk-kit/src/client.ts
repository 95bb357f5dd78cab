import { noopLogger, type Logger } from '@clover/telemetry';
import type { ZodType } from 'zod';
import { decodeJson, encodeJson } from './codec.js';
import { ConnectionLossError, NodeExistsError, NoNodeError, NotEmptyError } from './errors.js';
import type { CreateMode, Unsubscribe, WatchEvent, WatchOptions, ZkClient, ZkConnectionState, ZkStat } from './interfaces.js';
import { joinPath, parentOf, assertPath } from './paths.js';
import type { RawSession, SessionFactory } from './session.js';

/** How many times a recursive delete lists and deletes again when children keep appearing. */
const recursiveDeletePasses = 10;

interface PersistentWatch {
  listeners: Set<(e: WatchEvent) => void>;
  /** Whether any listener wants `children` events: without one, no children watch is set. */
  children: boolean;
  /** Whether the node watch is armed by reading the data (`get`), kept in `data` (WatchOptions.data). */
  keepData: boolean;
  /**
   * The node's data and stat as the watch last read them (keepData): null while absent;
   * undefined when not known (not read yet, read without the data, or disconnected since).
   */
  data: { data: Buffer; stat: ZkStat } | null | undefined;
  nodeArmed: boolean;
  childrenArmed: boolean;
  /** The node's stat as last read: undefined before the first read, null while absent. */
  lastStat: ZkStat | null | undefined;
}

export interface SessionClientOptions {
  logger?: Logger;
  /**
   * Disconnected for this long, the client treats its session as expired, as Curator does:
   * the ensemble has (or soon will have) dropped its ephemerals, so it must not act as if
   * it still held them, and it opens a new session as soon as it can.
   */
  sessionTimeoutMs?: number;
}

/**
 * The ZkClient every service uses, over any backend's raw sessions. It owns what ZooKeeper
 * leaves to clients: a new session after expiry, the ephemerals this client made brought back
 * in it, and watches that stay armed across events, reconnects and sessions.
 */
export class SessionClient implements ZkClient {
  private session: RawSession | null = null;
  private currentState: ZkConnectionState = 'disconnected';
  private readonly stateListeners = new Set<(s: ZkConnectionState) => void>();
  /** Non-sequential ephemerals made through this client, with their latest data. */
  private readonly ephemerals = new Map<string, Buffer>();
  private readonly watches = new Map<string, PersistentWatch>();
  private closed = false;
  private firstConnect: Promise<void> | null = null;
  private generation = 0;
  private hadSession = false;
  private readonly logger: Logger;
  private readonly sessionTimeoutMs: number | undefined;
  private disconnectTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly openSession: SessionFactory,
    opts: SessionClientOptions = {},
  ) {
    this.logger = opts.logger ?? noopLogger;
    this.sessionTimeoutMs = opts.sessionTimeoutMs;
  }

  get sessionId(): string | null {
    return this.session?.id ?? null;
  }

  /** The real backend's session id and password; tests use them to force a session's expiry. */
  sessionCredentials(): [string, string] | null {
    return this.session?.credentials?.() ?? null;
  }

  get state(): ZkConnectionState {
    return this.currentState;
  }

  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('ZkClient is closed'));
    if (!this.firstConnect) {
      this.firstConnect = new Promise<void>((resolve) => {
        const off = this.onState((s) => {
          if (s === 'connected') {
            off();
            resolve();
          }
        });
        this.startSession();
      });
    }
    return this.firstConnect;
  }

  private startSession(): void {
    const generation = ++this.generation;
    let everConnected = false;
    const mine = () => generation === this.generation && !this.closed;
    const expire = () => {
      if (!mine()) return;
      this.clearDisconnectTimer();
      this.logger.warn('ZooKeeper session expired; opening a new one', { sessionId: this.session?.id });
      for (const w of this.watches.values()) {
        w.nodeArmed = w.childrenArmed = false;
        w.data = undefined;
      }
      const old = this.session;
      this.session = null;
      this.generation++;
      this.setState('expired');
      void old?.close().catch(() => undefined);
      // A short pause keeps a dead ensemble from being hammered in a tight loop.
      setTimeout(() => {
        if (!this.closed && this.session === null) this.startSession();
      }, 100);
    };
    this.session = this.openSession({
      connected: () => {
        if (!mine()) return;
        this.clearDisconnectTimer();
        const isNewSession = !everConnected;
        everConnected = true;
        if (isNewSession && !this.hadSession) {
          this.hadSession = true;
          this.setState('connected');
          this.armAll();
          return;
        }
        if (isNewSession && this.hadSession) {
          void this.restoreSession(generation).then(() => mine() && this.setState('connected'));
        } else {
          this.setState('connected');
          // Same session: the server kept armed watches; arm those a disconnect cut short.
          this.armAll();
        }
      },
      disconnected: () => {
        if (!mine()) return;
        this.setState('disconnected');
        if (this.sessionTimeoutMs && everConnected && !this.disconnectTimer) {
          this.disconnectTimer = setTimeout(expire, this.sessionTimeoutMs);
        }
      },
      expired: expire,
    });
  }

  private clearDisconnectTimer(): void {
    if (this.disconnectTimer) clearTimeout(this.disconnectTimer);
    this.disconnectTimer = null;
  }

  /** Brings back, in a new session, what the expired one held for this client. */
  private async restoreSession(generation: number): Promise<void> {
    for (const [path, data] of this.ephemerals) {
      if (generation !== this.generation) return;
      await this.recreateEphemeral(path, data);
    }
    this.armAll(true);
  }

  private async recreateEphemeral(path: string, data: Buffer): Promise<void> {
    try {
      await this.ensureParent(path);
      await this.live().create(path, data, 'ephemeral');
    } catch (err) {
      if (!(err instanceof NodeExistsError)) {
        this.logger.warn('could not re-create ephemeral', { path, err });
        return;
      }
      // Still held by the old session until the ensemble expires it: take it back then.
      const stat = await this.exists(path).catch(() => null);
      if (stat && stat.ephemeralOwner !== this.sessionId) {
        const off = this.watch(path, (e) => {
          if (e.type !== 'deleted') return;
          off();
          const latest = this.ephemerals.get(path);
          if (latest) void this.recreateEphemeral(path, latest);
        });
      }
    }
  }

  private setState(state: ZkConnectionState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    for (const l of [...this.stateListeners]) {
      try {
        l(state);
      } catch (err) {
        this.logger.error('state listener threw', { err });
      }
    }
  }

  onState(listener: (s: ZkConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearDisconnectTimer();
    const s = this.session;
    this.session = null;
    this.watches.clear();
    this.ephemerals.clear();
    if (s) await s.close().catch(() => undefined);
    this.setState('closed');
  }

  private live(path?: string): RawSession {
    if (!this.session || this.closed) throw new ConnectionLossError(path);
    return this.session;
  }

  async create(path: string, data?: unknown, mode: CreateMode = 'persistent'): Promise<string> {
    assertPath(path);
    const buf = encodeJson(data);
    const real = await this.live(path).create(path, buf, mode);
    if (mode === 'ephemeral') this.ephemerals.set(real, buf);
    return real;
  }

  async getRaw(path: string): Promise<{ data: Buffer; stat: ZkStat } | null> {
    try {
      return await this.live(path).get(path);
    } catch (err) {
      if (err instanceof NoNodeError) return null;
      throw err;
    }
  }

  async get<T = unknown>(path: string, schema?: ZodType<T>): Promise<{ data: T; stat: ZkStat } | null> {
    const raw = await this.getRaw(path);
    return raw && { data: decodeJson(path, raw.data, schema), stat: raw.stat };
  }

  set(path: string, data: unknown, expectedVersion = -1): Promise<ZkStat> {
    return this.setRaw(path, encodeJson(data), expectedVersion);
  }

  async setRaw(path: string, data: Buffer, expectedVersion = -1): Promise<ZkStat> {
    const stat = await this.live(path).set(path, data, expectedVersion);
    if (this.ephemerals.has(path)) this.ephemerals.set(path, data);
    return stat;
  }

  async delete(path: string, opts: { version?: number; recursive?: boolean } = {}): Promise<void> {
    assertPath(path);
    // A recursive delete races whoever writes below it (clover's recipes re-create their nodes
    // at once): a child that appeared after the listing is deleted in a further pass, a few times.
    for (let pass = 1; ; pass++) {
      if (opts.recursive) {
        let kids: string[] = [];
        try {
          kids = await this.live(path).children(path);
        } catch (err) {
          if (err instanceof NoNodeError) return;
          throw err;
        }
        for (const kid of kids) await this.delete(joinPath(path, kid), { recursive: true });
      }
      this.ephemerals.delete(path);
      try {
        await this.live(path).delete(path, opts.version ?? -1);
        return;
      } catch (err) {
        if (opts.recursive && err instanceof NoNodeError) return;
        if (opts.recursive && err instanceof NotEmptyError && pass < recursiveDeletePasses) continue;
        throw err;
      }
    }
  }

  // async, so a closed or disconnected client rejects rather than throws at the call.
  async exists(path: string): Promise<ZkStat | null> {
    return this.live(path).exists(path);
  }

  async claimTree(root: string): Promise<number> {
    const session = this.live(root);
    if (!session.claim || !session.isClaimed) return 0;
    let claimed = 0;
    // Children before their parent: a parent with clover's ACL then always has every child under
    // it claimed too (an outsider cannot add one after), even when an earlier pass was cut short,
    // so a subtree already clover's (the change feed, each start after the first) is skipped whole.
    const visit = async (path: string): Promise<void> => {
      try {
        if (await session.isClaimed?.(path)) return;
        for (const child of await session.children(path)) await visit(joinPath(path, child));
        await session.claim?.(path);
        claimed++;
      } catch (err) {
        if (!(err instanceof NoNodeError)) throw err;
      }
    };
    await visit(root);
    return claimed;
  }

  async children(path: string): Promise<string[]> {
    return this.live(path).children(path);
  }

  async ensurePath(path: string): Promise<void> {
    assertPath(path);
    if (path === '/') return;
    if (await this.live(path).exists(path)) return;
    await this.ensureParent(path);
    try {
      await this.live(path).create(path, Buffer.alloc(0), 'persistent');
    } catch (err) {
      if (!(err instanceof NodeExistsError)) throw err;
    }
  }

  private async ensureParent(path: string): Promise<void> {
    const parent = parentOf(path);
    if (parent !== '/') await this.ensurePath(parent);
  }

  watch(path: string, listener: (e: WatchEvent) => void, opts: WatchOptions = {}): Unsubscribe {
    assertPath(path);
    const children = opts.children ?? true;
    const keepData = opts.data ?? false;
    let w = this.watches.get(path);
    if (!w) {
      w = { listeners: new Set(), children, keepData, data: undefined, nodeArmed: false, childrenArmed: false, lastStat: undefined };
      this.watches.set(path, w);
    }
    // A listener that wants children events on a node watched without them: set the children watch from now on.
    if (children) w.children = true;
    if (keepData) w.keepData = true;
    w.listeners.add(listener);
    const ready = this.currentState === 'connected' ? this.arm(path) : Promise.resolve();
    const unsubscribe = () => {
      const cur = this.watches.get(path);
      if (!cur) return;
      cur.listeners.delete(listener);
      // Armed one-shot watches still fire once; the disarmed entry then just drops them.
      if (cur.listeners.size === 0) this.watches.delete(path);
    };
    return Object.assign(unsubscribe, { ready });
  }

  private armAll(announce = false): void {
    for (const path of this.watches.keys()) {
      void this.arm(path).then(() => {
        if (!announce) return;
        this.emit(path, { type: 'data', path });
        this.emit(path, { type: 'children', path });
      });
    }
  }

  private emit(path: string, event: WatchEvent): void {
    const w = this.watches.get(path);
    if (!w) return;
    for (const l of [...w.listeners]) {
      try {
        l(event);
      } catch (err) {
        this.logger.error('watch listener threw', { path, err });
      }
    }
  }

  /**
   * Sets the one-shot watches a persistent watch needs, then reads the node's stat and emits
   * what changed since the last read. Notifications only say "look again": a change made
   * between a notification and the re-arm is still seen, because the stat read comes after it.
   */
  private async arm(path: string, nodeNotified = false): Promise<void> {
    const w = this.watches.get(path);
    const session = this.session;
    if (!w || !session || this.closed) return;
    const rearm = (fromNode = false) => {
      if (this.watches.get(path) === w) void this.arm(path, fromNode);
    };
    try {
      if (w.children && !w.childrenArmed) {
        w.childrenArmed = true;
        try {
          await session.children(path, () => {
            w.childrenArmed = false;
            rearm();
          });
        } catch (err) {
          w.childrenArmed = false;
          if (!(err instanceof NoNodeError)) throw err;
        }
      }
      let stat: ZkStat | null;
      const watcher = () => {
        w.nodeArmed = false;
        rearm(true);
      };
      if (w.keepData) {
        stat = await this.readForWatch(session, path, w, w.nodeArmed ? undefined : watcher);
      } else if (!w.nodeArmed) {
        w.nodeArmed = true;
        stat = await session.exists(path, watcher);
      } else {
        stat = await session.exists(path);
      }
      // The node appeared after the children watch was skipped: watch its children now.
      if (stat && w.children && !w.childrenArmed) {
        await this.arm(path, nodeNotified);
        return;
      }
      this.diff(path, w, stat, nodeNotified);
    } catch (err) {
      w.nodeArmed = w.childrenArmed = false;
      w.data = undefined;
      if (!(err instanceof ConnectionLossError)) this.logger.warn('could not arm watch', { path, err });
    }
  }

  /**
   * A keepData watch's read: `get` with the watch (ZooKeeper sets a data watch only on a node
   * that exists), and `exists` with it when the node is absent, so its creation is heard. One
   * round trip where a node that exists would take two (exists, then get). `watcher` undefined:
   * armed already, only read.
   */
  private async readForWatch(
    session: RawSession,
    path: string,
    w: PersistentWatch,
    watcher: (() => void) | undefined,
  ): Promise<ZkStat | null> {
    if (watcher) w.nodeArmed = true;
    try {
      const node = await session.get(path, watcher);
      w.data = node;
      return node.stat;
    } catch (err) {
      if (!(err instanceof NoNodeError)) throw err;
    }
    const stat = await session.exists(path, watcher);
    // Created between the two reads: its data is not known yet (the watch was set by exists, and
    // the next change reads it).
    w.data = stat ? undefined : null;
    return stat;
  }

  watchedData(path: string): { data: Buffer; stat: ZkStat } | null | undefined {
    const w = this.watches.get(path);
    return w?.keepData && w.nodeArmed && this.currentState === 'connected' ? w.data : undefined;
  }

  private diff(path: string, w: PersistentWatch, stat: ZkStat | null, nodeNotified = false): void {
    const last = w.lastStat;
    w.lastStat = stat;
    if (last === undefined) return;
    // A watch on a missing node fires only when it is created: missing again at the read means it
    // was created and deleted in between (a heartbeat re-registering while a recursive delete
    // still runs), and a listener that heals on 'deleted' must hear of it.
    if (nodeNotified && !last && !stat) {
      this.emit(path, { type: 'created', path });
      this.emit(path, { type: 'deleted', path });
      return;
    }
    if (last && (!stat || stat.ctime !== last.ctime)) this.emit(path, { type: 'deleted', path });
    if (stat && (!last || stat.ctime !== last.ctime)) {
      this.emit(path, { type: 'created', path });
      return;
    }
    if (!stat || !last) return;
    if (stat.version !== last.version) this.emit(path, { type: 'data', path });
    if (stat.cversion !== last.cversion) this.emit(path, { type: 'children', path });
  }
}
