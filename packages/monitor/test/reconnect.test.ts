import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Heartbeat } from '@clover/heartbeat';
import { openStore } from '@clover/store';
import { noopLogger } from '@clover/telemetry';
import { cleanUp, startSmtpSink, tempDir, waitFor, type CleanupStep } from '@clover/testkit';
import { MemoryZkServer, cloverPaths, createZkClient, writeClusterConfig } from '@clover/zk-kit';
import { Monitor, createMailer } from '../src/index.js';

// A node's silence is measured on the monitor's monotonic clock; its sight, regained after a
// reconnect, was once given on the wall clock: every node's last beat then lay decades ahead,
// and no hung node known before the reconnect was ever called dead.
test('after its ZooKeeper connection comes back, the monitor still finds a hung node it knew before dead', async () => {
  const opened: CleanupStep[] = [];
  try {
    const name = `monitor-reconnect-${process.pid}`;
    const connect = `memory:${name}`;
    const paths = cloverPaths('/clover');
    const dir = await tempDir('clover-monitor-reconnect-');
    opened.push(['temp dir', () => dir.cleanup()]);
    const store = await openStore({ dataDir: dir.path });
    opened.push(['store', () => store.close()]);
    const sink = await startSmtpSink();
    opened.push(['SMTP sink', () => sink.stop()]);
    const admin = createZkClient({ connect });
    opened.push(['admin', () => admin.close()]);
    await admin.connect();
    await writeClusterConfig(admin, paths, { heartbeatIntervalMs: 200, deadTimeoutMs: { servers: 1500, clients: 1500, monitors: 1500 } });
    const zk = createZkClient({ connect });
    opened.push(['monitor zk', () => zk.close()]);
    const monitor = new Monitor({
      zk,
      paths,
      store,
      mailer: createMailer({ smtpUrl: sink.url, from: 'clover@test', store }),
      logger: noopLogger,
      id: 'monitor-r',
      heartbeatIntervalMs: 200,
      quietPeriodMs: 0,
    });
    opened.push(['monitor', () => monitor.close()]);
    await monitor.start();
    await waitFor(() => monitor.isActive, { message: 'active' });
    // A node that beats only when the test writes its beat, as a hung process's session keeps
    // its znode: once the test stops, nothing writes or re-creates it.
    const nodeZk = createZkClient({ connect });
    opened.push(['node zk', () => nodeZk.close()]);
    await nodeZk.connect();
    const shape = new Heartbeat({ zk: nodeZk, paths, kind: 'clients', id: 'agent-r', version: 't' }).snapshot();
    const nodePath = paths.node('clients', 'agent-r');
    await nodeZk.ensurePath(paths.nodesOf('clients'));
    await nodeZk.create(nodePath, { ...shape, seq: 1 }, 'ephemeral');
    for (let seq = 2; seq <= 4; seq++) {
      await new Promise((r) => setTimeout(r, 200));
      await nodeZk.set(nodePath, { ...shape, seq });
    }
    // A blip: disconnected, then connected again in the same session (no new election, no reset).
    const states: string[] = [];
    zk.onState((st) => states.push(st));
    MemoryZkServer.get(name).interruptSession(zk.sessionId!, 300);
    await waitFor(() => states.includes('disconnected') && zk.state === 'connected', { message: 'back in the same session' });
    const incident = await waitFor(() => store.incidents.findOpen('node_dead', 'agent-r'), {
      timeoutMs: 15_000,
      message: 'the hung node declared dead',
    });
    assert.equal(incident.details.reason, 'silent');
  } finally {
    await cleanUp(opened.reverse());
  }
});
