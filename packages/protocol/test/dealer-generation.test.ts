import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, waitFor } from '@clover/testkit';
import { DealerTransport, RouterTransport, type Message } from '../src/index.js';

test('a leader lost and found again in one turn (A → none → A) gets one socket, under the routing id', async () => {
  const port = await freePort();
  const inbox: Array<[string, Message]> = [];
  const router = new RouterTransport({ bind: `tcp://127.0.0.1:${port}`, onMessage: (p, m) => inbox.push([p, m]) });
  await router.start();
  const dealer = new DealerTransport({ id: 'agent-g', onMessage: () => undefined });
  try {
    const endpoint = `tcp://127.0.0.1:${port}`;
    dealer.connect(endpoint);
    dealer.connect(null);
    dealer.connect(endpoint);
    for (let i = 0; i < 3; i++) await dealer.send({ type: 'PONG', body: { nonce: `n${i}`, sentAt: i } });
    await waitFor(() => inbox.length === 3, { timeoutMs: 5000, message: 'three messages' });
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      inbox.map(([peer]) => peer),
      ['agent-g', 'agent-g', 'agent-g'],
      'from the routing id, not from a stranger the ROUTER named for a second socket',
    );
    assert.equal(inbox.length, 3);
  } finally {
    await dealer.close();
    await router.close();
  }
});
