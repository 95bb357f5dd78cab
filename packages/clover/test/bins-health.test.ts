import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cleanUp,
  freePort,
  scrapeMetrics,
  spawnProcess,
  startZooKeeper,
  tempDir,
  waitFor,
  type ChildHandle,
  type TempDir,
  type ZooKeeperHandle,
} from '@clover/testkit';

/*
 * Each deployable as its own process (dispatch-server, agent, monitor, console), as a container
 * runs it: /healthz answers, /readyz says ready once its dependencies are, and not ready (503,
 * naming the zookeeper check) while ZooKeeper is down, alive all the while; ready again when
 * ZooKeeper is back. /metrics is valid exposition with the process metrics.
 */

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bins = {
  'dispatch-server': 'packages/dispatch-server/src/bin.ts',
  agent: 'packages/scheduler-client/src/bin.ts',
  monitor: 'packages/monitor/src/bin.ts',
  console: 'packages/console-api/src/bin.ts',
} as const;
type Bin = keyof typeof bins;

let zk: ZooKeeperHandle | undefined;
let dir: TempDir | undefined;
const children: ChildHandle[] = [];
/** Each bin's base URL for /healthz, /readyz and /metrics. */
const urls = new Map<Bin, string>();

interface Ready {
  status: number;
  body: { ready: boolean; checks: Record<string, string> };
}

async function readyz(bin: Bin): Promise<Ready | null> {
  try {
    const res = await fetch(`${urls.get(bin)}/readyz`, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: (await res.json()) as Ready['body'] };
  } catch {
    return null;
  }
}

/** Waits until the bin's /readyz answer meets `want`; on a timeout, says what it answered last and what the bin printed. */
async function untilReadyz(bin: Bin, want: string, ok: (r: Ready) => boolean, timeoutMs: number): Promise<Ready> {
  let last: Ready | null = null;
  try {
    await waitFor(
      async () => {
        last = await readyz(bin);
        return last !== null && ok(last);
      },
      { timeoutMs, message: `${bin} /readyz ${want}` },
    );
  } catch (err) {
    const output =
      children
        .find((c) => c.name === bin)
        ?.output()
        .slice(-3000) ?? '';
    throw new Error(`${(err as Error).message} (last answer: ${JSON.stringify(last)}); its output:\n${output}`);
  }
  return last as unknown as Ready;
}

async function allReady(timeoutMs: number): Promise<void> {
  for (const bin of Object.keys(bins) as Bin[]) await untilReadyz(bin, 'ready', (r) => r.status === 200, timeoutMs);
}

before(async () => {
  zk = await startZooKeeper();
  dir = await tempDir('clover-bins-health-');
  const common = {
    CLOVER_ZK: zk.connectString,
    CLOVER_DATA_DIR: dir.path,
    CLOVER_ZK_SESSION_TIMEOUT_MS: '20000',
    CLOVER_HEARTBEAT_MS: '500',
    CLOVER_METRICS_HOST: '127.0.0.1',
  };
  for (const bin of Object.keys(bins) as Bin[]) {
    const port = await freePort();
    const own: Record<string, string> =
      bin === 'console'
        ? { CLOVER_HTTP_PORT: String(port), CLOVER_HTTP_HOST: '127.0.0.1', CLOVER_ADMIN_PASSWORD: 'bins-health-test-pw' }
        : { CLOVER_METRICS_PORT: String(port) };
    if (bin === 'dispatch-server') own.CLOVER_DISPATCH_BIND = `tcp://127.0.0.1:${await freePort()}`;
    urls.set(bin, `http://127.0.0.1:${port}`);
    children.push(
      spawnProcess(process.execPath, ['--conditions=source', '--import', 'tsx', bins[bin]], {
        name: bin,
        cwd: repo,
        env: { ...common, ...own, CLOVER_NODE_ID: `health-${bin}` },
      }),
    );
  }
});

after(() =>
  cleanUp([
    ...children.map((c): [string, () => Promise<unknown>] => [c.name, () => c.kill('SIGTERM')]),
    ['ZooKeeper', () => zk?.cleanup()],
    ['temp dir', () => dir?.cleanup()],
  ]),
);

test('each bin: /healthz alive, /readyz ready with its checks named, /metrics valid exposition', async () => {
  await allReady(120_000);
  const checks: Record<Bin, string[]> = {
    'dispatch-server': ['zookeeper', 'store'],
    agent: ['zookeeper', 'leader'],
    monitor: ['zookeeper', 'store'],
    console: ['zookeeper', 'store'],
  };
  for (const bin of Object.keys(bins) as Bin[]) {
    assert.equal((await fetch(`${urls.get(bin)}/healthz`)).status, 200, bin);
    const r = await readyz(bin);
    assert.deepEqual(Object.keys(r?.body.checks ?? {}).sort(), [...checks[bin]].sort(), bin);
    const scrape = await scrapeMetrics(`${urls.get(bin)}/metrics`);
    assert.ok(scrape.total('process_cpu_user_seconds_total') > 0, `${bin}: process metrics`);
  }
  const dispatch = await scrapeMetrics(`${urls.get('dispatch-server')}/metrics`);
  assert.equal(dispatch.total('clover_dispatch_leader'), 1, 'the only dispatch-server leads');
  assert.equal((await scrapeMetrics(`${urls.get('agent')}/metrics`)).total('clover_agent_leader_connected'), 1);
  assert.equal((await scrapeMetrics(`${urls.get('monitor')}/metrics`)).total('clover_monitor_nodes', { state: 'alive' }), 3);
});

test('ZooKeeper down: every bin alive but not ready, naming the zookeeper check; ready again once it is back', async () => {
  await allReady(120_000);
  await zk!.stop();
  try {
    for (const bin of Object.keys(bins) as Bin[]) {
      const r = await untilReadyz(bin, 'not ready on zookeeper', (a) => a.status === 503 && a.body.checks.zookeeper !== 'ok', 30_000);
      assert.equal(r.body.ready, false);
      assert.equal((await fetch(`${urls.get(bin)}/healthz`)).status, 200, `${bin} is alive all the while`);
    }
    const dispatch = await scrapeMetrics(`${urls.get('dispatch-server')}/metrics`);
    assert.equal(dispatch.total('clover_zookeeper_session_state', { state: 'connected' }), 0);
  } finally {
    await zk!.start();
  }
  await allReady(120_000);
});
