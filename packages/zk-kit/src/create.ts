import { cloverAcl } from './acl.js';
import { SessionClient } from './client.js';
import type { ZkClient, ZkClientOptions } from './interfaces.js';
import { MemoryZkServer } from './memory/tree.js';
import { openNativeSession } from './native/session.js';

/** The one entry point: a real ZooKeeper for 'host:port', the in-process tree for 'memory[:name]'. */
export function createZkClient(opts: ZkClientOptions): ZkClient {
  const connect = opts.connect.trim();
  if (!connect) throw new Error('ZooKeeper connect string is empty');
  if (connect === 'memory' || connect.startsWith('memory:')) {
    const server = MemoryZkServer.get(connect.slice('memory:'.length) || 'default');
    return new SessionClient((events) => server.openSession(events), { logger: opts.logger });
  }
  if (!/^[^\s,]+:\d+(,[^\s,]+:\d+)*(\/[^\s]*)?$/.test(connect)) {
    throw new Error(`ZooKeeper connect string must be host:port[,host:port], got "${connect}"`);
  }
  const timeout = opts.sessionTimeoutMs ?? 10_000;
  const security = opts.auth ? { credentials: opts.auth, acl: cloverAcl(opts.auth, { worldReadable: opts.worldReadable }) } : undefined;
  return new SessionClient((events) => openNativeSession(connect, timeout, events, security), {
    logger: opts.logger,
    sessionTimeoutMs: timeout,
  });
}
