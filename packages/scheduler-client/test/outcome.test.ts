import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { resultSchema, type Exec } from '@clover/protocol';
import { ExecAbort } from '../src/abort.js';
import { runHandler } from '../src/executors/handler.js';
import { OutputTail } from '../src/output.js';

const exec: Exec = {
  execId: 'p@1',
  jobId: 'p',
  jobName: 'p',
  attempt: 1,
  kind: { type: 'handler', name: 'h' },
  payload: null,
  timeoutMs: 1000,
  deadline: 2,
  scheduledAt: 1,
};

// Whatever a handler throws or logs, what the SDK's handler path makes of it fits the RESULT.
test('property: any thrown value and any logged text give a RESULT that passes the schema', async () => {
  const thrown = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 12_000 }),
    fc.string({ minLength: 4000, maxLength: 9000 }).map((m) => new Error(m)),
    fc.string({ unit: 'grapheme', maxLength: 5000 }).map((m) => new Error(m)),
    fc.anything(),
    fc.constant(Object.create(null) as unknown),
  );
  await fc.assert(
    fc.asyncProperty(thrown, fc.array(fc.string({ unit: 'binary', maxLength: 3000 }), { maxLength: 6 }), async (value, lines) => {
      const out = new OutputTail();
      const outcome = await runHandler(
        (ctx) => {
          for (const line of lines) ctx.log(line);
          throw value;
        },
        exec,
        new ExecAbort(),
        out,
      );
      const result = {
        execId: exec.execId,
        status: 'failed',
        exitCode: outcome.exitCode,
        startedAt: 1,
        finishedAt: 2,
        outputTail: out.toString(),
        error: outcome.error,
      };
      const parsed = resultSchema.safeParse(result);
      assert.ok(parsed.success, parsed.success ? '' : parsed.error.message.slice(0, 300));
      assert.equal(outcome.exitCode, 1);
    }),
    { numRuns: 300 },
  );
});
