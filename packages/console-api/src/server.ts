import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createConsoleApp, type ConsoleAppOptions } from './app.js';
import { ensureClusterConfig } from './routes/settings.js';

export interface ConsoleServerOptions extends ConsoleAppOptions {
  port: number;
  host?: string;
}

export interface RunningConsole {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves the console on `port`; first writes /clover/config with its defaults if no one has yet. */
export async function startConsoleServer(o: ConsoleServerOptions): Promise<RunningConsole> {
  if (await ensureClusterConfig(o.zk, o.paths)) o.logger.info('cluster settings written with their defaults', { path: o.paths.config });
  const app = createConsoleApp(o);
  const host = o.host ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(o.port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return {
    url: `http://${shown}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Browsers keep idle connections open; a drain must not wait on them.
        server.closeIdleConnections();
        setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, 2000).unref();
      }),
  };
}
