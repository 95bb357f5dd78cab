import { writeFile, mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { settleWithin } from '@clover/lifecycle';
import { freePort } from './ports.js';
import { spawnProcess, type ChildHandle } from './process.js';
import { tempDir } from './temp.js';
import { waitFor } from './wait.js';

export interface ZooKeeperHandle {
  readonly connectString: string;
  readonly port: number;
  /** Stops the server (SIGTERM) keeping its port and data, e.g. to outlast session timeouts. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  kill(): Promise<void>;
  /** Stops it and removes its data. */
  cleanup(): Promise<void>;
  /**
   * The server's own figures (`mntr`: zk_avg_latency and zk_max_latency in ms, zk_outstanding_requests,
   * zk_num_alive_connections, zk_watch_count, ...), or null when it does not answer within 5 s.
   */
  mntr(): Promise<Record<string, number | string> | null>;
  /** What the running server process printed (its log, WARN and above); '' when it is not running. */
  output(): string;
}

export interface ZooKeeperOptions {
  /** ZooKeeper tick; the shortest session it grants is two ticks. */
  tickTimeMs?: number;
  /** The address it listens on and clients connect to (default 127.0.0.1). */
  host?: string;
  /**
   * The command line that runs the server, given its own (default: as is). A host of a
   * `HostNetwork` (netns.ts) gives its `command`, to run the server in that host's namespace.
   */
  command?: (cmd: string, args: readonly string[]) => [string, string[]];
}

const classpath = '/usr/share/java/*:/usr/share/zookeeper/lib/*';

/**
 * A four-letter word's answer (ZooKeeper Administrator's Guide, "The Four Letter Words"; the
 * server allows `ruok`, `srvr` and `mntr`): the text, or null when no answer came within `timeoutMs`.
 */
function fourLetterWord(host: string, port: number, word: 'ruok' | 'srvr' | 'mntr', timeoutMs = 1000): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    let answer = '';
    socket.setTimeout(timeoutMs);
    socket.on('connect', () => socket.write(word));
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('end', () => resolve(answer));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(null);
    });
    socket.on('error', () => resolve(null));
  });
}

/** Answers ZooKeeper's `ruok` four-letter word: true when the server serves requests. */
const ruok = async (host: string, port: number) => (await fourLetterWord(host, port, 'ruok')) === 'imok';

/** `mntr`'s `key<TAB>value` lines as a record, numbers as numbers; null without an answer. */
async function mntr(host: string, port: number): Promise<Record<string, number | string> | null> {
  const text = await fourLetterWord(host, port, 'mntr', 5000);
  if (!text) return null;
  const out: Record<string, number | string> = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.split('\t');
    if (!key || value === undefined) continue;
    out[key] = value !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  }
  return out;
}

export async function startZooKeeper(opts: ZooKeeperOptions = {}): Promise<ZooKeeperHandle> {
  const dir = await tempDir('clover-zk-');
  const port = await freePort();
  const tick = opts.tickTimeMs ?? 250;
  const host = opts.host ?? '127.0.0.1';
  const command = opts.command ?? ((cmd: string, args: readonly string[]): [string, string[]] => [cmd, [...args]]);
  const dataDir = path.join(dir.path, 'data');
  await mkdir(dataDir, { recursive: true });
  const cfg = path.join(dir.path, 'zoo.cfg');
  await writeFile(
    cfg,
    [
      `tickTime=${tick}`,
      `dataDir=${dataDir}`,
      `clientPort=${port}`,
      `clientPortAddress=${host}`,
      'admin.enableServer=false',
      '4lw.commands.whitelist=ruok,srvr,mntr',
      // Tests use sessions of 1.5–4 s to see expiry quickly.
      `minSessionTimeout=${Math.max(2 * tick, 500)}`,
      'maxSessionTimeout=60000',
      'maxClientCnxns=0',
      'snapCount=100000',
      'forceSync=no',
      '',
    ].join('\n'),
  );
  await writeFile(
    path.join(dir.path, 'log4j.properties'),
    'log4j.rootLogger=WARN, CONSOLE\nlog4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\nlog4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\nlog4j.appender.CONSOLE.layout.ConversionPattern=%d %p %c{1}: %m%n\n',
  );

  let child: ChildHandle | null = null;
  const launch = async () => {
    child = spawnProcess(
      ...command('java', [
        '-Xmx256m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        `-Dlog4j.configuration=file:${path.join(dir.path, 'log4j.properties')}`,
        '-Dzookeeper.admin.enableServer=false',
        '-cp',
        classpath,
        'org.apache.zookeeper.server.ZooKeeperServerMain',
        cfg,
      ]),
      { name: `zookeeper:${port}` },
    );
    const started = child;
    await waitFor(
      async () => {
        if (await ruok(host, port)) return true;
        // Settled by the time a zero-length wait ends only when it has exited already.
        if ((await settleWithin(started.exited, 0)) === 'settled')
          throw new Error(`ZooKeeper exited during start-up:\n${started.output().slice(-3000)}`);
        return false;
      },
      { timeoutMs: 60_000, intervalMs: 100, message: `ZooKeeper on port ${port}` },
    ).catch(async (err: unknown) => {
      // A server that never came up must not stay behind, holding its port and the test run.
      child = null;
      await started.kill('SIGKILL', 10_000).catch(() => undefined);
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${started.output().slice(-3000)}`);
    });
  };
  const halt = async (signal: NodeJS.Signals) => {
    const running = child;
    child = null;
    if (running) await running.kill(signal);
  };

  try {
    await launch();
  } catch (err) {
    await dir.cleanup();
    throw err;
  }
  return {
    connectString: `${host}:${port}`,
    port,
    stop: () => halt('SIGTERM'),
    start: async () => {
      if (!child) await launch();
    },
    kill: () => halt('SIGKILL'),
    mntr: () => mntr(host, port),
    output: () => (child ? child.output() : ''),
    cleanup: async () => {
      await halt('SIGKILL');
      await dir.cleanup();
    },
  };
}
