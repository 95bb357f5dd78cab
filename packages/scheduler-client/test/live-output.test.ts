import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode, LIMITS, type Output } from '@clover/protocol';
import { waitFor } from '@clover/testkit';
import { OutputPump } from '../src/live-output.js';

test('what an execution prints within one interval goes out as one OUTPUT frame, seq counting from 1', async () => {
  const sent: Output[] = [];
  const pump = new OutputPump('job@1', (o) => sent.push(o), 20);
  for (let i = 1; i <= 100; i++) pump.push(`line${i}\n`);
  await waitFor(() => sent.length === 1, { message: 'the first frame' });
  pump.push('more\n');
  await waitFor(() => sent.length === 2, { message: 'the second frame' });
  pump.stop();
  assert.deepEqual(
    sent.map((o) => o.seq),
    [1, 2],
  );
  assert.equal(sent[0]?.chunk, Array.from({ length: 100 }, (_, i) => `line${i + 1}\n`).join(''));
  assert.equal(sent[1]?.chunk, 'more\n');
});

test('more than a chunk holds in one interval: its end goes, after a line saying how much was skipped, within the bound', async () => {
  const sent: Output[] = [];
  const pump = new OutputPump('job@1', (o) => sent.push(o), 20);
  const big = '€'.repeat(LIMITS.outputChunkBytes * 3);
  pump.push(big);
  pump.push('the end\n');
  await waitFor(() => sent.length === 1, { message: 'the frame' });
  pump.stop();
  const chunk = sent[0]!.chunk;
  assert.ok(Buffer.byteLength(chunk) <= LIMITS.outputChunkBytes, 'within the bound');
  assert.match(chunk, /^…\[\d+ chars skipped\]\n€+the end\n$/);
  const skipped = Number(/^…\[(\d+)/.exec(chunk)?.[1]);
  assert.equal(skipped + chunk.length - chunk.indexOf('\n') - 1, big.length + 'the end\n'.length, 'skipped and kept add up to what came');
  // The frame passes the protocol's own schema.
  assert.deepEqual(decode(encode({ type: 'OUTPUT', body: sent[0]! })).body, sent[0]);
});

test('after stop() nothing more is sent: the RESULT carries how the output ended', async () => {
  const sent: Output[] = [];
  const pump = new OutputPump('job@1', (o) => sent.push(o), 10);
  pump.push('before stop\n');
  pump.stop();
  pump.push('after stop\n');
  // A frame armed before stop() would fire within 10 ms; a later one never comes.
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(sent, []);
});
