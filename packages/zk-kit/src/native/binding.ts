import { createRequire } from 'node:module';

/**
 * A callback of the binding's asynchronous calls: the C client's return code, its message, then
 * what the call answers (a path, a stat, data, children), which the caller checks.
 */
export type NativeCallback = (rc: number, error: string, ...results: unknown[]) => void;
/** A one-shot watch of the binding: the event's type and the session state, as C constants. */
export type NativeWatcher = (type: number, state: number, path: string) => void;

/**
 * What clover uses of the npm `zookeeper` C-client binding's callback API. The declarations the
 * package ships describe it loosely (the message as a number, the session id as a number where
 * the binding answers a hex string, `any` everywhere), so this file states the shapes clover
 * relies on; what comes back through them is still checked where it is used.
 */
export interface NativeClient {
  /** The session id, in hex; '0' before the first connection. */
  readonly client_id: string;
  /** The session password, in hex. */
  readonly client_password: string;
  on(event: 'connect' | 'connecting' | 'close', listener: () => void): void;
  init(config: object): void;
  close(): void;
  a_create(path: string, data: Buffer, flags: number, cb: NativeCallback): void;
  a_get(path: string, watch: false, cb: NativeCallback): void;
  aw_get(path: string, watcher: NativeWatcher, cb: NativeCallback): void;
  a_exists(path: string, watch: false, cb: NativeCallback): void;
  aw_exists(path: string, watcher: NativeWatcher, cb: NativeCallback): void;
  a_get_children(path: string, watch: false, cb: NativeCallback): void;
  aw_get_children(path: string, watcher: NativeWatcher, cb: NativeCallback): void;
  a_set(path: string, data: Buffer, version: number, cb: NativeCallback): void;
  a_delete_(path: string, version: number, cb: NativeCallback): void;
  /** `acl` entries name their id `auth`, as the binding's C glue reads them. */
  a_set_acl(path: string, version: number, acl: { perms: number; scheme: string; auth: string }[], cb: NativeCallback): void;
  add_auth(scheme: string, auth: string, cb: NativeCallback): void;
  /** Answers the node's ACL (entries as in a_set_acl) and its stat. */
  a_get_acl(path: string, cb: NativeCallback): void;
}

/** The options of the binding's constructor that clover sets. */
export interface NativeClientOptions {
  connect: string;
  /** Session timeout (ms). */
  timeout: number;
  /** The C client's log level: 1 is ZOO_LOG_LEVEL_ERROR. */
  debug_level: number;
  host_order_deterministic?: boolean;
  data_as_buffer?: boolean;
  /** Joins this session (hex id, as client_id answers) instead of opening a new one. */
  client_id?: string;
  client_password?: string;
  /** Readable events in a row without a whole response before the binding closes the session (its default: 10). */
  response_counter_limit?: number;
}

// The binding is CommonJS: loaded with require, typed by the interfaces above.
const require = createRequire(import.meta.url);
export const NativeZooKeeper = require('zookeeper') as new (options: NativeClientOptions) => NativeClient;
