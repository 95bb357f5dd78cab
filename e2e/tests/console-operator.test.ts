import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Locator, Page } from 'playwright-core';
import { CleanupError, CleanupStack } from '@clover/lifecycle';
import { openStore } from '@clover/store';
import { waitFor } from '@clover/testkit';
import { ConsoleSession } from '../lib/api.js';
import {
  horizontalOverflow,
  openConsolePage,
  screenshot,
  screenshotSteps,
  textOf,
  waitForCount,
  waitForText,
  type ConsolePage,
} from '../lib/browser.js';
import { repoRoot, startStandaloneConsole, type StandaloneConsole } from '../lib/standalone.js';

// The console's operator features and the rough edges a new user hit (issue 18), on
// `clover standalone` through Chromium. Each test leaves e2e/screenshots/<test>.png behind.
const password = 'e2e-operator-password';
const run = promisify(execFile);

let sa: StandaloneConsole;
let cp: ConsolePage;
let page: Page;
let pageForScreenshots: Page | undefined;
let api: ConsoleSession;
const opened = new CleanupStack();

before(async () => {
  sa = await startStandaloneConsole(opened, password);
  api = sa.api;
  cp = await openConsolePage(sa.browser, sa.baseUrl);
  page = cp.page;
  pageForScreenshots = page;
  await page.goto('/');
  await byId('login-username').fill('admin');
  await byId('login-password').fill(password);
  await byId('login-submit').click();
  await byId('page-dashboard').waitFor();
});

after(async () => {
  const failed = await opened.close();
  if (failed.length) throw new CleanupError(failed);
});

const step = screenshotSteps(() => pageForScreenshots, 'operator-', 60_000);

const byId = (id: string): Locator => page.getByTestId(id);
/** A segmented choice: its radio input is hidden under the label the user clicks. */
const choose = (id: string) => page.locator('label', { has: byId(id) }).click();

async function nav(id: string): Promise<void> {
  await byId(`nav-${id}`).click();
  await byId(`page-${id}`).waitFor();
}

interface Job {
  id: string;
  name: string;
}
interface Run {
  id: string;
  status: string;
  scheduledAt: string;
}

const jobUrl = (id: string) => `/api/jobs/${encodeURIComponent(id)}`;
const runsOf = async (jobId: string) =>
  (await api.call<{ items: Run[] }>('GET', `/api/runs?jobId=${encodeURIComponent(jobId)}&limit=100`)).items;

let shellJobId = '';

step('shell form: a command line goes through /bin/sh -c; the run page shows its output', async () => {
  await nav('jobs');
  await byId('job-new').click();
  await byId('job-form').waitFor();
  await byId('job-name').fill('e2e-shell-line');
  await byId('job-cron-expr').fill('0 0 3 * * *');
  await byId('job-timezone').fill('Asia/Shanghai');
  await choose('job-kind-type-shell');
  // The default says where the line goes; the other mode says && would be an argument.
  await waitForText(byId('job-shell-mode-hint'), '/bin/sh -c');
  await choose('job-shell-mode-program');
  await waitForText(byId('job-shell-mode-hint'), 'without a shell');
  await choose('job-shell-mode-sh');
  await byId('job-shell-line').fill('echo first-line && echo "second line"');
  await byId('job-save').click();
  await byId('page-job').waitFor();
  shellJobId = (await byId('page-job').getAttribute('data-job-id')) ?? '';
  const { job } = await api.call<{ job: { kind: unknown } }>('GET', jobUrl(shellJobId));
  assert.deepEqual(job.kind, { type: 'shell', command: '/bin/sh', args: ['-c', 'echo first-line && echo "second line"'], env: {} });

  // The job's zone and the viewer's, each named: 03:00 in Shanghai is 19:00 in UTC.
  await waitForText(byId('next-fire-job-zone'), 'Asia/Shanghai');
  await waitForText(byId('next-fire-viewer-zone'), 'UTC');
  assert.match(await textOf(byId('next-fire-time').first()), /19:00:00.*03:00:00/);

  await byId('job-trigger').click();
  const row = page.locator('[data-testid=run-row][data-status=succeeded]').first();
  await row.waitFor({ timeout: 30_000 });
  await row.click();
  await byId('page-run').waitFor();
  await waitForText(byId('run-output'), 'second line');
  assert.match(await textOf(byId('run-output')), /first-line/);
  assert.match(page.url(), /\/runs\/[^/]+$/);
});

