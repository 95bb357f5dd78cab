import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Locator, Page } from 'playwright-core';
import { CleanupError, CleanupStack } from '@clover/lifecycle';
import { waitFor } from '@clover/testkit';
import type { ConsoleSession } from '../lib/api.js';
import { openConsolePage, screenshotSteps, textOf, waitForCount, waitForText, type ConsolePage } from '../lib/browser.js';
import { startStandaloneConsole } from '../lib/standalone.js';

// The console as an operator uses it: `clover standalone` (built bins, fresh data directory)
// driven through Chromium. Each test leaves e2e/screenshots/<test>.png behind.
const password = 'e2e-console-password';

let browser: Browser;
let cp: ConsolePage;
let page: Page;
// Set once the page exists: a test that runs after a failed before() has no page to photograph.
let pageForScreenshots: Page | undefined;
let api: ConsoleSession;
// Each part's clean-up is pushed as it comes up, so after() closes exactly what before() opened.
const opened = new CleanupStack();

interface ZNode {
  path: string;
  version: number;
  data: unknown;
}

before(async () => {
  ({ browser, api } = await startStandaloneConsole(opened, password));
  const baseUrl = api.baseUrl;
  cp = await openConsolePage(browser, baseUrl);
  page = cp.page;
  pageForScreenshots = page;
});

after(async () => {
  const failed = await opened.close();
  if (failed.length) throw new CleanupError(failed);
});

const step = screenshotSteps(() => pageForScreenshots);

const byId = (id: string): Locator => page.getByTestId(id);

async function nav(id: string): Promise<void> {
  await byId(`nav-${id}`).click();
  await byId(`page-${id}`).waitFor();
}

async function toast(text: string): Promise<void> {
  await page.getByTestId('toast').filter({ hasText: text }).first().waitFor();
}

/** Fills the new-job form with a handler job on a daily cron rule and saves it; returns the job id. */
async function createJob(name: string, handler: string, payload: unknown): Promise<string> {
  await nav('jobs');
  await byId('job-new').click();
  await byId('job-form').waitFor();
  await byId('job-name').fill(name);
  await byId('job-description').fill(`created by the console e2e test (${handler})`);
  await byId('job-cron-expr').fill('0 0 3 * * *');
  await byId('job-timezone').fill('Asia/Shanghai');
  // 03:00 in Shanghai is 19:00 UTC: the preview is for this rule and zone, not a stale one.
  await waitFor(
    async () =>
      (
        await page
          .locator('[data-testid=cron-preview-time]')
          .first()
          .getAttribute('data-iso')
          .catch(() => null)
      )?.endsWith('T19:00:00.000Z'),
    { message: 'preview of 0 0 3 * * * in Asia/Shanghai' },
  );
  await waitForCount(byId('cron-preview-time'), 10);
  await byId('job-handler-name').fill(handler);
  await byId('job-payload').fill(JSON.stringify(payload));
  await byId('job-save').click();
  await byId('page-job').waitFor();
  await waitForText(byId('job-title'), name);
  const id = await byId('page-job').getAttribute('data-job-id');
  assert.ok(id, 'the detail page names the job id');
  return id;
}

step('login: wrong password, throttling, then the dashboard', async () => {
  await page.goto('/');
  await byId('login-form').waitFor();
  await byId('login-username').fill('admin');
  await byId('login-password').fill('not-the-password');
  await byId('login-submit').click();
  assert.equal(await waitForText(byId('login-error'), 'Wrong user name or password'), 'Wrong user name or password.');

  // 5 failures per user name and address, then 429: tried on a name nobody uses, so admin stays open.
  await byId('login-username').fill('intruder');
  for (let i = 0; i < 6; i++) {
    await byId('login-password').fill(`guess-${i}`);
    await byId('login-submit').click();
    await waitFor(async () => !(await byId('login-submit').isDisabled()), { message: 'login answered' });
  }
  await waitForText(byId('login-error'), 'Too many attempts');

  await byId('login-username').fill('admin');
  await byId('login-password').fill(password);
  await byId('login-submit').click();
  await byId('page-dashboard').waitFor();
  assert.equal(await textOf(page.locator('.user-name')), 'admin');
  assert.equal(await textOf(byId('current-role')), 'admin');
});

