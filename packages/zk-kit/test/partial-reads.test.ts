import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startZooKeeper } from '@clover/testkit';
import { createZkClient, type ZkConnectionState } from '../src/index.js';

/**
 * A TCP proxy to `port` that hands the server's bytes to the client `chunk` bytes at a time, one
 * chunk per turn of the event loop: the client's socket becomes readable once per chunk, as over
 * a network whose segments arrive one by one (MTU 1500 between hosts, not loopback's 64 KiB).
 */
async function chunkingProxy(port: number, chunk: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    let queue = Promise.resolve();
    upstream.on('data', (data) => {
      queue = queue.then(async () => {
        for (let i = 0; i < data.length && !client.destroyed; i += chunk) {
          client.write(data.subarray(i, i + chunk));
          await new Promise((r) => setTimeout(r, 1));
        }
      });
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

// Found by issue 16's partition runs (e2e/chaos/partitions.test.ts): over a network, every agent
// whose session ended lost each new one within a second, for good ("zookeeper_process returned no
// response too many times"). The npm binding closes a session after 10 readable events in a row
// that completed no response, which is any response of more than about 10 segments that arrive
// one by one: a partial read is not a dead socket.
test('a response that arrives in many small pieces is read whole, and the session lives on', async () => {
  const server = await startZooKeeper();
  const proxy = await chunkingProxy(server.port, 100);
  const direct = createZkClient({ connect: server.connectString, sessionTimeoutMs: 10_000 });
  const slow = createZkClient({ connect: `127.0.0.1:${proxy.port}`, sessionTimeoutMs: 10_000 });
  try {
    await direct.connect();
    // 40 KiB: 400 pieces of 100 bytes.
    const big = 'x'.repeat(40 * 1024);
    await direct.create('/big', big);
    const states: ZkConnectionState[] = [];
    slow.onState((s) => states.push(s));
    await slow.connect();
    const session = slow.sessionId;
    const got = await slow.get('/big');
    assert.equal(got?.data, big);
    assert.equal(slow.sessionId, session, 'the same session');
    assert.deepEqual(states, ['connected'], 'never disconnected nor expired');
  } finally {
    await slow.close();
    await direct.close();
    await proxy.close();
    await server.cleanup();
  }
});
