import { readFileSync } from 'node:fs';
import net from 'node:net';

/** Linux's default `net.ipv4.ip_local_port_range`, when the file cannot be read. */
const defaultEphemeral: readonly [number, number] = [32768, 60999];
/** The ports below this are left to services a machine may run (databases, proxies: 1024-9999). */
const lowestPort = 10_000;
/** Ports handed out by this process: two calls in a row never answer the same port. */
const handedOut = new Set<number>();
/** The ephemeral range, read at the first freePort (it is a kernel setting, fixed for a test run). */
let ephemeral: [number, number] | undefined;

/**
 * The kernel's ephemeral range, `[low, high]`, from /proc/sys/net/ipv4/ip_local_port_range
 * (Linux), else Linux's default 32768-60999.
 */
export function ephemeralPortRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && high && low <= high) return [low, high];
  } catch {
    // Not Linux, or no /proc: the default below.
  }
  return [...defaultEphemeral];
}

/** Whether a TCP listener can bind `port` on 127.0.0.1 now. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port that was free on 127.0.0.1 a moment ago, for a server a test starts next.
 *
 * Chosen at random outside the kernel's ephemeral range (ephemeralPortRange; from 10,000 up,
 * below and above it), never one this process handed out before. A port the kernel picked (a
 * listener on port 0) came from the ephemeral range, and so do the local ports of every outgoing
 * connection and of every process listening on port 0: between the pick and the server's bind,
 * any of those could take it. The chaos cluster's console lost its port so (EADDRINUSE) to one
 * of the nine processes started before it, each with its /metrics on port 0 and connections of
 * its own.
 *
 * @throws Error when 200 random ports in a row cannot be bound (a machine out of free ports).
 */
export async function freePort(): Promise<number> {
  const [low, high] = (ephemeral ??= ephemeralPortRange());
  const below = Math.max(0, low - lowestPort);
  const above = Math.max(0, 65535 - high);
  if (below + above === 0) throw new Error(`no port outside the ephemeral range ${low}-${high} from ${lowestPort} up`);
  for (let attempt = 0; attempt < 200; attempt++) {
    const i = Math.floor(Math.random() * (below + above));
    const port = i < below ? lowestPort + i : high + 1 + (i - below);
    if (handedOut.has(port)) continue;
    if (await canBind(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port on 127.0.0.1 outside the ephemeral range ${low}-${high} after 200 tries`);
}