step('dashboard: a fresh system shows friendly empty states and live nodes', async () => {
  await nav('dashboard');
  await byId('stat-servers').waitFor();
  await waitForText(byId('stat-servers'), /1/);
  await waitForText(byId('stat-clients'), /1/);
  await byId('empty-failures').waitFor();
  await byId('empty-incidents').waitFor();
  assert.equal(await byId('error-banner').count(), 0, 'no error banner on an empty system');
});

step('contacts: add (with a field error first), edit, delete', async () => {
  await nav('contacts');
  await byId('contact-new').click();
  await byId('contact-dialog').waitFor();
  await byId('contact-name').fill('E2E Person');
  await byId('contact-email').fill('not-an-email');
  await byId('contact-save').click();
  await waitForText(byId('contact-email-error'), /email/);

  await byId('contact-email').fill('e2e@example.com');
  await byId('contact-groups').fill('ops, e2e');
  await byId('contact-save').click();
  await toast('Contact added.');
  const row = page.locator('[data-testid=contact-row][data-contact-name="E2E Person"]');
  await waitForText(row, 'e2e@example.com');
  assert.match(await textOf(row), /ops, e2e/);

  await row.getByTestId('contact-edit').click();
  await byId('contact-phone').fill('+1 555 0100');
  await byId('contact-save').click();
  await waitForText(row, '+1 555 0100');
  const stored = await api.call<{ items: Array<{ name: string; phone?: string; groups: string[] }> }>('GET', '/api/contacts');
  assert.deepEqual(
    stored.items.map((c) => [c.name, c.phone, c.groups]),
    [['E2E Person', '+1 555 0100', ['ops', 'e2e']]],
  );

  await row.getByTestId('contact-delete').click();
  await byId('confirm-ok').click();
  await waitForCount(row, 0);
  await byId('contacts-empty').waitFor();
});

let echoJobId = '';

step('jobs: the form previews cron times, creates the job, shows its next fire times', async () => {
  await nav('jobs');
  await byId('job-new').click();
  // A bad rule: the server's message shows under the preview while typing.
  await byId('job-cron-expr').fill('0 99 * * *');
  await waitForText(byId('cron-preview-error'), 'Bad cron rule');
  // The form was edited: leaving it asks first (yes).
  page.once('dialog', (d) => void d.accept());
  echoJobId = await createJob('e2e-echo', 'echo', { hello: 'e2e' });
  await waitForCount(byId('next-fire-time'), 10);
  assert.match(await textOf(byId('next-fire-time').first()), /19:00:00/);
  const detail = await api.call<{ job: { name: string; schedule: unknown; kind: unknown; payload: unknown } }>(
    'GET',
    `/api/jobs/${encodeURIComponent(echoJobId)}`,
  );
  assert.deepEqual(detail.job.schedule, { type: 'cron', expr: '0 0 3 * * *', timezone: 'Asia/Shanghai' });
  assert.deepEqual(detail.job.kind, { type: 'handler', name: 'echo' });
  assert.deepEqual(detail.job.payload, { hello: 'e2e' });
});

step('jobs: listed, searchable', async () => {
  await nav('jobs');
  const row = page.locator('[data-testid=job-row][data-job-name="e2e-echo"]');
  await row.waitFor();
  assert.equal(await row.getAttribute('data-job-id'), echoJobId);
  await byId('jobs-search').fill('no-such-job');
  await byId('jobs-empty').waitFor();
  await byId('jobs-search').fill('e2e');
  await row.waitFor();
  await byId('jobs-search').fill('');
});

