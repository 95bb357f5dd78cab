import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient } from '../src/api-client.js';
import { jobsCommand, jobsHelp, UsageError } from '../src/commands/jobs.js';

/** An ApiClient that records what it would send and answers a created job, without a console. */
class RecordingApi extends ApiClient {
  readonly sent: { method: string; route: string; body: unknown }[] = [];
  constructor() {
    super({ baseUrl: 'http://127.0.0.1:1', token: 't' });
  }
  override request<T>(method: string, route: string, body?: unknown): Promise<T> {
    this.sent.push({ method, route, body });
    return Promise.resolve({ id: 'job_1' } as T);
  }
}

async function add(args: string[]): Promise<unknown> {
  const api = new RecordingApi();
  const lines: string[] = [];
  await jobsCommand(api, ['add', ...args], (l) => void lines.push(l));
  assert.deepEqual(lines, ['job_1']);
  assert.equal(api.sent.length, 1);
  const [call] = api.sent;
  assert.equal(call?.method, 'POST');
  assert.equal(call.route, '/api/jobs');
  return call.body;
}

test('jobs add --start-deadline MS sends startDeadlineMs (0 included); without it the job gets the default', async () => {
  const base = ['--name', 'n', '--every', '5000', '--handler', 'noop'];
  assert.deepEqual(await add([...base, '--start-deadline', '30000']), {
    name: 'n',
    schedule: { type: 'interval', everyMs: 5000 },
    kind: { type: 'handler', name: 'noop' },
    payload: {},
    enabled: true,
    startDeadlineMs: 30_000,
  });
  assert.equal(((await add([...base, '--start-deadline', '0'])) as { startDeadlineMs?: number }).startDeadlineMs, 0);
  assert.equal('startDeadlineMs' in ((await add(base)) as object), false);
});

test('the jobs help names --start-deadline, its unit and its default', async () => {
  assert.match(jobsHelp, /\[--start-deadline MS\]/);
  assert.match(jobsHelp, /period,\s+at least 10000 ms and at most 60000 ms/);
  await assert.rejects(
    jobsCommand(new RecordingApi(), ['nope'], () => undefined),
    (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /--start-deadline/);
      return true;
    },
  );
});
