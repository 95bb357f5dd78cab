import { act, cleanup, fireEvent, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../src/api/client';
import type { Contact, Job, JobInput } from '../src/api/types';
import { JobEditor } from '../src/pages/JobEdit';
import { contactInput } from '../src/pages/Contacts';
import {
  buildJobInput,
  emptyJobForm,
  isoToLocalInput,
  jobToForm,
  jobUpdateOf,
  localInputToIso,
  type JobFormState,
} from '../src/lib/jobForm';
import { clickAndSettle, fakeFetch, jobFixture, renderWithI18n } from './helpers';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const form = (patch: Partial<JobFormState>): JobFormState => ({ ...emptyJobForm(), ...patch });

describe('buildJobInput', () => {
  it('a cron handler job: every JobInput field under its model name', () => {
    const { input, errors } = buildJobInput(
      form({
        name: '  nightly report ',
        description: 'mails the report',
        group: 'reports',
        cronExpr: ' 0 30 2 * * * ',
        timezone: 'Asia/Shanghai',
        targetType: 'group',
        targetGroup: ' workers ',
        routing: 'least_busy',
        kindType: 'handler',
        handlerName: 'report',
        payload: '{"format": "pdf", "pages": [1, 2]}',
        timeoutSeconds: '90',
        retriesMax: '3',
        retryBackoffSeconds: '2.5',
        concurrency: 'forbid',
        misfire: 'skip',
        contacts: ['c1', 'c2'],
      }),
    );
    expect(errors).toEqual({});
    expect(input).toEqual<JobInput>({
      name: 'nightly report',
      description: 'mails the report',
      group: 'reports',
      schedule: { type: 'cron', expr: '0 30 2 * * *', timezone: 'Asia/Shanghai' },
      enabled: true,
      target: { type: 'group', group: 'workers' },
      routing: 'least_busy',
      kind: { type: 'handler', name: 'report' },
      payload: { format: 'pdf', pages: [1, 2] },
      timeoutMs: 90_000,
      retries: { max: 3, backoffMs: 2500 },
      concurrency: 'forbid',
      misfire: 'skip',
      onStartDeadline: 'skipped',
      incidentOnStartDeadline: false,
      contacts: ['c1', 'c2'],
      deleteWhenDone: true,
    });
  });

  it('a shell command line goes to /bin/sh -c, and such a job opens in that mode again', () => {
    const input = buildJobInput(form({ name: 's', kindType: 'shell', shellLine: ' echo hi && date ' })).input!;
    expect(input.kind).toEqual({ type: 'shell', command: '/bin/sh', args: ['-c', 'echo hi && date'] });
    const again = jobToForm({ ...jobFixture(), kind: { type: 'shell', command: '/bin/sh', args: ['-c', 'echo hi && date'], env: {} } });
    expect([again.shellMode, again.shellLine, again.shellCommand]).toEqual(['sh', 'echo hi && date', '']);
    const program = jobToForm({ ...jobFixture(), kind: { type: 'shell', command: '/bin/sh', args: ['-x', 'a.sh'], env: {} } });
    expect([program.shellMode, program.shellCommand, program.shellArgs]).toEqual(['program', '/bin/sh', '-x\na.sh']);
  });

  it("HTTP headers: one Name: value per line, round trip; a line without a name is the form's own error", () => {
    const input = buildJobInput(
      form({ name: 'h', kindType: 'http', httpUrl: 'https://example.com', httpHeaders: 'X-A: 1\n\nAuthorization: Bearer a:b ' }),
    ).input!;
    expect(input.kind).toEqual({
      type: 'http',
      method: 'GET',
      url: 'https://example.com',
      headers: { 'X-A': '1', Authorization: 'Bearer a:b' },
      expectStatus: '200-299',
    });
    expect(
      jobToForm({ ...jobFixture(), kind: { type: 'http', method: 'GET', url: 'https://x', headers: { 'X-A': '1' } } }).httpHeaders,
    ).toBe('X-A: 1');
    expect(buildJobInput(form({ name: 'h', kindType: 'http', httpUrl: 'https://x', httpHeaders: 'no colon here' })).errors).toEqual({
      'kind.headers': 'form.error.header',
    });
  });

  it('once, interval, node and tags targets, shell and http kinds', () => {
    const once = buildJobInput(
      form({
        name: 'o',
        scheduleType: 'once',
        onceAt: '2031-05-06T07:08:09',
        deleteWhenDone: false,
        targetType: 'node',
        targetNode: 'client-7',
        kindType: 'shell',
        shellMode: 'program',
        shellCommand: 'backup.sh',
        shellArgs: '--full\n\n--to=/tmp/a b\n',
        shellCwd: '/srv',
      }),
    ).input!;
    expect(once.schedule).toEqual({ type: 'once', at: new Date(2031, 4, 6, 7, 8, 9).toISOString() });
    expect(once.deleteWhenDone).toBe(false);
    expect(once.target).toEqual({ type: 'node', nodeId: 'client-7' });
    expect(once.kind).toEqual({ type: 'shell', command: 'backup.sh', args: ['--full', '--to=/tmp/a b'], cwd: '/srv' });

    const every = buildJobInput(
      form({
        name: 'i',
        scheduleType: 'interval',
        intervalSeconds: '90',
        targetType: 'tags',
        targetTags: 'gpu, eu-west  linux',
        kindType: 'http',
        httpMethod: 'POST',
        httpUrl: ' https://example.com/hook ',
        httpBody: '{"a":1}',
      }),
    ).input!;
    expect(every.schedule).toEqual({ type: 'interval', everyMs: 90_000 });
    expect(every.target).toEqual({ type: 'tags', tags: ['gpu', 'eu-west', 'linux'] });
    expect(every.kind).toEqual({ type: 'http', method: 'POST', url: 'https://example.com/hook', body: '{"a":1}', expectStatus: '200-299' });

    const get = buildJobInput(form({ name: 'g', kindType: 'http', httpMethod: 'GET', httpUrl: 'http://x', httpBody: 'ignored' })).input!;
    expect(get.kind).toEqual({ type: 'http', method: 'GET', url: 'http://x', expectStatus: '200-299' });
    // A job without expected statuses edits as one: the field empty, none sent back.
    const none = jobToForm({ ...jobFixture(), kind: { type: 'http', method: 'GET', url: 'https://x', headers: {} } });
    expect(none.httpExpectStatus).toBe('');
    expect(buildJobInput({ ...none, httpExpectStatus: ' 200, 404 ' }).input!.kind).toEqual({
      type: 'http',
      method: 'GET',
      url: 'https://x',
      expectStatus: '200, 404',
    });
    expect(buildJobInput(form({ name: 'a' })).input!.target).toEqual({ type: 'any' });
    expect(buildJobInput(form({ name: 'a', payload: '  ' })).input!.payload).toEqual({});
  });

  it('reports what the form can see by itself under the server field paths', () => {
    expect(buildJobInput(form({ payload: '{bad' })).errors).toEqual({ payload: 'form.error.json' });
    expect(buildJobInput(form({ scheduleType: 'once', onceAt: '' })).errors).toEqual({ 'schedule.at': 'form.error.date' });
    expect(buildJobInput(form({ scheduleType: 'interval', intervalSeconds: 'x' })).errors).toEqual({
      'schedule.everyMs': 'form.error.number',
    });
    const r = buildJobInput(form({ timeoutSeconds: '', retriesMax: 'a' }));
    expect(r.input).toBeNull();
    expect(r.errors).toEqual({ timeoutMs: 'form.error.number', 'retries.max': 'form.error.number' });
  });

  it('an edited job goes back with the fields the form does not show', () => {
    const job: Job = jobFixture({
      description: 'd',
      group: 'g',
      enabled: false,
      schedule: { type: 'interval', everyMs: 5000, startAt: '2030-01-01T00:00:00.000Z' },
      target: { type: 'tags', tags: ['a', 'b'] },
      routing: 'broadcast',
      kind: { type: 'http', method: 'PUT', url: 'https://h/x', headers: { Authorization: 'Bearer x' }, body: 'b' },
      payload: { k: 1 },
      timeoutMs: 1500,
      retries: { max: 2, backoffMs: 500, factor: 3, maxBackoffMs: 9000 },
      concurrency: 'replace',
      misfire: 'skip',
      window: { endAt: '2031-01-01T00:00:00.000Z' },
      contacts: ['c9'],
      deleteWhenDone: true,
      startDeadlineMs: 2500,
      onStartDeadline: 'failed',
      incidentOnStartDeadline: true,
    });
    const { input } = buildJobInput(jobToForm(job));
    expect(input).toEqual({
      name: 'sync',
      description: 'd',
      group: 'g',
      enabled: false,
      schedule: { type: 'interval', everyMs: 5000, startAt: '2030-01-01T00:00:00.000Z' },
      target: { type: 'tags', tags: ['a', 'b'] },
      routing: 'broadcast',
      kind: { type: 'http', method: 'PUT', url: 'https://h/x', headers: { Authorization: 'Bearer x' }, body: 'b' },
      payload: { k: 1 },
      timeoutMs: 1500,
      retries: { max: 2, backoffMs: 500, factor: 3, maxBackoffMs: 9000 },
      concurrency: 'replace',
      misfire: 'skip',
      window: { endAt: '2031-01-01T00:00:00.000Z' },
      contacts: ['c9'],
      deleteWhenDone: true,
      startDeadlineMs: 2500,
      onStartDeadline: 'failed',
      incidentOnStartDeadline: true,
    });
  });

  it('datetime-local values round-trip through ISO', () => {
    const iso = new Date(2030, 0, 2, 3, 4, 5).toISOString();
    expect(localInputToIso(isoToLocalInput(iso))).toBe(iso);
    expect(isoToLocalInput(new Date(2030, 0, 2, 3, 4).toISOString())).toBe('2030-01-02T03:04');
    expect(localInputToIso('nonsense')).toBeNull();
  });

  it('contact input', () => {
    expect(contactInput({ name: ' Ann ', email: ' ann@example.com ', phone: ' ', groups: 'ops, db ,', enabled: false })).toEqual({
      name: 'Ann',
      email: 'ann@example.com',
      groups: ['ops', 'db'],
      enabled: false,
    });
    expect(contactInput({ name: 'B', email: 'b@x.io', phone: '+1 555', groups: '', enabled: true }).phone).toBe('+1 555');
  });
});

describe('job form UI', () => {
  const contacts: Contact[] = [
    { id: 'c1', name: 'Ann', email: 'ann@example.com', groups: [], enabled: true },
    { id: 'c2', name: 'Bo', email: 'bo@example.com', groups: [], enabled: true },
  ];
  const change = (testId: string, value: string) => fireEvent.change(screen.getByTestId(testId), { target: { value } });

  it('builds the JobInput from what the user typed and sends it', async () => {
    fakeFetch(() => ({ body: { nextFireTimes: ['2030-01-01T00:00:00.000Z'] } }));
    const save = vi.fn((input: JobInput): Promise<Job> => Promise.resolve({ ...(input as Job), id: 'new-id' }));
    const onSaved = vi.fn();
    renderWithI18n(<JobEditor job={null} contacts={contacts} onSaved={onSaved} save={save} />);

    change('job-name', 'cleanup');
    change('job-description', 'removes temp files');
    change('job-group', 'maintenance');
    fireEvent.click(screen.getByTestId('job-schedule-type-interval'));
    change('job-interval-seconds', '300');
    change('job-target-type', 'node');
    change('job-target-node', 'client-1');
    change('job-routing', 'failover');
    fireEvent.click(screen.getByTestId('job-kind-type-shell'));
    fireEvent.click(screen.getByTestId('job-shell-mode-program'));
    change('job-shell-command', 'find');
    change('job-shell-args', '/tmp\n-mtime\n+7\n-delete');
    change('job-timeout', '30');
    change('job-retries', '2');
    change('job-retry-backoff', '10');
    change('job-concurrency', 'forbid');
    change('job-misfire', 'skip');
    fireEvent.click(screen.getAllByTestId('job-contact')[1]!);
    fireEvent.click(screen.getByTestId('job-enabled'));

    await clickAndSettle(screen.getByTestId('job-save'));
    expect(save).toHaveBeenCalledTimes(1);
    expect(save.mock.calls[0]![0]).toEqual<JobInput>({
      name: 'cleanup',
      description: 'removes temp files',
      group: 'maintenance',
      schedule: { type: 'interval', everyMs: 300_000 },
      enabled: false,
      target: { type: 'node', nodeId: 'client-1' },
      routing: 'failover',
      kind: { type: 'shell', command: 'find', args: ['/tmp', '-mtime', '+7', '-delete'] },
      payload: {},
      timeoutMs: 30_000,
      retries: { max: 2, backoffMs: 10_000 },
      concurrency: 'forbid',
      misfire: 'skip',
      onStartDeadline: 'skipped',
      incidentOnStartDeadline: false,
      contacts: ['c2'],
      deleteWhenDone: true,
    });
    expect(onSaved).toHaveBeenCalledWith(expect.objectContaining({ id: 'new-id' }));
  });

  it('a cron handler job with a payload, and a bad payload never reaches the server', async () => {
    fakeFetch(() => ({ body: { nextFireTimes: [] } }));
    const save = vi.fn((input: JobInput): Promise<Job> => Promise.resolve({ ...(input as Job), id: 'x' }));
    renderWithI18n(<JobEditor job={null} contacts={[]} onSaved={() => {}} save={save} />);
    change('job-name', 'ping');
    change('job-cron-expr', '*/10 * * * * *');
    change('job-timezone', 'Europe/Berlin');
    change('job-handler-name', 'echo');
    change('job-payload', '{"hello":');
    await clickAndSettle(screen.getByTestId('job-save'));
    expect(save).not.toHaveBeenCalled();
    expect(screen.getByTestId('job-payload-error').textContent).toBe('This is not valid JSON.');

    change('job-payload', '{"hello": "clover"}');
    await clickAndSettle(screen.getByTestId('job-save'));
    expect(save).toHaveBeenCalledTimes(1);
    const sent = save.mock.calls[0]![0];
    expect(sent.schedule).toEqual({ type: 'cron', expr: '*/10 * * * * *', timezone: 'Europe/Berlin' });
    expect(sent.kind).toEqual({ type: 'handler', name: 'echo' });
    expect(sent.payload).toEqual({ hello: 'clover' });
    expect(sent.target).toEqual({ type: 'any' });
    expect(sent.routing).toBe('round_robin');
  });
});

describe('start deadline', () => {
  const change = (testId: string, value: string) => fireEvent.change(screen.getByTestId(testId), { target: { value } });
  const hintOf = (testId: string) => screen.getByTestId(testId).parentElement?.querySelector('.hint')?.textContent ?? '';

  it('seconds in the form, ms on the wire; empty sends none (the default), 0 is kept, not a number is caught', () => {
    expect(buildJobInput(form({ name: 'a', startDeadlineSeconds: ' 2.5 ' })).input?.startDeadlineMs).toBe(2500);
    expect(buildJobInput(form({ name: 'a', startDeadlineSeconds: '0' })).input?.startDeadlineMs).toBe(0);
    expect('startDeadlineMs' in buildJobInput(form({ name: 'a', startDeadlineSeconds: '  ' })).input!).toBe(false);
    const bad = buildJobInput(form({ name: 'a', startDeadlineSeconds: 'soon' }));
    expect(bad.input).toBeNull();
    expect(bad.errors).toEqual({ startDeadlineMs: 'form.error.number' });
    const outcome = buildJobInput(form({ name: 'a', onStartDeadline: 'failed', incidentOnStartDeadline: true })).input!;
    expect([outcome.onStartDeadline, outcome.incidentOnStartDeadline]).toEqual(['failed', true]);
  });

  it('an edit sends an emptied start deadline as null, which the API takes as "unset"', () => {
    const { input } = buildJobInput(jobToForm(jobFixture({ startDeadlineMs: 9000 })));
    expect(jobUpdateOf(input!).startDeadlineMs).toBe(9000);
    const emptied = buildJobInput({ ...jobToForm(jobFixture({ startDeadlineMs: 9000 })), startDeadlineSeconds: '' }).input!;
    expect(jobUpdateOf(emptied)).toEqual({ ...emptied, startDeadlineMs: null });
    expect(jobToForm(jobFixture({})).startDeadlineSeconds).toBe('');
  });

  it('create: the three fields are sent, and the hint tells the default for the schedule', async () => {
    fakeFetch(() => ({ body: { nextFireTimes: [] } }));
    const save = vi.fn((input: JobInput): Promise<Job> => Promise.resolve({ ...(input as Job), id: 'new-id' }));
    renderWithI18n(<JobEditor job={null} contacts={[]} onSaved={() => {}} save={save} />);
    expect(hintOf('job-start-deadline')).toContain("the time until the rule's next fire, at least 10 s and at most 60 s");
    fireEvent.click(screen.getByTestId('job-schedule-type-interval'));
    change('job-interval-seconds', '300');
    expect(hintOf('job-start-deadline')).toContain('Empty: 60 s (the interval, at least 10 s and at most 60 s)');
    change('job-interval-seconds', '5');
    expect(hintOf('job-start-deadline')).toContain('Empty: 10 s (the interval, at least 10 s and at most 60 s)');
    fireEvent.click(screen.getByTestId('job-schedule-type-once'));
    expect(hintOf('job-start-deadline')).toContain('Empty: 60 s (a one-time job has no period)');
    fireEvent.click(screen.getByTestId('job-schedule-type-interval'));

    change('job-name', 'burst');
    change('job-handler-name', 'noop');
    change('job-start-deadline', '45');
    change('job-on-start-deadline', 'failed');
    fireEvent.click(screen.getByTestId('job-incident-on-start-deadline'));
    await clickAndSettle(screen.getByTestId('job-save'));
    expect(save).toHaveBeenCalledTimes(1);
    expect(save.mock.calls[0]![0]).toMatchObject({
      schedule: { type: 'interval', everyMs: 5000 },
      startDeadlineMs: 45_000,
      onStartDeadline: 'failed',
      incidentOnStartDeadline: true,
    });
  });

  it("edit: the job's values are shown; emptying the deadline PUTs null (back to the default)", async () => {
    const { calls } = fakeFetch((c) => (c.method === 'PUT' ? { body: { ...jobFixture({}), id: 'j1' } } : { body: { nextFireTimes: [] } }));
    const onSaved = vi.fn();
    renderWithI18n(
      <JobEditor
        job={jobFixture({ startDeadlineMs: 90_000, onStartDeadline: 'failed', incidentOnStartDeadline: true })}
        contacts={[]}
        onSaved={onSaved}
      />,
    );
    expect(screen.getByTestId<HTMLInputElement>('job-start-deadline').value).toBe('90');
    expect(screen.getByTestId<HTMLSelectElement>('job-on-start-deadline').value).toBe('failed');
    expect(screen.getByTestId<HTMLInputElement>('job-incident-on-start-deadline').checked).toBe(true);

    change('job-start-deadline', '');
    fireEvent.click(screen.getByTestId('job-incident-on-start-deadline'));
    await clickAndSettle(screen.getByTestId('job-save'));
    const put = calls.find((c) => c.method === 'PUT');
    expect(put?.url).toBe('/api/jobs/j1');
    expect(put?.body).toMatchObject({ startDeadlineMs: null, onStartDeadline: 'failed', incidentOnStartDeadline: false });
    expect(onSaved).toHaveBeenCalled();
  });

  it("the API's field errors show on the fields, not in the banner", async () => {
    fakeFetch(() => ({ body: { nextFireTimes: [] } }));
    const save = vi.fn((): Promise<Job> =>
      Promise.reject(
        new ApiError(400, 'validation', 'invalid job', {
          startDeadlineMs: 'Too big: expected number to be <=604800000',
          onStartDeadline: 'Invalid option: expected one of "skipped"|"failed"',
          incidentOnStartDeadline: 'Invalid input: expected boolean',
        }),
      ),
    );
    renderWithI18n(<JobEditor job={null} contacts={[]} onSaved={() => {}} save={save} />);
    change('job-name', 'far');
    change('job-handler-name', 'noop');
    change('job-start-deadline', '999999999');
    await clickAndSettle(screen.getByTestId('job-save'));
    expect(save.mock.calls[0]).toBeDefined();
    expect(screen.getByTestId('job-start-deadline-error').textContent).toBe('Too big: expected number to be <=604800000');
    expect(screen.getByTestId('job-on-start-deadline-error').textContent).toContain('expected one of');
    expect(screen.getByTestId('job-incident-on-start-deadline-error').textContent).toBe('Invalid input: expected boolean');
    const banner = screen.getByTestId('job-form-error').textContent;
    expect(banner).toContain('invalid job');
    expect(banner).not.toContain('Too big');
    expect(banner).not.toContain('expected boolean');
  });

  it('zh labels', async () => {
    fakeFetch(() => ({ body: { nextFireTimes: [] } }));
    renderWithI18n(<JobEditor job={null} contacts={[]} onSaved={() => {}} save={() => Promise.reject(new Error('no'))} />, 'zh');
    await act(() => Promise.resolve());
    expect(screen.getByText('启动期限（秒）')).toBeTruthy();
    expect(screen.getByText('运行错过启动期限时创建事件')).toBeTruthy();
    expect(hintOf('job-start-deadline')).toContain('到规则下一次触发的时间，至少 10 秒，最多 60 秒');
    expect([...screen.getByTestId<HTMLSelectElement>('job-on-start-deadline').options].map((o) => o.value)).toEqual(['skipped', 'failed']);
  });
});