step('jobs: edit keeps what the form does not show', async () => {
  await page.locator('[data-testid=job-row][data-job-name="e2e-echo"]').click();
  await byId('job-edit').click();
  await byId('job-form').waitFor();
  assert.equal(await byId('job-cron-expr').inputValue(), '0 0 3 * * *');
  assert.equal(await byId('job-timezone').inputValue(), 'Asia/Shanghai');
  await byId('job-description').fill('edited by the console e2e test');
  await byId('job-retries').fill('2');
  await byId('job-save').click();
  await byId('page-job').waitFor();
  await waitForText(byId('page-job'), 'edited by the console e2e test');
  const { job } = await api.call<{ job: { description: string; retries: { max: number }; payload: unknown; schedule: unknown } }>(
    'GET',
    `/api/jobs/${encodeURIComponent(echoJobId)}`,
  );
  assert.equal(job.description, 'edited by the console e2e test');
  assert.equal(job.retries.max, 2);
  assert.deepEqual(job.payload, { hello: 'e2e' });
  assert.deepEqual(job.schedule, { type: 'cron', expr: '0 0 3 * * *', timezone: 'Asia/Shanghai' });
});

step('jobs: trigger now, the run appears and succeeds', async () => {
  await nav('jobs');
  await page.locator('[data-testid=job-row][data-job-name="e2e-echo"]').click();
  await byId('page-job').waitFor();
  await byId('job-runs-empty').waitFor();
  await byId('job-trigger').click();
  await toast('Triggered');
  const run = page.locator('[data-testid=run-row][data-status=succeeded]').first();
  await run.waitFor({ timeout: 30_000 });
  assert.match(await textOf(run), /manual/);
  await run.click();
  await byId('page-run').waitFor();
  await waitForText(byId('run-detail'), 'succeeded');
  await byId('run-back-to-job').click();
  await byId('page-job').waitFor();

  // Disable and enable from the detail page.
  await byId('job-disable').click();
  await byId('job-enable').waitFor();
  assert.equal(await byId('next-fire-time').count(), 0);
  await byId('job-enable').click();
  await waitForCount(byId('next-fire-time'), 10);
});

step('logs: a failing job leaves an entry; its context names the error', async () => {
  const failId = await createJob('e2e-failing', 'fail', { message: 'e2e boom' });
  await byId('job-trigger').click();
  const run = page.locator('[data-testid=run-row][data-status=failed]').first();
  await run.waitFor({ timeout: 30_000 });
  await run.click();
  await waitForText(byId('run-error'), 'e2e boom');
  await byId('run-back-to-job').click();

  await nav('logs');
  await byId('logs-level').selectOption('warn');
  await byId('logs-text').fill('run failed');
  // The filters apply after a 300 ms pause: wait for the filtered list, not the one before it.
  const entry = page.locator('[data-testid=log-row]', { hasText: 'run failed' }).first();
  await waitFor(
    async () => {
      if (await entry.count()) return true;
      await byId('logs-refresh').click();
      return false;
    },
    { timeoutMs: 20_000, intervalMs: 1000, message: 'a "run failed" log entry' },
  );
  assert.ok(['warn', 'error'].includes((await entry.getAttribute('data-level')) ?? ''));
  await entry.click();
  const context = await waitForText(byId('log-context'), 'e2e boom');
  assert.ok(context.includes(failId), 'the context names the job');
});