step('job page: every row of the run history opens its run', async () => {
  await api.call('POST', `${jobUrl(shellJobId)}/trigger`);
  await waitFor(async () => (await runsOf(shellJobId)).filter((r) => r.status === 'succeeded').length >= 2, {
    timeoutMs: 30_000,
    message: 'two succeeded runs',
  });
  await page.goto(`/jobs/${encodeURIComponent(shellJobId)}`);
  await waitForCount(byId('run-row'), 2);
  for (const i of [0, 1]) {
    const row = byId('run-row').nth(i);
    const id = await row.getAttribute('data-run-id');
    await row.click();
    await waitFor(
      async () =>
        (await byId('page-run')
          .getAttribute('data-run-id')
          .catch(() => null)) === id,
      {
        message: `the page of run ${id}`,
      },
    );
    await waitForText(byId('run-output'), 'second line');
    await byId('run-back-to-job').click();
    await byId('page-job').waitFor();
  }
});

step("live output: a running shell job's lines show on its run page before it ends", async () => {
  const job = await api.call<Job>('POST', '/api/jobs', {
    name: 'e2e-live-output',
    schedule: { type: 'cron', expr: '0 0 3 * * *' },
    kind: { type: 'shell', command: '/bin/sh', args: ['-c', 'for i in 1 2 3 4 5; do echo line$i; sleep 1; done'] },
    target: { type: 'any' },
    timeoutMs: 60_000,
  });
  await api.call('POST', `${jobUrl(job.id)}/trigger`);
  const running = await waitFor(async () => (await runsOf(job.id)).find((r) => r.status === 'running' || r.status === 'dispatched'), {
    timeoutMs: 15_000,
    message: 'the run under way',
  });
  await page.goto(`/runs/${encodeURIComponent(running.id)}`);
  await byId('page-run').waitFor();
  // Lines 1 and 2 are out about a second after it starts; line 5 only after four more.
  await waitForText(byId('run-live-output'), /line1\s+line2/, 15_000);
  const seen = await textOf(byId('run-live-output'));
  const status = (await api.call<Run>('GET', `/api/runs/${encodeURIComponent(running.id)}`)).status;
  await screenshot(page, 'operator-live-output-while-running');
  assert.equal(await byId('page-run').getAttribute('data-finished'), 'false', 'the run page still shows the run as going');
  assert.ok(!seen.includes('line5'), `the lines came before the end: ${seen}`);
  assert.ok(status === 'running' || status === 'dispatched', `the run was still going when its lines showed (${status})`);
  // Once it ends, the page shows the run's final output tail.
  await waitForText(byId('run-output'), /line1\s+line2\s+line3\s+line4\s+line5/, 20_000);
  assert.equal(await byId('page-run').getAttribute('data-finished'), 'true');
});

step('dashboard: recent failures newest first', async () => {
  const failing = await api.call<Job>('POST', '/api/jobs', {
    name: 'e2e-failing-often',
    schedule: { type: 'cron', expr: '0 0 3 * * *' },
    kind: { type: 'handler', name: 'fail' },
    payload: { message: 'e2e failure' },
  });
  for (let i = 0; i < 3; i++) {
    await api.call('POST', `${jobUrl(failing.id)}/trigger`);
    await waitFor(async () => (await runsOf(failing.id)).filter((r) => r.status === 'failed').length > i, {
      timeoutMs: 20_000,
      message: `failure ${i + 1}`,
    });
  }
  await nav('dashboard');
  await waitFor(async () => (await byId('failure-row').count()) >= 3, { message: 'three failures listed' });
  const times = await byId('failure-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-scheduled-at') ?? ''));
  assert.deepEqual(
    times,
    [...times].sort((a, b) => Date.parse(b) - Date.parse(a)),
    'newest first',
  );
});

step('jobs list: a job added elsewhere appears without a click', async () => {
  await nav('jobs');
  await byId('jobs-table').waitFor();
  await api.call('POST', '/api/jobs', {
    name: 'e2e-added-by-api',
    schedule: { type: 'cron', expr: '0 0 3 * * *' },
    kind: { type: 'handler', name: 'noop' },
  });
  await page.locator('[data-testid=job-row][data-job-name="e2e-added-by-api"]').waitFor({ timeout: 15_000 });
});

step('contacts: the dialog has no empty box under "Receives mail"', async () => {
  await nav('contacts');
  await byId('contact-new').click();
  await byId('contact-dialog').waitFor();
  const visibleButtons = await byId('contact-dialog')
    .locator('form button')
    .evaluateAll((els) => els.filter((e) => (e as HTMLElement).offsetParent !== null).length);
  assert.equal(visibleButtons, 0, 'the form holds no visible button (save and cancel are in the footer)');
  await byId('modal-close').click();
});

