import { secureCreated, type ZkAclEntry, type ZkCredentials } from '../acl.js';
import { BadVersionError, ConnectionLossError, NoAuthError, NodeExistsError, NoNodeError, NotEmptyError, ZkError } from '../errors.js';
import type { WatchEventType, ZkStat } from '../interfaces.js';
import type { OneShotWatcher, RawSession, SessionEvents } from '../session.js';
import { NativeZooKeeper, type NativeCallback } from './binding.js';

const C = {
  ZOK: 0,
  ZCONNECTIONLOSS: -4,
  ZOPERATIONTIMEOUT: -7,
  ZNONODE: -101,
  ZNOAUTH: -102,
  ZBADVERSION: -103,
  ZNODEEXISTS: -110,
  ZNOTEMPTY: -111,
  ZSESSIONEXPIRED: -112,
  ZCLOSING: -116,
  EPHEMERAL: 1,
  SEQUENCE: 2,
  CREATED: 1,
  DELETED: 2,
  CHANGED: 3,
  CHILD: 4,
  EXPIRED_STATE: -112,
} as const;

interface NativeStat {
  version: number;
  cversion: number;
  ctime: Date | number;
  mtime: Date | number;
  ephemeralOwner: string;
  numChildren: number;
  dataLength: number;
}

function toStat(s: NativeStat): ZkStat {
  return {
    version: s.version,
    cversion: s.cversion,
    ctime: s.ctime instanceof Date ? s.ctime.getTime() : s.ctime,
    mtime: s.mtime instanceof Date ? s.mtime.getTime() : s.mtime,
    ephemeralOwner: s.ephemeralOwner === '0000000000000000' || !s.ephemeralOwner ? '0' : s.ephemeralOwner,
    numChildren: s.numChildren,
    dataLength: s.dataLength,
  };
}

function toError(rc: number, message: string, path: string): Error {
  switch (rc) {
    case C.ZNOAUTH:
      return new NoAuthError(path);
    case C.ZNONODE:
      return new NoNodeError(path);
    case C.ZNODEEXISTS:
      return new NodeExistsError(path);
    case C.ZBADVERSION:
      return new BadVersionError(path);
    case C.ZNOTEMPTY:
      return new NotEmptyError(path);
    case C.ZCONNECTIONLOSS:
    case C.ZOPERATIONTIMEOUT:
    case C.ZSESSIONEXPIRED:
    case C.ZCLOSING:
      return new ConnectionLossError(path);
    default:
      return new ZkError(String(rc), message || `ZooKeeper error ${rc}`, path);
  }
}

/** What a binding call that threw at once is rejected with: a closed handle is a lost connection. */
function thrownError(err: unknown, path: string): Error {
  if (!(err instanceof Error)) return new ZkError('THROWN', String(err), path);
  return /closed|invalid state/i.test(err.message) ? new ConnectionLossError(path) : err;
}

const eventTypes: Record<number, WatchEventType> = {
  [C.CREATED]: 'created',
  [C.DELETED]: 'deleted',
  [C.CHANGED]: 'data',
  [C.CHILD]: 'children',
};

/** One session of the real ZooKeeper through the npm `zookeeper` C-client binding. */
/** Who a native session is and what it puts on the nodes it creates; none: the open ACL of old. */
export interface NativeSecurity {
  credentials: ZkCredentials;
  acl: ZkAclEntry[];
}

/**
 * One session of the real ZooKeeper. With `security`, the session authenticates (digest) before
 * its first request (the C client sends queued auth ahead of requests, and again on every
 * reconnect of this session), and every node it creates gets `security.acl` (see secureCreated).
 */
