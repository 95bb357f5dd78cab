import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordingLogger } from '@clover/telemetry';
import { waitFor } from '@clover/testkit';
import { LogTally } from '../src/log-tally.js';

test('a thousand events in a window are one info line with their count and three examples; each is a debug line', async () => {
  const logger = recordingLogger();
  const tally = new LogTally(logger, 'runs sent again', 100);
  for (let i = 0; i < 1000; i++) tally.note(`run-${i}`, { runId: `run-${i}` });
  assert.deepEqual(logger.messages('info'), [], 'nothing at info before the window ends');
  await waitFor(() => logger.messages('info').length === 1, { message: 'the summary' });
  const summary = logger.records.find((r) => r.level === 'info')!;
  assert.deepEqual(summary.fields, { count: 1000, examples: ['run-0', 'run-1', 'run-2'] });
  assert.equal(logger.messages('debug').length, 1000);

  // A new window after it: the next event is counted from 1.
  tally.note('run-x', { runId: 'run-x' });
  tally.flush();
  assert.deepEqual(logger.records.filter((r) => r.level === 'info').at(-1)!.fields, { count: 1, examples: ['run-x'] });
  tally.flush();
  assert.equal(logger.messages('info').length, 2, 'an empty window logs nothing');
});
