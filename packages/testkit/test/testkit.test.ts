import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import nodemailer from 'nodemailer';
import { startSmtpSink, startZooKeeper, spawnProcess, waitFor } from '../src/index.js';

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
    assert.deepEqual(all.map((m) => m.subject), ['one', 'three']);
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
  await waitFor(() => {
    try {
      process.kill(grandchild, 0);
      return false;
    } catch {
      return true;
    }
  }, { message: 'grandchild gone' });
});

function fourLetter(port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.on('connect', () => s.write(word));
    s.on('data', (d) => (out += d));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}