/** Whether the binding's answer to a_get_acl (entries naming their id `auth`) is exactly `mine`, in any order. */
function sameAcl(answer: unknown, mine: ZkAclEntry[]): boolean {
  if (!Array.isArray(answer) || answer.length !== mine.length) return false;
  const key = (scheme: unknown, id: unknown, perms: unknown) => `${String(scheme)}:${String(id)}:${String(perms)}`;
  const theirs = new Set(
    answer.map((e: unknown) => {
      const { scheme, auth, perms } = (e ?? {}) as { scheme?: unknown; auth?: unknown; perms?: unknown };
      return key(scheme, auth, perms);
    }),
  );
  return mine.every((e) => theirs.has(key(e.scheme, e.id, e.perms)));
}

/**
 * How many turns of the event loop in a row may end without a whole response before the binding
 * gives the session up as expired (its `response_counter_limit`; the binding's default is 10):
 * never, in practice. Every poll event that completes no response counts, a partial read as much as
 * a writable socket while the client waits for a server's answer, and a turn is microseconds:
 *   - at 10, any response of more than about 10 TCP segments arriving one at a time killed the
 *     session (issue 16's partition runs; test/partial-reads.test.ts);
 *   - at 16,384 (a few hundred ms of turns), after a 2-s cut of ZooKeeper's host an agent lost
 *     every new session within a second, 14 in 23 s ("no response too many times: 16385" each
 *     time, a dead-node incident each), whenever the server's answer to its connect took longer.
 * The C client bounds a connection that stays silent on its own (no bytes for 2/3 of the session
 * timeout: it reconnects, and the session expires at the server's word), which is the rule
 * ZooKeeper defines; this count only ever cut that short.
 */
const partialReadLimit = 2_147_483_647;

