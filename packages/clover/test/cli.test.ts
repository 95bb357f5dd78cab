import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cleanUp, freePort, mongoForTest, tempDir, waitFor, type TempDir } from '@clover/testkit';
import { ApiClient, main, readStandaloneSettings, resolveApiClient, startStandalone, type RunningStandalone } from '../src/index.js';
import { jobsCommand } from '../src/commands/jobs.js';
import { nodesCommand } from '../src/commands/nodes.js';
import { runsCommand } from '../src/commands/runs.js';

/**
 * The CLI against `clover standalone` on one store: the embedded one (no `mongoUrl`), or MongoDB
 * at a database URL. A standalone of its own per store, closed after whatever the outcome.
 */
function cliSuite(storeName: string, mongoUrl?: string): void {
  describe(`CLI against standalone on ${storeName}`, () => {
    // Undefined until before() has started them (and still, if it failed first): after() closes what started.
    let dir: TempDir | undefined;
    let running: RunningStandalone | undefined;
    let api: ApiClient;

    before(async () => {
      const temp = await tempDir('clover-cli-');
      dir = temp;
      const settings = readStandaloneSettings({
        CLOVER_DATA_DIR: temp.path,
        CLOVER_HTTP_PORT: String(await freePort()),
        CLOVER_DISPATCH_BIND: `tcp://127.0.0.1:${await freePort()}`,
        CLOVER_NODE_ID: 'cli-test',
        ...(mongoUrl ? { CLOVER_MONGO_URL: mongoUrl } : {}),
      });
      running = await startStandalone(settings);
      const token = (await readFile(path.join(temp.path, 'cli-token'), 'utf8')).trim();
      api = new ApiClient({ baseUrl: running.consoleUrl, token });
    });
    after(() =>
      cleanUp([
        ['standalone', () => running?.close()],
        ['temp dir', () => dir?.cleanup()],
      ]),
    );

    async function run(cmd: typeof jobsCommand, argv: string[]): Promise<string[]> {
      const lines: string[] = [];
      await cmd(api, argv, (l) => void lines.push(l));
      return lines;
    }

    test('a first start generates the admin password and leaves a CLI token', () => {
      assert.ok(running && dir, 'started');
      assert.match(running.adminPassword ?? '', /^\S{12,}$/);
      // CLOVER_MONGO_URL is obeyed: the SQLite file exists exactly when no MongoDB was given.
      assert.equal(existsSync(path.join(dir.path, 'clover.db')), !mongoUrl, `the store in use is ${storeName}`);
    });

    test('the CLI finds the console and its token through a CLOVER_CONFIG file, as every bin reads settings', async () => {
      assert.ok(running && dir, 'started');
      const config = path.join(dir.path, 'cli-config.json');
      await writeFile(config, JSON.stringify({ CLOVER_DATA_DIR: dir.path, CLOVER_URL: running.consoleUrl }));
      const client = await resolveApiClient({ CLOVER_CONFIG: config });
      const lines: string[] = [];
      await nodesCommand(client, ['ls'], (l) => lines.push(l));
      assert.match(lines.join('\n'), /cli-test/);
    });

    test('jobs add, ls, trigger, runs ls, nodes ls and rm against standalone', async () => {
      const [id] = await run(jobsCommand, [
        'add',
        '--name',
        'cli-echo',
        '--cron',
        '0 0 3 * * *',
        '--tz',
        'Europe/Berlin',
        '--handler',
        'echo',
        '--payload',
        '{"from":"cli"}',
        '--start-deadline',
        '30000',
      ]);
      assert.match(id!, /^job_/);
      const table = (await run(jobsCommand, ['ls'])).join('\n');
      assert.match(table, /cli-echo/);
      assert.match(table, /cron 0 0 3 \* \* \* Europe\/Berlin/);
      const listed = JSON.parse((await run(jobsCommand, ['ls', '--json'])).join('\n')) as Array<{
        id: string;
        payload: unknown;
        startDeadlineMs?: number;
      }>;
      assert.deepEqual(listed.find((j) => j.id === id)?.payload, { from: 'cli' });
      assert.equal(listed.find((j) => j.id === id)?.startDeadlineMs, 30_000);

      assert.deepEqual(await run(jobsCommand, ['trigger', id!]), [`triggered ${id}`]);
      await waitFor(
        async () => (await run(runsCommand, ['ls', '--job', id!, '--status', 'succeeded'])).join('\n').includes('cli-test-agent'),
        { timeoutMs: 20_000, message: 'the triggered run succeeded on the local agent' },
      );

      const nodes = (await run(nodesCommand, ['ls'])).join('\n');
      for (const kind of ['cli-test-dispatch', 'cli-test-agent', 'cli-test-monitor']) assert.match(nodes, new RegExp(kind));

      assert.deepEqual(await run(jobsCommand, ['rm', id!]), [`deleted ${id}`]);
      await assert.rejects(run(jobsCommand, ['rm', id!]), /not found/);
    });

    test('bad input: a clear message, nothing created', async () => {
      await assert.rejects(
        run(jobsCommand, ['add', '--name', 'x', '--cron', '61 * * * * *', '--handler', 'echo']),
        (err: Error & { fields?: Record<string, string> }) => {
          assert.match(err.fields?.['schedule.expr'] ?? '', /bad cron rule/);
          return true;
        },
      );
      await assert.rejects(run(jobsCommand, ['add', '--name', 'x', '--handler', 'echo']), /give one of --cron, --every or --at/);
      assert.deepEqual(JSON.parse((await run(jobsCommand, ['ls', '--json'])).join('\n')), []);
    });
  });
}

// Started first, stopped last: the MongoDB half's server (its database dropped or its process gone).
const mongo = await mongoForTest('clover_cli');
after(() => cleanUp([['MongoDB', () => ('cleanup' in mongo ? mongo.cleanup() : undefined)]]));

cliSuite('the embedded store');
if ('skip' in mongo) {
  console.log(`# SKIP CLI against standalone on MongoDB: ${mongo.skip}`);
  describe('CLI against standalone on MongoDB', { skip: mongo.skip }, () => {});
} else {
  cliSuite(`MongoDB (${mongo.server})`, mongo.databaseUrl);
}

test('exit codes: 2 for bad usage or a bad setting, 0 for help', async () => {
  const saved = process.env.CLOVER_HTTP_PORT;
  const quiet = { log: console.log, error: console.error };
  console.log = console.error = () => undefined;
  try {
    assert.equal(await main(['frobnicate']), 2);
    assert.equal(await main(['--help']), 0);
    process.env.CLOVER_HTTP_PORT = 'eighty';
    assert.equal(await main(['standalone']), 2);
  } finally {
    Object.assign(console, quiet);
    if (saved === undefined) delete process.env.CLOVER_HTTP_PORT;
    else process.env.CLOVER_HTTP_PORT = saved;
  }
});
