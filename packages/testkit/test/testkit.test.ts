import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import nodemailer from 'nodemailer';
import {
  cleanUp,
  ephemeralPortRange,
  followCursor,
  freePort,
  startSmtpSink,
  startZooKeeper,
  spawnProcess,
  waitFor,
  within,
} from '../src/index.js';

test("freePort answers ports outside the kernel's ephemeral range, never the same twice, each bindable", async () => {
  // A port inside the range could be taken between the pick and the bind by any process's
  // listener on port 0 or outgoing connection (the chaos cluster's console lost its port so).
  const [low, high] = ephemeralPortRange();
  assert.ok(low >= 1024 && high >= low && high <= 65535, `${low}-${high}`);
  const ports: number[] = [];
  for (let i = 0; i < 300; i++) ports.push(await freePort());
  assert.equal(new Set(ports).size, ports.length, 'no port handed out twice');
  for (const port of ports) assert.ok(port >= 10_000 && (port < low || port > high), `${port} outside ${low}-${high}`);
  // Each is free: a listener gets it.
  const port = await freePort();
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  await new Promise((resolve) => server.close(resolve));
});

test('ZooKeeper starts on a free port, stops, and starts again on the same port', async () => {
  const zk = await startZooKeeper();
  try {
    const answer = await fourLetter(zk.port, 'ruok');
    assert.equal(answer, 'imok');
    await zk.stop();
    await assert.rejects(fourLetter(zk.port, 'ruok'));
    await zk.start();
    assert.equal(await fourLetter(zk.port, 'ruok'), 'imok');
  } finally {
    await zk.cleanup();
  }
});

test('the SMTP sink receives mail, refuses it while stopped, and receives it again', async () => {
  const sink = await startSmtpSink();
  const transport = nodemailer.createTransport({ url: sink.url, ignoreTLS: true } as never);
  try {
    await transport.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'one', text: 'hello' });
    const [mail] = await sink.waitForMessages(1);
    assert.equal(mail!.subject, 'one');
    await sink.stop();
    await assert.rejects(transport.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'two', text: 'x' }));
    await sink.start();
    await transport.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'three', text: 'x' });
    const all = await sink.waitForMessages(2);
    assert.deepEqual(
      all.map((m) => m.subject),
      ['one', 'three'],
    );
  } finally {
    transport.close();
    await sink.stop();
  }
});

test('spawnProcess captures output and SIGKILL reaches the whole process group', async () => {
  const child = spawnProcess('sh', ['-c', 'sleep 30 & echo "grandchild $!"; wait']);
  const line = await child.waitForOutput(/grandchild \d+/);
  const grandchild = Number(line.split(' ')[1]);
  assert.equal(await child.kill('SIGKILL'), null);
  await waitFor(
    () => {
      try {
        process.kill(grandchild, 0);
        return false;
      } catch {
        return true;
      }
    },
    { message: 'grandchild gone' },
  );
});

/** Asks ZooKeeper a four-letter word; the server answers and closes, or this fails within 5 s. */
function fourLetter(port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.setTimeout(5000, () => {
      s.destroy();
      reject(new Error(`timed out after 5000 ms waiting for ZooKeeper on port ${port} to answer ${word}`));
    });
    s.on('connect', () => s.write(word));
    s.on('data', (d: Buffer) => (out += d.toString('utf8')));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

test('waitFor fails at its deadline even when a check never settles', async () => {
  const started = Date.now();
  await assert.rejects(
    waitFor(() => new Promise<boolean>(() => undefined), { timeoutMs: 300, message: 'a hung check' }),
    /timed out after 300 ms waiting for a hung check: last error: timed out after \d+ ms waiting for the check to settle/,
  );
  assert.ok(Date.now() - started < 5_000, 'gave up near its deadline');
  let calls = 0;
  assert.equal(await waitFor(() => ++calls >= 3 && 'ok', { intervalMs: 1 }), 'ok');
});

const gone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

test('a child that ignores SIGTERM: kill() gives up at its deadline, says so, and SIGKILLs it', async () => {
  const child = spawnProcess('sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 1; done'], { name: 'stubborn' });
  await child.waitForOutput(/ready/);
  await assert.rejects(child.kill('SIGTERM', 300), /stubborn did not exit within 300 ms of SIGTERM; killed its process group/);
  await waitFor(() => gone(child.pid), { message: 'the stubborn child gone' });
});

