import * as zmq from 'zeromq';
import { z85Encode } from './z85.js';
import type { Logger } from '@clover/telemetry';

/**
 * The process's ZAP handler (ZeroMQ RFC 27): it answers the CURVE handshakes of every server
 * socket in this process, accepting only the client keys registered for the socket's domain.
 */
const domains = new Map<string, Set<string>>();
let handler: zmq.Router | null = null;

async function serve(sock: zmq.Router, logger: Logger): Promise<void> {
  for await (const frames of sock) {
    // [routing id, empty, version, request id, domain, address, identity, mechanism, ...credentials]
    const [rid, empty, version, requestId, domain, address, , mechanism, key] = frames;
    if (!rid || !empty || !version || !requestId) continue;
    const allowed = domains.get(domain?.toString() ?? '');
    const z85 = mechanism?.toString() === 'CURVE' && key && key.length === 32 ? z85Encode(key) : null;
    const ok = Boolean(allowed && z85 && allowed.has(z85));
    if (!ok) logger.warn('refused a ZeroMQ peer: unknown CURVE key', { domain: domain?.toString(), address: address?.toString() });
    await sock.send([rid, empty, version, requestId, ok ? '200' : '400', ok ? 'OK' : 'unknown key', ok ? (z85 ?? '') : '', '']);
  }
}

export async function allowCurveClients(domain: string, publicKeys: Iterable<string>, logger: Logger): Promise<void> {
  domains.set(domain, new Set(publicKeys));
  if (!handler) {
    handler = new zmq.Router({ linger: 0 });
    await handler.bind('inproc://zeromq.zap.01');
    void serve(handler, logger).catch((err: unknown) => logger.error('ZAP handler stopped', { err }));
  }
}

export function forgetCurveDomain(domain: string): void {
  domains.delete(domain);
  if (domains.size === 0 && handler) {
    handler.close();
    handler = null;
  }
}