step('mails: a failed job is mailed by its name, with a link to its page', async () => {
  await api.call('POST', '/api/contacts', { name: 'E2E On Call', email: 'oncall@example.com', groups: ['ops'] });
  const job = await api.call<Job>('POST', '/api/jobs', {
    name: 'e2e-mailed-by-name',
    schedule: { type: 'cron', expr: '0 0 3 * * *' },
    kind: { type: 'handler', name: 'fail' },
    payload: { message: 'e2e mail failure' },
  });
  await api.call('POST', `${jobUrl(job.id)}/trigger`);
  type Mail = { subject: string; text: string };
  const mail = await waitFor(
    async () =>
      (await api.call<{ items: Mail[] }>('GET', '/api/outbox?limit=50')).items.find((m) => m.subject.includes('e2e-mailed-by-name')),
    { timeoutMs: 30_000, message: 'the mail about e2e-mailed-by-name' },
  );
  assert.equal(mail.subject, '[clover] job "e2e-mailed-by-name" failed');
  assert.ok(mail.text.includes(`/jobs/${job.id}`), 'the mail links to the job page');
  await nav('outbox');
  await waitForText(byId('outbox-table'), '[clover] job "e2e-mailed-by-name" failed');
});

step("mails: a contact who reads Chinese gets the job's failure mail in Chinese", async () => {
  await nav('contacts');
  await byId('contact-new').click();
  await byId('contact-dialog').waitFor();
  await byId('contact-name').fill('E2E 值班');
  await byId('contact-email').fill('zh-oncall@example.com');
  await byId('contact-language').selectOption('zh');
  await screenshot(page, 'operator-contact-language');
  await byId('contact-save').click();
  await byId('contact-dialog').waitFor({ state: 'detached' });
  const contacts = await api.call<{ items: Array<{ id: string; email: string; language?: string }> }>('GET', '/api/contacts');
  const zh = contacts.items.find((c) => c.email === 'zh-oncall@example.com');
  assert.ok(zh, 'the contact saved');
  assert.equal(zh.language, 'zh');
  const job = await api.call<Job>('POST', '/api/jobs', {
    name: 'e2e-mail-zh',
    schedule: { type: 'cron', expr: '0 0 3 * * *' },
    kind: { type: 'handler', name: 'fail' },
    contacts: [zh.id],
  });
  await api.call('POST', `${jobUrl(job.id)}/trigger`);
  type Mail = { to: string[]; subject: string; text: string };
  const mail = await waitFor(
    async () =>
      (await api.call<{ items: Mail[] }>('GET', '/api/outbox?limit=50')).items.find((m) => m.to.includes('zh-oncall@example.com')),
    { timeoutMs: 30_000, message: 'the mail to the Chinese-reading contact' },
  );
  assert.equal(mail.subject, '[clover] 任务“e2e-mail-zh”失败');
  assert.match(mail.text, /clover 新建了一个事件。/);
  await api.call('DELETE', jobUrl(job.id));
});

step('cli: `pnpm exec clover jobs ls` from the clone finds the standalone on CLOVER_HTTP_PORT', async () => {
  const { stdout } = await run('pnpm', ['exec', 'clover', 'jobs', 'ls'], {
    cwd: repoRoot,
    env: { ...process.env, CLOVER_HTTP_PORT: String(sa.httpPort), CLOVER_DATA_DIR: sa.data.path, CLOVER_URL: '', CLOVER_TOKEN: '' },
    timeout: 30_000,
  });
  assert.match(stdout, /e2e-shell-line/);
  assert.match(stdout, /e2e-added-by-api/);
});

step("form units: a timeout of 0 s is refused in seconds, not in zod's milliseconds", async () => {
  await page.goto('/jobs/new');
  await byId('job-form').waitFor();
  await byId('job-name').fill('e2e-units');
  await byId('job-handler-name').fill('noop');
  await byId('job-timeout').fill('0');
  await byId('job-save').click();
  assert.equal(await waitForText(byId('job-timeout-error'), 'At least'), 'At least 0.1 s.');
  assert.equal(await textOf(byId('job-form-error').locator('span').first()), 'Some fields are invalid.');
});

/** Latin words left in `text` once the names a Chinese page rightly shows (zones, cron, URLs) are taken out. */
function englishWords(text: string): string[] {
  const allowed = /Asia\/Shanghai|Europe\/Berlin|Mars\/Olympus|IANA|cron|http\(s\)|[a-z]+\.[a-zA-Z.]+|\{[^}]*\}/g;
  return text.replace(allowed, ' ').match(/[A-Za-z]{3,}/g) ?? [];
}