export function openNativeSession(connect: string, sessionTimeoutMs: number, events: SessionEvents, security?: NativeSecurity): RawSession {
  const zk = new NativeZooKeeper({
    connect,
    timeout: sessionTimeoutMs,
    debug_level: 1, // ZOO_LOG_LEVEL_ERROR: the C client is chatty on every reconnect
    response_counter_limit: partialReadLimit,
    host_order_deterministic: false,
    data_as_buffer: true,
  });
  let closing = false;
  // Handed on in a turn of their own, in order: inside the addon's callback another native addon
  // fails (a ZeroMQ socket made there threw EINVAL, so an agent following a leader died when
  // ZooKeeper went down and its leader watch reconnected its socket).
  const later = (fn: () => void) => void setImmediate(fn);
  zk.on('connect', () => later(() => events.connected()));
  zk.on('connecting', () => later(() => events.disconnected()));
  // Calls still unanswered when the handle goes: the binding never calls them back, and whoever
  // awaits one would wait for ever (issue 16's chaos run: a dispatch-server paused past its
  // session had a heartbeat write pending; every later beat queued behind it, so its new
  // session never registered and the monitor declared it dead while it led).
  const pending = new Set<(err: Error) => void>();
  const failPending = () => {
    for (const fail of [...pending]) fail(new ConnectionLossError('(session ended)'));
    pending.clear();
  };
  zk.on('close', () => {
    later(failPending);
    if (!closing) later(() => events.expired());
  });
  zk.init({});
  if (security) {
    // Never logged: the C client is told the secret, and only the ACL's digest goes to the server's nodes.
    zk.add_auth('digest', `${security.credentials.user}:${security.credentials.password}`, () => undefined);
  }

  const call = <T>(fn: (cb: NativeCallback) => void, path: string, pick: (...rest: unknown[]) => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const fail = (err: Error) => reject(err);
      pending.add(fail);
      try {
        fn((rc, error, ...rest) => {
          pending.delete(fail);
          if (rc === C.ZOK) resolve(pick(...rest));
          else reject(toError(rc, error, path));
        });
      } catch (err) {
        pending.delete(fail);
        reject(thrownError(err, path));
      }
    });
  const wrap = (watcher: OneShotWatcher) => (type: number, _state: number, path: string) => {
    const t = eventTypes[type];
    if (t) watcher({ type: t, path });
  };

  const setAcl = (path: string, version: number, acl: ZkAclEntry[]) =>
    call(
      (cb) =>
        zk.a_set_acl(
          path,
          version,
          acl.map((e) => ({ perms: e.perms, scheme: e.scheme, auth: e.id })),
          cb,
        ),
      path,
      () => undefined,
    );
  const session: RawSession = {
    setAcl,
    get id() {
      const id = zk.client_id;
      return id && id !== '0' ? id : null;
    },
    create: (path, data, mode) => {
      const flags = (mode.startsWith('ephemeral') ? C.EPHEMERAL : 0) | (mode.endsWith('sequential') ? C.SEQUENCE : 0);
      return call<string>(
        (cb) => zk.a_create(path, data, flags, cb),
        path,
        (p) => p as string,
      );
    },
    get: (path, watcher) =>
      call(
        (cb) => (watcher ? zk.aw_get(path, wrap(watcher), cb) : zk.a_get(path, false, cb)),
        path,
        (stat, data) => ({
          stat: toStat(stat as NativeStat),
          // data_as_buffer: a Buffer, or null for a node without data (a string only if that were off).
          data: Buffer.isBuffer(data) ? data : typeof data === 'string' ? Buffer.from(data) : Buffer.alloc(0),
        }),
      ),
    exists: (path, watcher) =>
      new Promise<ZkStat | null>((resolve, reject) => {
        const cb: NativeCallback = (rc, error, stat) => {
          if (rc === C.ZOK) resolve(toStat(stat as NativeStat));
          else if (rc === C.ZNONODE) resolve(null);
          else reject(toError(rc, error, path));
        };
        try {
          if (watcher) zk.aw_exists(path, wrap(watcher), cb);
          else zk.a_exists(path, false, cb);
        } catch (err) {
          reject(err instanceof Error ? err : thrownError(err, path));
        }
      }),
    children: (path, watcher) =>
      call(
        (cb) => (watcher ? zk.aw_get_children(path, wrap(watcher), cb) : zk.a_get_children(path, false, cb)),
        path,
        // A node without children may answer null rather than an empty list.
        (kids) => (Array.isArray(kids) ? (kids as string[]) : []),
      ),
    set: (path, data, version) =>
      call(
        (cb) => zk.a_set(path, data, version, cb),
        path,
        (stat) => toStat(stat as NativeStat),
      ),
    delete: (path, version) =>
      call(
        (cb) => zk.a_delete_(path, version, cb),
        path,
        () => undefined,
      ),
    credentials: () => (zk.client_id ? [zk.client_id, zk.client_password] : null),
    close: () => {
      if (!closing) {
        closing = true;
        try {
          zk.close();
        } catch {
          /* already closed by expiry */
        }
        failPending();
      }
      return Promise.resolve();
    },
  };
  if (!security) return session;
  const primitives = {
    setAcl,
    exists: (path: string) => session.exists(path),
    set: (path: string, data: Buffer, version: number) => session.set(path, data, version),
    children: (path: string) => session.children(path),
    delete: (path: string, version: number) => session.delete(path, version),
  };
  return {
    ...session,
    get id() {
      return session.id;
    },
    claim: (path) => setAcl(path, -1, security.acl),
    // The npm binding frees the ACL of a get_acl answer without looking: one for a node that is
    // not there (ZNONODE, acl NULL) is a segfault (zookeeper 7.3.0, src/node-zk.cpp,
    // acl_completion), which killed a dispatch-server started with credentials against a fresh
    // ZooKeeper. So a node is looked for first, and only an ephemeral's own session (which made
    // it with its ACL, secureCreated) can race its removal in between: those are never asked.
    isClaimed: async (path) => {
      const stat = await session.exists(path);
      if (!stat) throw new NoNodeError(path);
      if (stat.ephemeralOwner !== '0') return true;
      return call(
        (cb) => zk.a_get_acl(path, cb),
        path,
        (acl) => sameAcl(acl, security.acl),
      );
    },
    create: async (path, data, mode) => {
      const created = await session.create(path, data, mode);
      await secureCreated(primitives, created, data, security.acl);
      return created;
    },
  };
}
