import { test } from 'node:test';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { cleanUp, freePort, waitFor } from '@clover/testkit';
import { DealerTransport, RouterTransport } from '@clover/protocol';
import { keysCommand } from '../src/commands/keys.js';

/** Each `# ...` block of `clover keys` output as a lookup of its environment lines; a missing name fails. */
function blocks(text: string): ((name: string) => string)[] {
  return text
    .trim()
    .split('\n\n')
    .map((block) => {
      const env = new Map(
        block
          .split('\n')
          .filter((l) => !l.startsWith('#'))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
      );
      return (name: string) => {
        const value = env.get(name);
        if (value === undefined) throw new Error(`no ${name} in:\n${block}`);
        return value;
      };
    });
}

test('clover keys --agents 2: the lines it prints, set as printed, let those agents and no other talk to the server over CURVE', async () => {
  const lines: string[] = [];
  keysCommand(['--agents', '2'], (l) => lines.push(l));
  const [server, agent1, agent2] = blocks(lines.join('\n'));
  assert.ok(server && agent1 && agent2);
  const z85 = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;
  for (const key of [
    server('CLOVER_CURVE_SECRET_KEY'),
    agent1('CLOVER_CURVE_PUBLIC_KEY'),
    agent1('CLOVER_CURVE_SECRET_KEY'),
    agent2('CLOVER_CURVE_SECRET_KEY'),
  ]) {
    assert.match(key, z85);
  }
  assert.equal(agent1('CLOVER_CURVE_SERVER_KEY'), agent2('CLOVER_CURVE_SERVER_KEY'));
  assert.deepEqual(server('CLOVER_CURVE_ALLOWED_KEYS').split(','), [agent1('CLOVER_CURVE_PUBLIC_KEY'), agent2('CLOVER_CURVE_PUBLIC_KEY')]);

  // The real check: a ZeroMQ ROUTER and DEALERs configured from exactly these lines.
  const port = await freePort();
  const heard: string[] = [];
  const router = new RouterTransport({
    bind: `tcp://127.0.0.1:${port}`,
    onMessage: (peer) => heard.push(peer),
    curve: { secretKey: server('CLOVER_CURVE_SECRET_KEY'), allowedClientKeys: server('CLOVER_CURVE_ALLOWED_KEYS').split(',') },
  });
  const dealers = [agent1, agent2].map(
    (a, i) =>
      new DealerTransport({
        id: `agent-${i + 1}`,
        onMessage: () => undefined,
        curve: {
          publicKey: a('CLOVER_CURVE_PUBLIC_KEY'),
          secretKey: a('CLOVER_CURVE_SECRET_KEY'),
          serverKey: a('CLOVER_CURVE_SERVER_KEY'),
        },
      }),
  );
  try {
    await router.start();
    for (const d of dealers) d.connect(`tcp://127.0.0.1:${port}`);
    await waitFor(
      async () => {
        for (const d of dealers) await d.send({ type: 'PING', body: { nonce: 'k', sentAt: 1 } });
        return heard.includes('agent-1') && heard.includes('agent-2');
      },
      { timeoutMs: 20_000, message: 'both agents heard over CURVE' },
    );
  } finally {
    await cleanUp([...dealers.map((d, i) => [`dealer ${i + 1}`, () => d.close()] as const), ['router', () => router.close()]]);
  }
});

test('clover keys: a new pair every time; bad arguments are a usage error', () => {
  const a: string[] = [];
  const b: string[] = [];
  keysCommand([], (l) => a.push(l));
  keysCommand(['--json'], (l) => b.push(l));
  const json = JSON.parse(b.join('\n')) as { server: { publicKey: string; secretKey: string }; agents: unknown[] };
  assert.equal(json.agents.length, 1);
  assert.ok(!a.join('\n').includes(json.server.secretKey));
  assert.throws(() => keysCommand(['--agents', '0'], () => undefined), /--agents takes a whole number from 1 to 100/);
  assert.throws(() => keysCommand(['--bogus'], () => undefined), /unknown argument "--bogus"/);
});

test('clover keys --compose: the .env lines deploy/compose.yaml reads, every one it asks for', async () => {
  const lines: string[] = [];
  keysCommand(['--agents', '3', '--compose'], (l) => lines.push(l));
  const compose = await readFile(fileURLToPath(new URL('../../../deploy/compose.yaml', import.meta.url)), 'utf8');
  const wanted = new Set([...compose.matchAll(/\$\{(CLOVER_(?:SERVER|AGENT)[A-Z0-9_]*):\?/g)].map((m) => m[1]));
  const given = new Set(lines.map((l) => l.slice(0, l.indexOf('='))));
  assert.deepEqual([...wanted].sort(), [...given].sort());
});