step('nodes: a stale edit is refused, an edit saves, a delete needs the path typed', async () => {
  await nav('nodes');
  const agentRow = page.locator('[data-testid=node-row][data-path^="/clover/nodes/clients/"]').first();
  await agentRow.waitFor();
  const agentPath = (await agentRow.getAttribute('data-path'))!;
  const nodeUrl = (p: string) => `/api/nodes/data?path=${encodeURIComponent(p)}`;

  // The agent's heartbeat rewrites its node: once it has, saving the version we read is a 409.
  await agentRow.getByTestId('node-edit').click();
  const readVersion = Number(await byId('node-version-input').inputValue());
  await waitFor(async () => (await api.call<ZNode>('GET', nodeUrl(agentPath))).version > readVersion, {
    timeoutMs: 10_000,
    message: 'a heartbeat after the read',
  });
  await byId('node-save').click();
  await waitForText(byId('node-conflict'), 'changed by someone else');
  await byId('node-reload').click();
  await waitFor(async () => Number(await byId('node-version-input').inputValue()) > readVersion, { message: 'reloaded version' });
  assert.equal(await byId('node-conflict').count(), 0);
  await byId('node-cancel').click();

  // A persistent node nobody reads the data of.
  const jobsRow = page.locator('[data-testid=node-row][data-path="/clover/jobs"]');
  await jobsRow.getByTestId('node-edit').click();
  await byId('node-data-input').fill('{"note": "edited from the console"}');
  await byId('node-save').click();
  await toast('Node saved.');
  assert.deepEqual((await api.call<ZNode>('GET', nodeUrl('/clover/jobs'))).data, { note: 'edited from the console' });
  await jobsRow.getByTestId('node-view').click();
  await waitForText(byId('node-data'), 'edited from the console');
  await byId('modal-close').click();

  // Deleting the agent's node: the documented admin kick; the agent registers again by itself.
  const before = await api.call<ZNode>('GET', nodeUrl(agentPath));
  await agentRow.getByTestId('node-delete').click();
  assert.equal(await byId('confirm-ok').isDisabled(), true, 'delete waits for the typed path');
  await byId('confirm-input').fill(agentPath.slice(0, -1));
  assert.equal(await byId('confirm-ok').isDisabled(), true);
  await byId('confirm-input').fill(agentPath);
  await byId('confirm-ok').click();
  await toast('Node deleted.');
  await waitFor(
    async () => {
      const again = await api.call<ZNode>('GET', nodeUrl(agentPath)).catch(() => null);
      return again !== null && again.version < before.version;
    },
    { timeoutMs: 10_000, message: 'the agent re-registered (a new znode)' },
  );
});

step('nodes: deleting /clover/election/dispatch asks twice, says what happens, and dispatch goes on by itself', async () => {
  // An every-second job, running before the deletion.
  const job = await api.call<{ id: string }>('POST', '/api/jobs', {
    name: 'e2e-heal',
    schedule: { type: 'cron', expr: '* * * * * *' },
    kind: { type: 'handler', name: 'noop' },
  });
  type RunRow = { status: string; scheduledAt: string };
  const succeededSince = async (since: number) =>
    (await api.call<{ items: RunRow[] }>('GET', `/api/runs?jobId=${encodeURIComponent(job.id)}&limit=200`)).items.filter(
      (r) => r.status === 'succeeded' && Date.parse(r.scheduledAt) >= since,
    ).length;
  await waitFor(async () => (await succeededSince(0)) >= 2, { timeoutMs: 20_000, message: 'runs before the deletion' });

  await nav('nodes');
  const row = page.locator('[data-testid=node-row][data-path="/clover/election/dispatch"]');
  await row.getByTestId('node-delete').click();
  await byId('confirm-input').fill('/clover/election/dispatch');
  await byId('confirm-ok').click();
  const warning = await waitForText(byId('node-structural-warning'), 'the leader steps down');
  assert.match(warning, /part of clover's own structure/);
  assert.equal(await textOf(byId('confirm-ok')), 'Delete anyway');
  await byId('confirm-ok').click();
  await toast('re-create what they need');
  const deletedAt = Date.now();
  await waitFor(async () => (await succeededSince(deletedAt + 1000)) >= 3, {
    timeoutMs: 30_000,
    message: 'three runs succeed after the deletion',
  });
  await api.call('DELETE', `/api/jobs/${encodeURIComponent(job.id)}`);
});

step('i18n: 中文 everywhere, kept across a reload', async () => {
  await nav('nodes');
  await byId('lang-zh').click();
  assert.equal(await textOf(byId('page-title')), 'ZooKeeper 节点');
  assert.equal(await textOf(byId('nav-jobs')), '任务');
  assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
  await page.reload();
  await byId('page-nodes').waitFor();
  assert.equal(await textOf(byId('page-title')), 'ZooKeeper 节点');
  await nav('dashboard');
  assert.equal(await textOf(byId('page-title')), '仪表盘');
  await byId('runs-by-status').waitFor();
  await byId('runs-chart').waitFor();
  assert.deepEqual(
    cp.errors.filter((e) => e.startsWith('pageerror')),
    [],
    'no uncaught errors in the page',
  );
});
