import type { Logger } from '@clover/telemetry';
import type { ZodType } from 'zod';
import type { ZkCredentials } from './acl.js';

export type ZkConnectionState = 'connected' | 'disconnected' | 'expired' | 'closed';
export type CreateMode = 'persistent' | 'ephemeral' | 'persistent_sequential' | 'ephemeral_sequential';

export interface ZkStat {
  version: number;
  cversion: number;
  ctime: number;
  mtime: number;
  /** '0' when the node is persistent. */
  ephemeralOwner: string;
  numChildren: number;
  dataLength: number;
}

export type WatchEventType = 'created' | 'data' | 'children' | 'deleted';
export interface WatchEvent {
  type: WatchEventType;
  path: string;
}

export interface ZkClient {
  readonly sessionId: string | null;
  readonly state: ZkConnectionState;
  /** Resolves once the first session is connected. */
  connect(): Promise<void>;
  /** Ends the session (its ephemerals go); safe to call twice. */
  close(): Promise<void>;
  onState(listener: (state: ZkConnectionState) => void): () => void;
  /** Creates a node holding `data` as JSON; returns its real path (sequential nodes get a suffix). */
  create(path: string, data?: unknown, mode?: CreateMode): Promise<string>;
  get<T = unknown>(path: string, schema?: ZodType<T>): Promise<{ data: T; stat: ZkStat } | null>;
  getRaw(path: string): Promise<{ data: Buffer; stat: ZkStat } | null>;
  /** Writes JSON data; BadVersionError when `expectedVersion` (if given) is not the node's version. */
  set(path: string, data: unknown, expectedVersion?: number): Promise<ZkStat>;
  setRaw(path: string, data: Buffer, expectedVersion?: number): Promise<ZkStat>;
  delete(path: string, opts?: { version?: number; recursive?: boolean }): Promise<void>;
  exists(path: string): Promise<ZkStat | null>;
  children(path: string): Promise<string[]>;
  /** Creates every missing persistent node along the path. */
  ensurePath(path: string): Promise<void>;
  /**
   * Gives every node under `root` (itself included) the ACL this client puts on what it creates,
   * for a tree made before clover had credentials (or by a process without them): without it,
   * the folders made back then stay open to anyone. Nodes that vanish meanwhile are skipped, and
   * so is a subtree whose root already has the ACL (children are claimed before their parent, so
   * such a subtree is clover's throughout): a start after the first reads one ACL, not the tree.
   * A client without credentials, or the in-process tree, changes nothing.
   * @returns how many nodes were given the ACL.
   * @throws {NoAuthError} for a node someone else has locked: remove it as ZooKeeper's super user.
   */
  claimTree(root: string): Promise<number>;
  /**
   * A persistent subscription to a path: created, data, children and deleted events. It re-arms
   * itself after every event and after reconnects and session expiry (then it also emits `data`
   * and `children` once, since changes may have been missed while no session was watching).
   * With `{ children: false }` it sets no children watch: a round trip less at every (re-)arm,
   * for a leaf whose children nobody reads (a partition's owner znode); `children` events may
   * then still come, but only from changes seen at a read, never by notification.
   */
  watch(path: string, listener: (event: WatchEvent) => void, opts?: WatchOptions): Unsubscribe;
  /**
   * The data and stat a `{ data: true }` watch on `path` read when it last armed: as fresh as a
   * read made then, and re-read at every change it hears. null: absent at that read; undefined:
   * not known (no such watch, not armed yet, or the connection dropped since): read the node.
   * A write conditioned on the stat's version is as safe with it as with a read of one's own.
   */
  watchedData(path: string): { data: Buffer; stat: ZkStat } | null | undefined;
}

/** How `ZkClient.watch` watches. */
export interface WatchOptions {
  /** Whether to watch the node's children too (default true). A path watched with and without them is watched with them. */
  children?: boolean;
  /**
   * Whether to arm the node watch with a read of its data (`get`, or `exists` while it is absent)
   * and keep it for `watchedData` (default false): one round trip where a watch and a read of
   * one's own take two.
   */
  data?: boolean;
}

/** Stops a watch; `ready` resolves once the watch is armed and has read the node's state. */
export type Unsubscribe = (() => void) & { ready: Promise<void> };

export interface ZkClientOptions {
  /** 'host:port[,host:port]' for ZooKeeper; 'memory' or 'memory:<name>' for the in-process tree. */
  connect: string;
  sessionTimeoutMs?: number;
  logger?: Logger;
  /**
   * Clover's identity in ZooKeeper (digest scheme; the `CLOVER_ZK_AUTH` setting). With it, the
   * client authenticates every session, and every node it creates is readable and writable by this
   * identity only (see `cloverAcl`), so a ZooKeeper client without the password can create,
   * change or delete nothing under clover's root. Without it: the open ACL (anyone may). Ignored
   * by the in-process tree. Default none.
   */
  auth?: ZkCredentials;
  /** With `auth`, also let anyone read (never write) clover's nodes, for monitoring tools (default false). */
  worldReadable?: boolean;
}

export type NodeKind = 'servers' | 'clients' | 'monitors';

export interface NodeRecord {
  kind: NodeKind;
  id: string;
  path: string;
  data: Record<string, unknown>;
  stat: ZkStat;
}

export interface ClusterConfig {
  heartbeatIntervalMs: number;
  deadTimeoutMs: Record<NodeKind, number>;
  /**
   * After a mail about a subject (a node, a job), no other mail about it for this long, in ms.
   * Absent: each monitor's own setting (CLOVER_QUIET_PERIOD_MS, default 300,000).
   */
  quietPeriodMs?: number;
  /**
   * Incidents opened within this long of each other go out as one digest mail, in ms. Absent:
   * each monitor's own setting (CLOVER_DIGEST_WINDOW_MS, default 2,000).
   */
  digestWindowMs?: number;
  /** The language of incident mails for a contact who names none: `en` or `zh`. Absent: English. */
  language?: 'en' | 'zh';
}

export interface JobChange {
  seq: number;
  jobId: string;
  op: 'upsert' | 'delete' | 'trigger';
  at: string;
}