step('i18n: in 中文 the job form, the cron preview and the contact dialog show no English error text', async () => {
  await page.goto('/jobs/new');
  await byId('lang-zh').click();
  try {
    await byId('job-form').waitFor();
    await byId('job-name').fill('');
    await byId('job-cron-expr').fill('0 99 * * *');
    await waitForText(byId('cron-preview-error'), 'cron 规则无效');
    await byId('job-cron-expr').fill('0 0 3 * * *');
    await byId('job-timezone').fill('Mars/Olympus');
    await byId('job-timeout').fill('0');
    await byId('job-save').click();
    await waitForText(byId('job-name-error'), '此项必填');
    assert.equal(await textOf(byId('job-timeout-error')), '至少 0.1 秒。');
    await waitForText(byId('job-timezone-error'), '未知时区');
    const formErrors = await page.locator('.field-error, [data-testid=job-form-error]').allTextContents();
    assert.ok(formErrors.length >= 3, `errors shown: ${JSON.stringify(formErrors)}`);
    assert.deepEqual(englishWords(formErrors.join(' ')), [], `English in: ${JSON.stringify(formErrors)}`);
    await screenshot(page, 'operator-i18n-zh-job-form');

    // The edited form asks before it is left: yes.
    page.once('dialog', (d) => void d.accept());
    await nav('contacts');
    await byId('contact-new').click();
    await byId('contact-name').fill('');
    await byId('contact-email').fill('not-an-email');
    await byId('contact-save').click();
    await waitForText(byId('contact-email-error'), '电子邮件');
    const dialogErrors = await byId('contact-dialog').locator('.field-error, [role=alert]').allTextContents();
    assert.deepEqual(englishWords(dialogErrors.join(' ')), [], `English in: ${JSON.stringify(dialogErrors)}`);
    await screenshot(page, 'operator-i18n-zh-contact');
    await byId('modal-close').click();

    // "Heartbeat age" is the time since the last beat, not the interval between beats.
    await nav('nodes');
    await waitForText(page.locator('th', { hasText: '心跳' }).first(), '距上次心跳');
  } finally {
    // Back to English for the steps after, whatever this one left open.
    await page.evaluate(() => localStorage.setItem('clover.lang', 'en'));
    await page.reload();
  }
});

step('users: add, change a role, set a password, delete; the last admin stays', async () => {
  await nav('users');
  const adminRow = page.locator('[data-testid=user-row][data-user-name="admin"]');
  await adminRow.getByTestId('user-delete').click();
  await byId('confirm-ok').click();
  await waitForText(byId('confirm-error'), 'last admin');
  await byId('modal-close').click();

  await byId('user-new').click();
  await byId('user-name').fill('e2e-ops');
  await byId('user-password').fill('short');
  await byId('user-save').click();
  assert.equal(await waitForText(byId('user-password-error'), 'At least'), 'At least 8 characters.');
  await byId('user-password').fill('e2e-ops-password');
  await byId('user-save').click();
  const row = page.locator('[data-testid=user-row][data-user-name="e2e-ops"]');
  await row.waitFor();
  assert.equal(await row.getAttribute('data-role'), 'viewer');
  await row.getByTestId('user-role').selectOption('operator');
  await waitFor(async () => (await row.getAttribute('data-role')) === 'operator', { message: 'e2e-ops is an operator' });
  await row.getByTestId('user-reset-password').click();
  await byId('password-input').fill('e2e-new-password');
  await byId('password-save').click();
  await byId('password-dialog').waitFor({ state: 'detached' });
  const ops = await ConsoleSession.login(sa.baseUrl, 'e2e-ops', 'e2e-new-password');
  assert.equal((await ops.call<{ user: { role: string } }>('GET', '/api/auth/me')).user.role, 'operator');
  await screenshot(page, 'operator-users-page');
  await row.getByTestId('user-delete').click();
  await byId('confirm-ok').click();
  await waitForCount(row, 0);
});

