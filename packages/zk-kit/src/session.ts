import type { ZkAclEntry } from './acl.js';
import type { CreateMode, WatchEventType, ZkStat } from './interfaces.js';

/** A one-shot watch, as ZooKeeper itself offers them. */
export type OneShotWatcher = (event: { type: WatchEventType; path: string }) => void;

/** What a backend reports about its one session. */
export interface SessionEvents {
  connected(): void;
  disconnected(): void;
  /** The session is gone for good: its ephemerals and watches with it. */
  expired(): void;
}

/**
 * One ZooKeeper session of a backend, with the server's own primitives: one-shot watches, no
 * JSON, no retries. `SessionClient` builds the friendly client on top of it.
 */
export interface RawSession {
  readonly id: string | null;
  create(path: string, data: Buffer, mode: CreateMode): Promise<string>;
  get(path: string, watcher?: OneShotWatcher): Promise<{ data: Buffer; stat: ZkStat }>;
  exists(path: string, watcher?: OneShotWatcher): Promise<ZkStat | null>;
  children(path: string, watcher?: OneShotWatcher): Promise<string[]>;
  set(path: string, data: Buffer, version: number): Promise<ZkStat>;
  delete(path: string, version: number): Promise<void>;
  /** Sets a node's ACL at ACL version `version` (-1: any); backends without ACLs leave it out. */
  setAcl?(path: string, version: number, acl: ZkAclEntry[]): Promise<void>;
  /** Gives an existing node the ACL this session puts on what it creates; absent without one. */
  claim?(path: string): Promise<void>;
  /** Whether an existing node already has the ACL this session puts on what it creates. */
  isClaimed?(path: string): Promise<boolean>;
  close(): Promise<void>;
  /** Session id and password, where the backend has them (lets a test join and end the session). */
  credentials?(): [string, string] | null;
}

export type SessionFactory = (events: SessionEvents) => RawSession;