test('waitForExit: the exit code with all the output; a child that does not exit fails it and is killed', async () => {
  const quick = spawnProcess('sh', ['-c', 'echo first; echo last; exit 3']);
  assert.equal(await quick.waitForExit(10_000), 3);
  assert.match(quick.output(), /first\nlast/);
  const slow = spawnProcess('sleep', ['30'], { name: 'sleeper' });
  await assert.rejects(slow.waitForExit(200), /sleeper did not exit within 200 ms; killed its process group/);
  assert.ok(gone(slow.pid));
});

test('a child left running does not hold the test process open; it is killed when that process exits', async () => {
  // Another node process spawns `sleep 30`, prints its pid and returns without killing it.
  const index = new URL('../src/index.ts', import.meta.url).href;
  const code = `import { spawnProcess } from ${JSON.stringify(index)}; console.log('sleep pid', spawnProcess('sleep', ['30']).pid);`;
  // Workspace packages (testkit's @clover/lifecycle) resolve to their sources, as in every test.
  const parent = spawnProcess(process.execPath, ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', code], {
    name: 'forgetful',
  });
  assert.equal(await parent.waitForExit(20_000), 0, parent.output());
  const pid = Number(/sleep pid (\d+)/.exec(parent.output())?.[1]);
  assert.ok(pid > 0, parent.output());
  await waitFor(() => gone(pid), { message: `the forgotten sleep (${pid}) killed at exit` });
});

test('within: a value in time passes through; a promise that never settles fails naming what it waited for', async () => {
  assert.equal(await within(Promise.resolve(7), 1000, 'seven'), 7);
  assert.equal(await within(() => 8, 1000, 'eight'), 8);
  await assert.rejects(
    within(new Promise(() => undefined), 100, 'an event that never fires'),
    /timed out after 100 ms waiting for an event that never fires/,
  );
  await assert.rejects(
    within(
      () => {
        throw new Error('at once');
      },
      1000,
      'x',
    ),
    /at once/,
  );
});

test('cleanUp runs every step past one that throws and one that hangs, then names both', async () => {
  const ran: string[] = [];
  await assert.rejects(
    cleanUp(
      [
        [
          'throws',
          () => {
            ran.push('throws');
            throw new Error('boom');
          },
        ],
        [
          'hangs',
          () => {
            ran.push('hangs');
            return new Promise(() => undefined);
          },
        ],
        ['closes', () => void ran.push('closes')],
      ],
      { timeoutMs: 100 },
    ),
    (err: Error) => /throws: boom/.test(err.message) && /hangs: timed out after 100 ms/.test(err.message) && !/closes/.test(err.message),
  );
  assert.deepEqual(ran, ['throws', 'hangs', 'closes']);
  await cleanUp([['fine', () => undefined]]);
});

test('followCursor pages to the end, and fails on a cursor that comes back or never ends', async () => {
  const pages = await followCursor((cursor) =>
    Promise.resolve({
      items: [cursor ?? 'first'],
      nextCursor: cursor === null ? 'a' : cursor === 'a' ? 'b' : null,
    }),
  );
  assert.deepEqual(
    pages.map((p) => p.items[0]),
    ['first', 'a', 'b'],
  );
  await assert.rejects(
    followCursor(() => Promise.resolve({ nextCursor: 'same' }), { what: 'a loop' }),
    /paging through a loop: cursor same came back after 2 pages/,
  );
  let n = 0;
  await assert.rejects(
    followCursor(() => Promise.resolve({ nextCursor: String(++n) }), { maxPages: 5 }),
    /still a next cursor after 5 pages/,
  );
});