step('users: a disabled user cannot log in or use their session; enabled, they can; the last admin cannot be disabled', async () => {
  await api.call('POST', '/api/users', { name: 'e2e-leaver', password: 'e2e-leaver-password', role: 'operator' });
  const leaver = await ConsoleSession.login(sa.baseUrl, 'e2e-leaver', 'e2e-leaver-password');
  assert.equal((await leaver.call<{ user: { name: string } }>('GET', '/api/auth/me')).user.name, 'e2e-leaver');
  // Loaded afresh: the step before leaves the Users page open, from before this user existed.
  await page.goto('/users');
  await byId('page-users').waitFor();
  const row = page.locator('[data-testid=user-row][data-user-name="e2e-leaver"]');
  await row.getByTestId('user-disable').click();
  await waitFor(async () => (await row.getAttribute('data-disabled')) === 'true', { message: 'e2e-leaver shown disabled' });
  await row.getByTestId('user-disabled-badge').waitFor();
  await screenshot(page, 'operator-users-disabled');
  await assert.rejects(leaver.call('GET', '/api/auth/me'), /→ 401/, 'the open session no longer works');
  await assert.rejects(ConsoleSession.login(sa.baseUrl, 'e2e-leaver', 'e2e-leaver-password'), /→ 401: .*disabled/);
  // The only admin: the API refuses, and the page says why.
  await page.locator('[data-testid=user-row][data-user-name="admin"]').getByTestId('user-disable').click();
  await waitForText(byId('toast').last(), 'last admin');
  assert.equal(await page.locator('[data-testid=user-row][data-user-name="admin"]').getAttribute('data-disabled'), 'false');
  await row.getByTestId('user-enable').click();
  await waitFor(async () => (await row.getAttribute('data-disabled')) === 'false', { message: 'e2e-leaver shown enabled' });
  const back = await ConsoleSession.login(sa.baseUrl, 'e2e-leaver', 'e2e-leaver-password');
  assert.equal((await back.call<{ user: { name: string } }>('GET', '/api/auth/me')).user.name, 'e2e-leaver');
  await api.call('DELETE', '/api/users/e2e-leaver');
});

