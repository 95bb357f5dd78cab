import { isIP } from 'node:net';

/**
 * Whether a ZeroMQ endpoint stays on this machine: `ipc://` and `inproc://`, and `tcp://` to a
 * loopback address (127.0.0.0/8, ::1, `localhost`). Anything else crosses a network, where the
 * channel needs CURVE (docs/security.md): a dispatch-server binding there refuses to start without
 * it, and an agent refuses to connect there without it.
 *
 * `tcp://*:port` and `tcp://0.0.0.0:port` bind every interface, so they are not local. An endpoint
 * that cannot be parsed is not local either.
 */
export function isLocalEndpoint(endpoint: string): boolean {
  if (endpoint.startsWith('ipc://') || endpoint.startsWith('inproc://')) return true;
  const m = /^tcp:\/\/(?:[^;]*;)?(\[[^\]]+\]|[^:/]+):\d+$/.exec(endpoint);
  if (!m?.[1]) return false;
  const host = m[1].replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./.test(host);
  return false;
}