step('api tokens: created and shown once, listed, revoked', async () => {
  await nav('tokens');
  await byId('token-new').click();
  await byId('token-name').fill('e2e-script');
  await byId('token-create').click();
  const secret = await waitForText(byId('token-secret'), 'clv_');
  await screenshot(page, 'operator-token-shown-once');
  await byId('token-done').click();
  const row = page.locator('[data-testid=token-row][data-token-name="e2e-script"]');
  await row.waitFor();
  const me = (token: string) =>
    fetch(new URL('/api/auth/me', sa.baseUrl), { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  assert.equal((await me(secret)).status, 200);
  assert.ok(!(await textOf(byId('tokens-table'))).includes(secret), 'the list never shows the token');
  await row.getByTestId('token-revoke').click();
  await byId('confirm-ok').click();
  await waitForCount(row, 0);
  assert.equal((await me(secret)).status, 401);
});

step('machines: servers, agents and monitors from their heartbeats; a dead one stays with its incident until dismissed', async () => {
  // A machine that died while the console was not looking: its incident, as the monitor opens one.
  const store = await openStore({ dataDir: sa.data.path });
  try {
    await store.incidents.open({
      kind: 'node_dead',
      subject: 'e2e-gone-agent',
      nodeKind: 'clients',
      openedAt: new Date(),
      message: 'agent e2e-gone-agent stopped beating',
      details: { host: 'gone-host', pid: 4242, lastBeatAt: Date.now() - 30_000, reason: 'silent' },
    });
  } finally {
    await store.close();
  }
  await nav('machines');
  for (const kind of ['servers', 'clients', 'monitors'])
    await page.locator(`[data-testid=machine-row][data-kind=${kind}][data-state=up]`).first().waitFor();
  const agent = page.locator('[data-testid=machine-row][data-kind=clients][data-state=up]').first();
  assert.match(await textOf(agent.getByTestId('machine-handlers')), /\becho\b/);
  assert.match(await textOf(agent.getByTestId('machine-age')), /\d/);
  const dead = page.locator('[data-testid=machine-row][data-id=e2e-gone-agent]');
  assert.equal(await dead.getAttribute('data-state'), 'dead');
  await waitForText(dead.getByTestId('machine-incident'), 'stopped beating');
  await byId('machines-state').selectOption('dead');
  await waitForCount(byId('machine-row'), 1);
  await screenshot(page, 'operator-machines-dead');
  await byId('machines-state').selectOption('');
  await dead.getByTestId('machine-dismiss').click();
  await waitForCount(dead, 0);
  // The raw tree keeps its own name.
  assert.equal(await textOf(byId('nav-nodes')), 'ZooKeeper');
});

step('settings: /clover/config exists from the first start and is edited with validation', async () => {
  type Settings = { config: { heartbeatIntervalMs: number; deadTimeoutMs: Record<string, number> }; version: number };
  const before = await api.call<Settings>('GET', '/api/config');
  assert.ok(before.version >= 0, 'written at the first start');
  await nav('settings');
  assert.equal(await byId('settings-heartbeat').inputValue(), '2');
  await byId('settings-dead-clients').fill('3');
  await byId('settings-save').click();
  assert.equal(await waitForText(byId('settings-dead-clients-error'), 'At least'), 'At least 4 s.');
  await byId('settings-dead-clients').fill('15');
  await byId('settings-save').click();
  await waitForText(byId('settings-version'), `Version ${before.version + 1}`);
  const after = await api.call<Settings>('GET', '/api/config');
  assert.equal(after.config.deadTimeoutMs.clients, 15_000);
  assert.equal(after.config.heartbeatIntervalMs, 2000);
});

step('settings: the quiet period and digest window are edited with validation and stored in /clover/config', async () => {
  type Settings = { config: { quietPeriodMs?: number; digestWindowMs?: number }; version: number };
  await nav('settings');
  // Not written at first start: empty, each monitor applies its own.
  assert.equal(await byId('settings-quiet').inputValue(), '');
  await byId('settings-quiet').fill('600');
  await byId('settings-digest').fill('120');
  await byId('settings-save').click();
  assert.equal(await waitForText(byId('settings-digest-error'), 'At most'), 'At most 60 s.');
  await byId('settings-digest').fill('5');
  await byId('settings-save').click();
  await waitFor(async () => (await api.call<Settings>('GET', '/api/config')).config.quietPeriodMs === 600_000, {
    message: 'the quiet period stored',
  });
  await screenshot(page, 'operator-settings-mail-windows');
  const after = await api.call<Settings>('GET', '/api/config');
  assert.deepEqual([after.config.quietPeriodMs, after.config.digestWindowMs], [600_000, 5000]);
});

step('audit: the changes made through the console, filtered, with before and after', async () => {
  await nav('audit');
  await byId('audit-q').fill('/api/config');
  const row = page.locator('[data-testid=audit-row][data-method=PUT]').first();
  await row.waitFor();
  assert.equal(await row.getAttribute('data-user'), 'admin');
  await row.click();
  await waitForText(byId('audit-before'), '10000');
  await waitForText(byId('audit-after'), '15000');
  await screenshot(page, 'operator-audit-detail');
  await byId('modal-close').click();
  await byId('audit-q').fill('');
  await byId('audit-user').fill('nobody-did-this');
  await byId('audit-empty').waitFor();
});

step('incidents: a job failure is closed by hand; a deleted job takes its incident with it', async () => {
  const failing = await api.call<Job>('POST', '/api/jobs', {
    name: 'e2e-incident-by-hand',
    schedule: { type: 'cron', expr: '0 0 3 * * *' },
    kind: { type: 'handler', name: 'fail' },
    payload: { message: 'e2e incident' },
  });
  const going = await api.call<Job>('POST', '/api/jobs', {
    name: 'e2e-incident-deleted',
    schedule: { type: 'cron', expr: '0 0 3 * * *' },
    kind: { type: 'handler', name: 'fail' },
    payload: { message: 'e2e incident 2' },
  });
  type Incident = { id: string; jobId: string | null; closedAt: string | null };
  const openOf = async (jobId: string) =>
    (await api.call<{ items: Incident[] }>('GET', '/api/incidents?open=true&kind=job_failed&limit=100')).items.find(
      (i) => i.jobId === jobId,
    );
  for (const job of [failing, going]) {
    await api.call('POST', `${jobUrl(job.id)}/trigger`);
    await waitFor(() => openOf(job.id), { timeoutMs: 30_000, message: `the incident of ${job.name}` });
  }
  await api.call('DELETE', jobUrl(going.id));
  assert.equal(await openOf(going.id), undefined, 'closed with its job');

  await nav('incidents');
  const row = page.locator('[data-testid=incident-row]', { hasText: failing.id }).first();
  await row.getByTestId('incident-acknowledge').click();
  await waitForText(row.getByTestId('incident-acknowledged'), 'acknowledged by admin');
  await screenshot(page, 'operator-incident-acknowledged');
  await row.getByTestId('incident-close').click();
  await waitFor(async () => (await openOf(failing.id)) === undefined, { message: 'closed by hand' });
  const closed = (
    await api.call<{ items: Array<Incident & { closedBy: string | null }> }>('GET', '/api/incidents?open=false&limit=100')
  ).items.find((i) => i.jobId === failing.id);
  assert.equal(closed?.closedBy, 'admin');
  const audit = await api.call<{ items: Array<{ path: string; user: string }> }>('GET', `/api/audit?q=/close&limit=50`);
  assert.ok(
    audit.items.some((e) => e.path.endsWith('/close') && e.user === 'admin'),
    'who closed it is in the audit log',
  );
});

step('job form: handler offered from live agents, HTTP headers, a one-shot in the past confirmed, leaving asks first', async () => {
  await page.goto('/jobs/new');
  await byId('job-form').waitFor();
  await byId('job-name').fill('e2e-form-extras');
  await byId('job-handler-name').fill('no-such-handler');
  await waitForText(byId('job-handler-warning'), 'echo');
  await byId('job-handler-name').fill('echo');
  await waitForCount(byId('job-handler-warning'), 0);
  const offered = await page.locator('#job-handler-list option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  assert.ok(offered.includes('echo') && offered.includes('fail'), `offered: ${offered.join(', ')}`);

  await choose('job-kind-type-http');
  await byId('job-http-url').fill('https://example.com/hook');
  await byId('job-http-headers').fill('X-E2E: yes\nAuthorization: Bearer abc');
  await choose('job-schedule-type-once');
  await byId('job-once-at').fill('2020-01-02T03:04');
  // Leaving asks first: staying keeps the form.
  page.once('dialog', (d) => void d.dismiss());
  await byId('nav-dashboard').click();
  await byId('job-form').waitFor();
  // A past one-shot time asks too: declined, nothing is saved.
  let asked = '';
  page.once('dialog', (d) => {
    asked = d.message();
    void d.dismiss();
  });
  await byId('job-save').click();
  await waitFor(() => asked !== '', { message: 'the past-time question' });
  assert.match(asked, /in the past/);
  await byId('job-once-at').fill('2099-01-02T03:04');
  await byId('job-save').click();
  await byId('page-job').waitFor();
  const id = (await byId('page-job').getAttribute('data-job-id')) ?? '';
  const { job } = await api.call<{ job: { kind: { headers: Record<string, string> } } }>('GET', jobUrl(id));
  assert.deepEqual(job.kind.headers, { 'X-E2E': 'yes', Authorization: 'Bearer abc' });
  // Saved: leaving asks nothing.
  await nav('dashboard');
  await api.call('DELETE', jobUrl(id));
});

step('HTTP job: the form sets the expected status; a bad one is refused on its field', async () => {
  await page.goto('/jobs/new');
  await byId('job-form').waitFor();
  await byId('job-name').fill('e2e-http-expect');
  await byId('job-cron-expr').fill('0 0 3 * * *');
  await choose('job-kind-type-http');
  await byId('job-http-url').fill('https://example.com/health');
  // A new HTTP job expects a 2xx.
  assert.equal(await byId('job-http-expect-status').inputValue(), '200-299');
  await byId('job-http-expect-status').fill('2xx');
  await byId('job-save').click();
  await waitForText(byId('job-http-expect-status-error'), 'comma separated');
  await byId('job-http-expect-status').fill('200-299, 404');
  await screenshot(page, 'operator-http-expected-status');
  await byId('job-save').click();
  await byId('page-job').waitFor();
  const id = (await byId('page-job').getAttribute('data-job-id')) ?? '';
  const { job } = await api.call<{ job: { kind: { expectStatus?: string } } }>('GET', jobUrl(id));
  assert.equal(job.kind.expectStatus, '200-299, 404');
  await api.call('DELETE', jobUrl(id));
});

step('jobs: copy a job; select several and disable, then delete them', async () => {
  await page.goto(`/jobs/${encodeURIComponent(shellJobId)}`);
  await byId('job-copy').click();
  await byId('job-form').waitFor();
  assert.equal(await byId('job-name').inputValue(), 'e2e-shell-line (copy)');
  assert.equal(await byId('job-shell-line').inputValue(), 'echo first-line && echo "second line"');
  await byId('job-save').click();
  await waitForText(byId('job-title'), 'e2e-shell-line (copy)');

  await nav('jobs');
  const names = ['e2e-shell-line (copy)', 'e2e-added-by-api'];
  for (const name of names) await page.locator(`[data-testid=job-row][data-job-name="${name}"]`).getByTestId('job-select').check();
  await waitForText(byId('jobs-bulk'), '2 selected');
  await byId('jobs-bulk-disable').click();
  type Listed = { items: Array<{ name: string; enabled: boolean; id: string }> };
  const listed = async () => (await api.call<Listed>('GET', '/api/jobs?limit=500')).items.filter((j) => names.includes(j.name));
  await waitFor(async () => (await listed()).every((j) => !j.enabled), { message: 'both disabled' });
  await screenshot(page, 'operator-jobs-bulk');
  for (const name of names) await page.locator(`[data-testid=job-row][data-job-name="${name}"]`).getByTestId('job-select').check();
  await byId('jobs-bulk-delete').click();
  await byId('confirm-ok').click();
  await waitFor(async () => (await listed()).length === 0, { message: 'both deleted' });
});

step("logs: a job's name, an error text inside the context and part of a source name all find the entry", async () => {
  await nav('logs');
  const entry = page.locator('[data-testid=log-row]', { hasText: 'run failed' }).first();
  const findsEntry = async (fill: () => Promise<void>, what: string) => {
    await fill();
    await waitFor(
      async () => {
        if (await entry.count()) return true;
        await byId('logs-refresh').click();
        return false;
      },
      { timeoutMs: 20_000, intervalMs: 1000, message: `a "run failed" entry by ${what}` },
    );
  };
  await findsEntry(() => byId('logs-text').fill('e2e-failing-often'), 'job name');
  // The list may be replaced under the first click (the filter applies after a pause): click until it opens.
  await waitFor(
    async () => {
      if (await byId('log-context').count()) return true;
      await entry.click();
      return false;
    },
    { timeoutMs: 15_000, intervalMs: 500, message: 'the entry opened' },
  );
  await waitForText(byId('log-context'), 'e2e failure');
  await screenshot(page, 'operator-logs-by-job-name');
  await findsEntry(() => byId('logs-text').fill('e2e failure'), 'text in the context');
  await byId('logs-text').fill('');
  await findsEntry(() => byId('logs-source').fill('dispatch'), 'part of the source');
});

step(
  "logs: the text search finds an entry by words of its job's name and by the beginning of its source, not by the inside of a word",
  async () => {
    await nav('logs');
    const entry = page.locator('[data-testid=log-row]', { hasText: 'run failed' }).first();
    const findsEntry = async (text: string, what: string) => {
      // From an empty list, so the entry shown is this search's, not the one before it.
      await byId('logs-text').fill('zzqx-no-such-word');
      await byId('logs-empty').waitFor({ timeout: 20_000 });
      await byId('logs-text').fill(text);
      await waitFor(
        async () => {
          if (await entry.count()) return true;
          await byId('logs-refresh').click();
          return false;
        },
        { timeoutMs: 20_000, intervalMs: 1000, message: `a "run failed" entry by ${what} ("${text}")` },
      );
    };
    await byId('logs-source').fill('');
    await findsEntry('often failing', "words of the job's name, in any order");
    await screenshot(page, 'operator-logs-search-job-words');
    await findsEntry('dispatch', 'the beginning of the source');
    await findsEntry('dispatch often', 'the source and the job name together');
    await screenshot(page, 'operator-logs-search-source');
    type Logs = { items: Array<{ message: string; source: string }> };
    const found = await api.call<Logs>('GET', '/api/logs?q=dispatch&limit=100');
    assert.ok(found.items.some((l) => l.message === 'run failed' && l.source.startsWith('dispatch')));
    const inside = await api.call<Logs>('GET', '/api/logs?q=ispatch&limit=100');
    assert.ok(!inside.items.some((l) => l.message === 'run failed'), 'a word is found by its beginning only');
  },
);

step('logs: the "error" level shows failed runs, logged at error', async () => {
  await nav('logs');
  await byId('logs-level').selectOption('error');
  const failed = page.locator('[data-testid=log-row]', { hasText: 'run failed' }).first();
  await waitFor(
    async () => {
      if (await failed.count()) return true;
      await byId('logs-refresh').click();
      return false;
    },
    { timeoutMs: 20_000, intervalMs: 1000, message: 'a "run failed" entry under the error filter' },
  );
  assert.equal(await failed.getAttribute('data-level'), 'error');
  const levels = await byId('log-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-level')));
  assert.deepEqual([...new Set(levels)], ['error'], 'the filter shows error entries only');
});

for (const width of [1280, 760, 390]) {
  step(`layout: no page scrolls sideways at ${width} px`, async () => {
    await page.setViewportSize({ width, height: 900 });
    try {
      const routes = [
        '/',
        '/jobs',
        `/jobs/${encodeURIComponent(shellJobId)}`,
        `/jobs/${encodeURIComponent(shellJobId)}/edit`,
        '/jobs/new',
        '/runs',
        '/nodes',
        '/logs',
        '/incidents',
        '/outbox',
        '/contacts',
        '/machines',
        '/settings',
        '/users',
        '/tokens',
        '/audit',
      ];
      const found: string[] = [];
      for (const route of routes) {
        await page.goto(route);
        await page.locator('[data-testid^=page-]').first().waitFor();
        // The data of each page arrives after its frame: wait for the tables it fills.
        await page.waitForLoadState('networkidle');
        const { px, culprit } = await horizontalOverflow(page);
        if (px > 0) found.push(`${route}: ${px} px (${culprit})`);
        await screenshot(page, `operator-layout-${width}${route.replace(/\//g, '_')}`);
      }
      assert.deepEqual(found, [], 'pages wider than the window');
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });
}
