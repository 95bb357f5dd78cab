import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { cleanUp, followCursor } from '@clover/testkit';
import { JobChangeFeed, type JobChange } from '@clover/zk-kit';
import type {
  ApiErrorBody,
  AuditEntry,
  FieldIssue,
  Contact,
  ContactList,
  CronPreview,
  Health,
  IncidentPage,
  Job,
  Page,
  JobDetail,
  JobPage,
  LogPage,
  OutboxPage,
  Run,
  RunPage,
  SignedIn,
  Stats,
  TokenCreated,
  TokenList,
  UserList,
  UserView,
  Wire,
} from '@clover/model';
import { hashPassword } from '../src/index.js';
import {
  Client,
  embeddedBackend,
  everySecondJob,
  ifStarted,
  loggedIn,
  mongoBackend,
  paths,
  startHarness,
  type Harness,
  type HarnessStore,
} from './harness.js';

/** The parts of the OpenAPI document the suite reads. */
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, { post?: unknown } | undefined>;
  components: { schemas: Record<string, { properties: Record<string, { enum?: string[] } | undefined> } | undefined> };
}

/**
 * The whole API suite on one store: a console of its own over it, the same tests word for word,
 * so what the console promises is proven on the embedded store and on MongoDB alike.
 */
function apiSuite(storeName: string, store: HarnessStore): void {
  describe(`console API on ${storeName}`, () => {
    let h: Harness;
    let admin: Client;
    let operator: Client;
    let viewer: Client;

    before(async () => {
      h = await startHarness(`memory:console-${randomUUID()}`, store);
      admin = await loggedIn(h.url, 'admin');
      operator = await loggedIn(h.url, 'olga');
      viewer = await loggedIn(h.url, 'vic');
    });
    after(() => ifStarted(h)?.close());

    describe('health, discovery and errors', () => {
      test('health answers without a login', async () => {
        const r = await new Client(h.url).call<Health>('GET', '/api/health');
        assert.equal(r.status, 200);
        assert.equal(r.body.status, 'ok');
        assert.equal(r.body.zk, 'connected');
        assert.equal(r.body.store, 'ok');
      });

      test('the OpenAPI document is generated from the model schemas', async () => {
        const r = await new Client(h.url).call<OpenApiDocument>('GET', '/api/openapi.json');
        assert.equal(r.status, 200);
        assert.equal(r.body.openapi, '3.1.0');
        assert.ok(r.body.paths['/api/jobs']?.post);
        assert.ok(r.body.components.schemas.JobInput?.properties.schedule, 'JobInput has a schedule');
        assert.ok(r.body.components.schemas.Run?.properties.status?.enum?.includes('timed_out'));
      });

      test('unknown endpoints, bad JSON and anonymous reads get clear JSON errors', async () => {
        assert.deepEqual((await admin.call<ApiErrorBody>('GET', '/api/nope')).body.error, 'not_found');
        const bad = await admin.call<ApiErrorBody>('POST', '/api/jobs', undefined, { raw: '{"name": ' });
        assert.equal(bad.status, 400);
        assert.equal(bad.body.error, 'bad_request');
        const anon = await new Client(h.url).call<ApiErrorBody>('GET', '/api/jobs');
        assert.equal(anon.status, 401);
        assert.equal(anon.body.error, 'unauthenticated');
      });
    });

    describe('auth', () => {
      test('login sets an httpOnly session cookie and a readable CSRF cookie; me and logout work', async () => {
        const c = new Client(h.url);
        const r = await c.login('vic');
        assert.equal(r.status, 200);
        assert.deepEqual(r.body.user, { name: 'vic', role: 'viewer', grants: [], disabled: false });
        const cookies = r.headers.getSetCookie();
        assert.ok(cookies.some((s) => s.startsWith('clover_session=') && /HttpOnly/i.test(s) && /SameSite=Strict/i.test(s)));
        assert.ok(cookies.some((s) => s.startsWith('clover_csrf=') && !/HttpOnly/i.test(s)));
        assert.equal((await c.call<SignedIn>('GET', '/api/auth/me')).body.user.name, 'vic');
        assert.equal((await c.call('POST', '/api/auth/logout')).status, 200);
        assert.equal((await c.call('GET', '/api/auth/me')).status, 401);
      });

      test('a wrong password is 401; the sixth failure in a row is 429 with Retry-After', async () => {
        await h.store.users.create({
          name: 'target',
          role: 'viewer',
          passwordHash: await hashPassword('right-password'),
          createdAt: new Date(),
        });
        const c = new Client(h.url);
        for (let i = 0; i < 5; i++) {
          const r = await c.login<ApiErrorBody>('target', 'wrong');
          assert.equal(r.status, 401);
          assert.equal(r.body.message, 'wrong user name or password');
        }
        const blocked = await c.login<ApiErrorBody>('target', 'right-password');
        assert.equal(blocked.status, 429, 'even the right password waits');
        assert.equal(blocked.body.error, 'too_many_requests');
        assert.ok(Number(blocked.headers.get('retry-after')) > 0);
        assert.equal((await new Client(h.url).login('olga')).status, 200, 'other users are not locked out');
      });

      test('a cookie-authenticated write without the CSRF header is refused', async () => {
        const r = await operator.call<ApiErrorBody>('POST', '/api/contacts', { name: 'x', email: 'x@example.com' }, { csrf: false });
        assert.equal(r.status, 403);
        assert.equal(r.body.error, 'csrf_failed');
        const wrong = await operator.call(
          'POST',
          '/api/contacts',
          { name: 'x', email: 'x@example.com' },
          { csrf: false, headers: { 'x-csrf-token': 'forged' } },
        );
        assert.equal(wrong.status, 403);
        assert.equal((await h.store.contacts.list()).filter((c) => c.name === 'x').length, 0, 'nothing written');
      });

      test('API tokens authenticate scripts without cookies or CSRF; unknown tokens are 401', async () => {
        const made = await admin.call<TokenCreated>('POST', '/api/auth/tokens', { name: 'ci' });
        assert.equal(made.status, 201);
        assert.match(made.body.token, /^clv_/);
        const script = new Client(h.url);
        script.bearer = made.body.token;
        assert.equal((await script.call<SignedIn>('GET', '/api/auth/me')).body.user.name, 'admin');
        const job = await script.call('POST', '/api/jobs', everySecondJob('from-script'));
        assert.equal(job.status, 201);
        script.bearer = 'clv_forged';
        assert.equal((await script.call('GET', '/api/jobs')).status, 401);
        assert.equal((await operator.call('POST', '/api/auth/tokens', { name: 'nope' })).status, 403);
      });

      test('users: admins add and remove them; others may not', async () => {
        assert.equal((await operator.call('GET', '/api/users')).status, 403);
        const short = await admin.call<ApiErrorBody>('POST', '/api/users', { name: 'new', password: 'short', role: 'viewer' });
        assert.equal(short.status, 400);
        assert.equal(short.body.fields?.password, 'at least 8 characters');
        assert.equal((await admin.call('POST', '/api/users', { name: 'newbie', password: 'long-enough', role: 'operator' })).status, 201);
        assert.equal((await admin.call('POST', '/api/users', { name: 'newbie', password: 'long-enough', role: 'operator' })).status, 409);
        assert.equal((await new Client(h.url).login('newbie', 'long-enough')).body.user.role, 'operator');
        assert.ok((await admin.call<UserList>('GET', '/api/users')).body.items.some((u) => u.name === 'newbie'));
        assert.equal((await admin.call('DELETE', '/api/users/newbie')).status, 200);
        assert.equal((await admin.call('DELETE', '/api/users/admin')).status, 409, 'the last admin, and yourself');
      });

      test('the last admin can be neither deleted nor demoted; with a second admin, the other one can', async () => {
        const alone = await admin.call<ApiErrorBody>('DELETE', '/api/users/admin');
        assert.equal(alone.status, 409);
        assert.match(alone.body.message, /last admin/);
        const demote = await admin.call<ApiErrorBody>('PUT', '/api/users/admin', { role: 'operator' });
        assert.equal(demote.status, 409);
        assert.equal((await admin.call<UserView>('PUT', '/api/users/admin', { grants: [] })).status, 200, 'grants alone still change');
        assert.equal((await admin.call('POST', '/api/users', { name: 'ada', password: 'long-enough', role: 'admin' })).status, 201);
        assert.equal((await admin.call('DELETE', '/api/users/admin')).status, 400, 'two admins: still not yourself');
        assert.equal((await admin.call<UserView>('PUT', '/api/users/ada', { role: 'operator' })).status, 200, 'two admins: the other one');
        assert.equal((await admin.call('PUT', '/api/users/ada', { role: 'admin' })).status, 200);
        assert.equal((await admin.call('DELETE', '/api/users/ada')).status, 200);
        assert.deepEqual(
          (await admin.call<UserList>('GET', '/api/users')).body.items.filter((u) => u.role === 'admin').map((u) => u.name),
          ['admin'],
        );
      });

      test('a disabled user cannot log in, and their session and token stop working at once; enabled, they work again', async () => {
        assert.equal((await admin.call('POST', '/api/users', { name: 'dora', password: 'dora-password', role: 'operator' })).status, 201);
        const dora = await loggedIn(h.url, 'dora');
        const made = await admin.call<TokenCreated>('POST', '/api/auth/tokens', { name: 'dora-script', user: 'dora' });
        const script = new Client(h.url);
        script.bearer = made.body.token;
        assert.equal((await script.call('GET', '/api/jobs')).status, 200);
        assert.equal((await operator.call('POST', '/api/users/dora/disable')).status, 403, 'only admins');
        const disabled = await admin.call<UserView>('POST', '/api/users/dora/disable');
        assert.deepEqual(disabled.body, { name: 'dora', role: 'operator', grants: [], disabled: true });
        assert.equal((await dora.call('GET', '/api/jobs')).status, 401, 'the open session no longer works');
        assert.equal((await script.call('GET', '/api/jobs')).status, 401, 'nor the token');
        const refused = await new Client(h.url).login<ApiErrorBody>('dora');
        assert.equal(refused.status, 401);
        assert.match(refused.body.message, /disabled/);
        const wrong = await new Client(h.url).login<ApiErrorBody>('dora', 'not-her-password');
        assert.doesNotMatch(wrong.body.message, /disabled/, 'a wrong password learns nothing of the user');
        assert.ok((await admin.call<UserList>('GET', '/api/users')).body.items.some((u) => u.name === 'dora' && u.disabled));
        assert.equal((await admin.call<UserView>('POST', '/api/users/dora/enable')).body.disabled, false);
        assert.equal((await script.call('GET', '/api/jobs')).status, 200, 'the token works again');
        assert.equal((await new Client(h.url).login('dora')).status, 200);
        assert.equal((await admin.call('POST', '/api/users/nobody/disable')).status, 404);
        assert.equal((await admin.call('DELETE', '/api/users/dora')).status, 200);
      });

      test('the last enabled admin cannot be disabled, nor can an admin disable themselves', async () => {
        const alone = await admin.call<ApiErrorBody>('POST', '/api/users/admin/disable');
        assert.equal(alone.status, 409);
        assert.match(alone.body.message, /last admin/);
        assert.equal((await admin.call('POST', '/api/users', { name: 'ada2', password: 'long-enough', role: 'admin' })).status, 201);
        assert.equal((await admin.call('POST', '/api/users/admin/disable')).status, 400, 'two admins: still not yourself');
        assert.equal((await admin.call('POST', '/api/users/ada2/disable')).status, 200, 'two admins: the other one');
        // ada2 disabled counts for no admin: admin is the last enabled one again.
        assert.equal((await admin.call('PUT', '/api/users/admin', { role: 'operator' })).status, 409);
        assert.equal((await admin.call('DELETE', '/api/users/ada2')).status, 200);
      });

      test('audit: every write is kept with who, before and after; secrets never; admins read it', async () => {
        const made = await operator.call<Job>('POST', '/api/jobs', everySecondJob('audited'));
        const id = made.body.id;
        await operator.call('PUT', `/api/jobs/${id}`, { description: 'changed' });
        await operator.call('POST', `/api/jobs/${id}/disable`);
        await operator.call('DELETE', `/api/jobs/${id}`);
        await operator.call('POST', '/api/jobs', { name: '' }); // refused: not a change
        assert.equal((await operator.call('GET', `/api/audit?q=${id}`)).status, 403);
        const log = await admin.call<Wire<Page<AuditEntry>>>('GET', `/api/audit?q=${id}`);
        assert.equal(log.status, 200);
        assert.deepEqual(
          log.body.items.map((e) => [e.user, e.method, e.path, e.target]),
          [
            ['olga', 'DELETE', `/api/jobs/${id}`, id],
            ['olga', 'POST', `/api/jobs/${id}/disable`, id],
            ['olga', 'PUT', `/api/jobs/${id}`, id],
          ],
          'the create names the new job only in its answer',
        );
        const [del, disable, put] = log.body.items;
        assert.equal((put?.before as { description?: string }).description, '');
        assert.equal((put?.after as { description?: string }).description, 'changed');
        assert.equal((disable?.after as { enabled?: boolean }).enabled, false);
        assert.equal((del?.before as { name?: string }).name, 'audited');
        assert.equal(del?.after, null);
        const created = await admin.call<Wire<Page<AuditEntry>>>('GET', '/api/audit?method=POST&q=/api/jobs&user=olga&limit=500');
        assert.ok(created.body.items.some((e) => (e.after as { id?: string } | null)?.id === id && e.before === null));

        await admin.call('POST', '/api/users', { name: 'audited-user', password: 'secret-password', role: 'viewer' });
        await admin.call('PUT', '/api/users/audited-user/password', { password: 'other-secret' });
        const token = await admin.call<TokenCreated>('POST', '/api/auth/tokens', { name: 'audited-token' });
        const all = JSON.stringify((await admin.call('GET', '/api/audit?user=admin&limit=500')).body);
        for (const secret of ['secret-password', 'other-secret', token.body.token])
          assert.ok(!all.includes(secret), `no ${secret.slice(0, 6)}… kept`);
        assert.ok(all.includes('/api/users/audited-user/password'));
      });

      test("a deleted job's open failure incident closes with it", async () => {
        const made = await operator.call<Job>('POST', '/api/jobs', everySecondJob('fails-then-goes'));
        const id = made.body.id;
        const incident = await h.store.incidents.open({
          kind: 'job_failed',
          subject: id,
          jobId: id,
          openedAt: new Date(),
          message: 'failed',
        });
        assert.equal((await operator.call('DELETE', `/api/jobs/${id}`)).status, 200);
        assert.notEqual((await h.store.incidents.get(incident.id))?.closedAt, null);
        assert.equal(await h.store.incidents.findOpen('job_failed', id), null);
      });

      test('tokens are listed without their secret and revoked; a password is reset', async () => {
        const made = await admin.call<TokenCreated>('POST', '/api/auth/tokens', { name: 'to-revoke' });
        assert.equal(made.status, 201);
        const listed = await admin.call<TokenList>('GET', '/api/auth/tokens');
        const mine = listed.body.items.find((t) => t.id === made.body.id);
        assert.deepEqual(Object.keys(mine ?? {}).sort(), ['createdAt', 'id', 'name', 'user']);
        assert.ok(!JSON.stringify(listed.body).includes(made.body.token), 'the secret is never listed');
        const script = new Client(h.url);
        script.bearer = made.body.token;
        assert.equal((await script.call('GET', '/api/auth/me')).status, 200);
        assert.equal((await admin.call('DELETE', `/api/auth/tokens/${made.body.id}`)).status, 200);
        assert.equal((await script.call('GET', '/api/auth/me')).status, 401, 'revoked at once');
        assert.equal((await admin.call('DELETE', `/api/auth/tokens/${made.body.id}`)).status, 404);

        assert.equal(
          (await admin.call('POST', '/api/users', { name: 'forgetful', password: 'first-password', role: 'viewer' })).status,
          201,
        );
        assert.equal((await admin.call('PUT', '/api/users/forgetful/password', { password: 'short' })).status, 400);
        assert.equal((await admin.call('PUT', '/api/users/forgetful/password', { password: 'second-password' })).status, 200);
        assert.equal((await new Client(h.url).login('forgetful', 'first-password')).status, 401);
        assert.equal((await new Client(h.url).login('forgetful', 'second-password')).status, 200);
        assert.equal((await admin.call('PUT', '/api/users/nobody/password', { password: 'second-password' })).status, 404);
      });
    });

    describe('jobs', () => {
      const changes: JobChange[] = [];
      let feed: JobChangeFeed;
      before(async () => {
        feed = new JobChangeFeed(h.zk, paths, { onChange: (c) => void changes.push(c) });
        await feed.start();
      });
      after(() => feed.close());

      const waitChange = async (jobId: string, op: string) => {
        for (let i = 0; i < 100; i++) {
          if (changes.some((c) => c.jobId === jobId && c.op === op)) return;
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.fail(`no ${op} announced for ${jobId}`);
      };

      test('create, read with the next ten fire times, patch, disable/enable, trigger, delete; each announced', async () => {
        const created = await operator.call<Wire<Job>>('POST', '/api/jobs', {
          ...everySecondJob('report'),
          description: 'daily report',
          schedule: { type: 'cron', expr: '0 30 9 * * *', timezone: 'Asia/Shanghai' },
        });
        assert.equal(created.status, 201);
        const id = created.body.id;
        await waitChange(id, 'upsert');
        const read = await viewer.call<Wire<JobDetail>>('GET', `/api/jobs/${id}`);
        assert.equal(read.body.job.name, 'report');
        assert.equal(read.body.nextFireTimes.length, 10);
        assert.match(read.body.nextFireTimes[0] ?? '', /T01:30:00\.000Z$/, '09:30 in Shanghai is 01:30 UTC');
        const patched = await operator.call<Wire<Job>>('PUT', `/api/jobs/${id}`, { description: 'changed' });
        assert.equal(patched.status, 200);
        assert.equal(patched.body.description, 'changed');
        assert.deepEqual(patched.body.schedule, { type: 'cron', expr: '0 30 9 * * *', timezone: 'Asia/Shanghai' }, 'untouched fields stay');
        const deadline = await operator.call<Wire<Job>>('PUT', `/api/jobs/${id}`, { startDeadlineMs: 30_000, onStartDeadline: 'failed' });
        assert.equal(deadline.body.startDeadlineMs, 30_000);
        const unset = await operator.call<Wire<Job>>('PUT', `/api/jobs/${id}`, { startDeadlineMs: null });
        assert.equal(unset.status, 200);
        assert.equal(unset.body.startDeadlineMs, undefined, 'null unsets the start deadline: the job gets the default again');
        assert.equal(unset.body.onStartDeadline, 'failed', 'untouched fields stay');
        assert.equal((await viewer.call<Wire<JobDetail>>('GET', `/api/jobs/${id}`)).body.job.startDeadlineMs, undefined, 'as stored');
        assert.equal((await operator.call<Wire<Job>>('POST', `/api/jobs/${id}/disable`)).body.enabled, false);
        assert.deepEqual((await viewer.call<Wire<JobDetail>>('GET', `/api/jobs/${id}`)).body.nextFireTimes, []);
        assert.equal((await operator.call<Wire<Job>>('POST', `/api/jobs/${id}/enable`)).body.enabled, true);
        assert.equal((await operator.call('POST', `/api/jobs/${id}/trigger`)).status, 202);
        await waitChange(id, 'trigger');
        await h.store.runs.insert({
          id: `${id}@2026-01-01T00:00:00.000Z`,
          jobId: id,
          scheduledAt: new Date('2026-01-01T00:00:00Z'),
          status: 'succeeded',
        });
        await h.store.runs.insert({
          id: `${id}@2026-01-01T00:00:01.000Z`,
          jobId: id,
          scheduledAt: new Date('2026-01-01T00:00:01Z'),
          status: 'running',
          node: 'a1',
        });
        await h.store.runs.insert({
          id: `${id}@2026-01-01T00:00:02.000Z`,
          jobId: id,
          scheduledAt: new Date('2026-01-01T00:00:02Z'),
          status: 'scheduled',
        });
        // What the store holds of the job's runs at the moment its data is deleted.
        const atDelete: Array<[string, string, string | null]> = [];
        const realDelete = h.store.jobs.delete.bind(h.store.jobs);
        h.store.jobs.delete = async (jobId) => {
          for (const r of (await h.store.runs.list({ jobId })).items) atDelete.push([r.id.slice(-13), r.status, r.error]);
          return realDelete(jobId);
        };
        try {
          assert.equal((await operator.call('DELETE', `/api/jobs/${id}`)).status, 200);
        } finally {
          h.store.jobs.delete = realDelete;
        }
        assert.deepEqual(
          atDelete.sort(),
          [
            ['00:00:00.000Z', 'succeeded', null],
            ['00:00:01.000Z', 'cancelled', 'cancelled: the job was deleted by olga'],
            ['00:00:02.000Z', 'cancelled', 'cancelled: the job was deleted by olga'],
          ],
          "work in flight recorded cancelled before the job's data goes; finished runs untouched",
        );
        await waitChange(id, 'delete');
        assert.equal((await viewer.call('GET', `/api/jobs/${id}`)).status, 404);
        assert.equal((await h.store.runs.list({ jobId: id })).items.length, 0, 'its runs went with it');
      });

      test('validation names the field, in words and as a code: bad cron, unknown timezone, empty target, oversized payload, units', async () => {
        const cases: Array<[Record<string, unknown>, string, RegExp, FieldIssue]> = [
          [
            { schedule: { type: 'cron', expr: '61 * * * * *' } },
            'schedule.expr',
            /bad cron rule/,
            { code: 'cron', params: { detail: 'second: 61 is outside 0-59' } },
          ],
          [
            { schedule: { type: 'cron', expr: '0 0 0 31 4 *' } },
            'schedule.expr',
            /bad cron rule: the rule can never fire/,
            { code: 'cron', params: { detail: 'the rule can never fire: day of month "31" never falls in month "4"' } },
          ],
          [
            { schedule: { type: 'cron', expr: '* * * * * *', timezone: 'Mars/Olympus' } },
            'schedule.timezone',
            /unknown timezone/,
            { code: 'timezone' },
          ],
          [{ target: { type: 'group', group: '' } }, 'target.group', /must not be empty/, { code: 'required' }],
          [{ payload: { blob: 'x'.repeat(70 * 1024) } }, 'payload', /./, { code: 'too_large', params: { n: 65536 } }],
          [{ name: '' }, 'name', /must not be empty/, { code: 'required' }],
          // In the schema's unit (ms): the console says "at least 0.1 s" in a form that asks for seconds.
          [{ timeoutMs: 0 }, 'timeoutMs', /./, { code: 'min', params: { n: 100 } }],
        ];
        // A header named __proto__ would vanish in the schema: the body is refused, saying why.
        const proto = await operator.call<ApiErrorBody>('POST', '/api/jobs', {
          ...everySecondJob(),
          kind: {
            type: 'http',
            method: 'GET',
            url: 'http://example.test/',
            headers: JSON.parse('{"__proto__":"x"}') as Record<string, string>,
          },
        });
        assert.deepEqual(
          [proto.status, proto.body.error, proto.body.message],
          [400, 'bad_request', 'a "__proto__" key is not allowed anywhere in the body'],
        );
        for (const [patch, field, message, issue] of cases) {
          const r = await operator.call<ApiErrorBody>('POST', '/api/jobs', { ...everySecondJob(), ...patch });
          assert.equal(r.status, 400, field);
          assert.equal(r.body.error, 'validation_failed');
          assert.match(r.body.fields?.[field] ?? '', message, `${field}: ${JSON.stringify(r.body.fields)}`);
          assert.deepEqual(r.body.issues?.[field], issue, field);
        }
      });

      test('list filters by text and state and pages by cursor', async () => {
        for (let i = 0; i < 7; i++) await operator.call('POST', '/api/jobs', { ...everySecondJob(`page-${i}`), enabled: i % 2 === 0 });
        const pages = await followCursor(
          async (cursor) =>
            (await viewer.call<Wire<JobPage>>('GET', `/api/jobs?q=page-&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`))
              .body,
          { maxPages: 10, what: 'the jobs named page-' },
        );
        const seen = pages.flatMap((p) => p.items.map((j) => j.name));
        assert.equal(seen.length, 7);
        assert.equal(new Set(seen).size, 7);
        assert.equal((await viewer.call<Wire<JobPage>>('GET', '/api/jobs?q=page-&enabled=false')).body.items.length, 3);
        assert.equal((await viewer.call<ApiErrorBody>('GET', '/api/jobs?limit=0')).body.fields?.limit, 'at least 1');
        assert.equal((await viewer.call('GET', '/api/jobs?cursor=garbage')).status, 400);
      });

      test('cron preview answers fire times or the field message', async () => {
        const ok = await viewer.call<Wire<CronPreview>>('POST', '/api/cron/preview', {
          schedule: { type: 'cron', expr: '*/15 * * * * *' },
        });
        assert.equal(ok.body.nextFireTimes.length, 10);
        assert.equal(Date.parse(ok.body.nextFireTimes[1] ?? '') - Date.parse(ok.body.nextFireTimes[0] ?? ''), 15_000);
        const bad = await viewer.call<ApiErrorBody>('POST', '/api/cron/preview', { schedule: { type: 'cron', expr: 'every day' } });
        assert.equal(bad.status, 400);
        assert.match(bad.body.fields?.['schedule.expr'] ?? '', /bad cron rule/);
        const never = await viewer.call<ApiErrorBody>('POST', '/api/cron/preview', { schedule: { type: 'cron', expr: '0 0 0 31 4 *' } });
        assert.equal(never.status, 400);
        assert.match(never.body.fields?.['schedule.expr'] ?? '', /can never fire/);
      });

      test('cron preview says which fires DST moved', async () => {
        // The last Sunday of March is the EU's spring-forward day: 02:30 never happens in Berlin and fires at 03:00 CEST.
        const spring = await viewer.call<Wire<CronPreview>>('POST', '/api/cron/preview', {
          schedule: { type: 'cron', expr: '0 30 2 ? 3 0L', timezone: 'Europe/Berlin' },
        });
        assert.equal(spring.status, 200);
        assert.equal(spring.body.fires.length, 10);
        for (const fire of spring.body.fires) {
          assert.equal(fire.shifted, 'gap');
          assert.match(fire.at, /T01:00:00\.000Z$/, '03:00 CEST');
        }
        assert.deepEqual(
          spring.body.nextFireTimes,
          spring.body.fires.map((f) => f.at),
        );
        // The last Sunday of October: 02:30 happens twice and an hourly rule fires at both; 03:30 once.
        const fall = await viewer.call<Wire<CronPreview>>('POST', '/api/cron/preview', {
          schedule: { type: 'cron', expr: '0 30 2,3 ? 10 0L', timezone: 'Europe/Berlin' },
        });
        const [first, second] = fall.body.fires;
        assert.ok(first && second, 'two fires');
        assert.deepEqual(
          [first.shifted, second.shifted],
          ['fold', undefined],
          'a fixed hour fires once at the first pass of 02:30, then 03:30',
        );
        assert.equal(Date.parse(second.at) - Date.parse(first.at), 2 * 3600_000);
        const hourly = await viewer.call<Wire<CronPreview>>('POST', '/api/cron/preview', {
          schedule: { type: 'cron', expr: '0 30 * ? 10 0L', timezone: 'Europe/Berlin' },
        });
        const folded = hourly.body.fires.filter((f) => f.shifted === 'fold');
        assert.equal(folded.length, 2, 'both passes of 02:30');
        assert.equal(Date.parse(folded[1]!.at) - Date.parse(folded[0]!.at), 3600_000);
      });

      test('viewers cannot write jobs; operators cannot touch nodes or users', async () => {
        assert.equal((await viewer.call('POST', '/api/jobs', everySecondJob())).status, 403);
        const any = (await viewer.call<Wire<JobPage>>('GET', '/api/jobs')).body.items[0];
        assert.ok(any, 'a job to try');
        assert.equal((await viewer.call('POST', `/api/jobs/${any.id}/trigger`)).status, 403);
        assert.equal((await viewer.call('DELETE', `/api/jobs/${any.id}`)).status, 403);
        assert.equal((await viewer.call('POST', '/api/contacts', { name: 'v', email: 'v@example.com' })).status, 403);
        const forbidden = await operator.call<ApiErrorBody>('PUT', `/api/nodes/data?path=${paths.config}`, { data: {}, version: 0 });
        assert.equal(forbidden.status, 403);
        assert.match(forbidden.body.message, /admin/);
        assert.equal((await operator.call('DELETE', `/api/nodes/data?path=${paths.config}&confirm=${paths.config}`)).status, 403);
      });

      test('shell and http jobs need the admin role or the commands grant: at create, change, enable and trigger', async () => {
        const shell = { ...everySecondJob('shell-perm'), kind: { type: 'shell', command: '/bin/echo', args: ['hi'] }, enabled: false };
        const web = { ...everySecondJob('http-perm'), kind: { type: 'http', url: 'https://example.com/hook' }, enabled: false };
        const needsGrant =
          /^shell jobs run commands on agents: they need the admin role or the "commands" grant; you are operator without it$/;
        const refused = await operator.call<ApiErrorBody>('POST', '/api/jobs', shell);
        assert.equal(refused.status, 403);
        assert.equal(refused.body.error, 'forbidden');
        assert.match(refused.body.message, needsGrant);
        assert.match((await operator.call<ApiErrorBody>('POST', '/api/jobs', web)).body.message, /^http jobs run commands on agents/);
        const created = await admin.call<Job>('POST', '/api/jobs', shell);
        assert.equal(created.status, 201);
        const id = created.body.id;
        const handlerJob = (await operator.call<Job>('POST', '/api/jobs', everySecondJob('becomes-shell'))).body.id;
        try {
          assert.equal((await operator.call('PUT', `/api/jobs/${id}`, { description: 'x' })).status, 403, 'change');
          assert.equal((await operator.call('POST', `/api/jobs/${id}/enable`)).status, 403, 'enable');
          assert.equal((await operator.call('POST', `/api/jobs/${id}/trigger`)).status, 403, 'trigger');
          assert.equal((await operator.call('POST', `/api/jobs/${id}/disable`)).status, 200, 'stopping it needs nothing more');
          assert.equal(
            (await operator.call('PUT', `/api/jobs/${handlerJob}`, { kind: shell.kind })).status,
            403,
            'a handler job turned shell',
          );
          assert.equal((await viewer.call('POST', `/api/jobs/${id}/trigger`)).status, 403, 'a viewer triggers nothing');

          const granted = await admin.call<UserView>('PUT', '/api/users/olga', { grants: ['commands'] });
          assert.deepEqual(granted.body, { name: 'olga', role: 'operator', grants: ['commands'], disabled: false });
          assert.equal((await operator.call('POST', `/api/jobs/${id}/trigger`)).status, 202, 'with the grant');
          assert.equal((await operator.call('PUT', `/api/jobs/${id}`, { description: 'y' })).status, 200);
          const webJob = await operator.call<Job>('POST', '/api/jobs', web);
          assert.equal(webJob.status, 201);
          await admin.call('DELETE', `/api/jobs/${webJob.body.id}`);
          const listed = (await admin.call<UserList>('GET', '/api/users')).body.items.find((u) => u.name === 'olga');
          assert.deepEqual(listed?.grants, ['commands']);
        } finally {
          await admin.call('PUT', '/api/users/olga', { grants: [] });
          await admin.call('DELETE', `/api/jobs/${id}`);
          await admin.call('DELETE', `/api/jobs/${handlerJob}`);
        }
        assert.equal((await operator.call('POST', '/api/jobs', shell)).status, 403, 'revoked at once');
        assert.equal((await admin.call('PUT', '/api/users/olga', { grants: ['everything'] })).status, 400);
        assert.equal((await admin.call('PUT', '/api/users/nobody', { grants: [] })).status, 404);
        assert.equal(
          (await admin.call('PUT', '/api/users/admin', { role: 'operator' })).status,
          409,
          'an admin keeps their own admin role (the last admin, here)',
        );
        assert.equal((await operator.call('PUT', '/api/users/olga', { grants: ['commands'] })).status, 403, 'only admins grant');
      });
    });

    describe('runs, stats, logs, incidents, outbox', () => {
      let jobId: string;
      before(async () => {
        jobId = (await operator.call<Wire<Job>>('POST', '/api/jobs', everySecondJob('history'))).body.id;
        const hour = Math.floor(Date.now() / 3600_000) * 3600_000;
        const statuses = ['succeeded', 'succeeded', 'succeeded', 'failed', 'timed_out', 'lost'] as const;
        for (let i = 0; i < statuses.length; i++) {
          const scheduledAt = new Date(hour + i * 1000);
          const id = `${jobId}@${scheduledAt.toISOString()}`;
          await h.store.runs.insert({ id, jobId, scheduledAt, status: 'scheduled' });
          await h.store.runs.update(id, {
            status: statuses[i],
            node: i % 2 ? 'agent-b' : 'agent-a',
            finishedAt: new Date(scheduledAt.getTime() + 500),
            outputTail: `out ${i}`,
            error: statuses[i] === 'succeeded' ? null : 'boom',
          });
        }
        await h.store.logs.write([
          {
            time: new Date(),
            level: 'error',
            source: 'dispatch',
            node: 'server-1',
            message: 'agent agent-b vanished',
            context: { runs: 2 },
          },
          { time: new Date(), level: 'warn', source: 'monitor', node: 'mon-1', message: 'slow beat', context: {} },
          { time: new Date(), level: 'info', source: 'console', node: 'c', message: 'hello', context: {} },
        ]);
        await h.store.incidents.open({
          kind: 'node_dead',
          subject: 'agent-b',
          nodeKind: 'clients',
          openedAt: new Date(),
          message: 'agent-b is dead',
        });
        await h.store.outbox.add({ to: ['ann@example.com'], subject: '[clover] client agent-b is dead', text: 'agent-b' });
      });

      test('runs filter by job, status and node; one run carries its output', async () => {
        const all = await viewer.call<Wire<RunPage>>('GET', `/api/runs?jobId=${jobId}`);
        assert.equal(all.body.items.length, 6);
        const [newest, oldest] = [all.body.items[0], all.body.items[5]];
        assert.ok(newest && oldest && newest.scheduledAt > oldest.scheduledAt, 'newest first');
        assert.equal((await viewer.call<Wire<RunPage>>('GET', `/api/runs?jobId=${jobId}&status=failed`)).body.items.length, 1);
        assert.equal((await viewer.call<Wire<RunPage>>('GET', `/api/runs?jobId=${jobId}&node=agent-b`)).body.items.length, 3);
        assert.equal((await viewer.call<ApiErrorBody>('GET', '/api/runs?status=exploded')).body.error, 'validation_failed');
        const one = await viewer.call<Wire<Run>>('GET', `/api/runs/${encodeURIComponent(newest.id)}`);
        assert.equal(one.body.outputTail, 'out 5');
        assert.equal((await viewer.call('GET', `/api/runs/${encodeURIComponent(`${jobId}@nope`)}`)).status, 404);
      });

      test("a running run's output streams as server-sent events: what there is, then what is new, then its end", async () => {
        const liveJob = `job_live_${randomUUID().slice(0, 8)}`;
        const scheduledAt = new Date();
        const id = `${liveJob}@${scheduledAt.toISOString()}`;
        await h.store.runs.insert({ id, jobId: liveJob, scheduledAt, status: 'running' });
        const put = (text: string, end: number) =>
          h.store.liveOutputs.put({ runId: id, jobId: liveJob, execId: id, text, end, updatedAt: new Date() });
        await put('line1\n', 6);
        const controller = new AbortController();
        const res = await fetch(`${h.url}/api/runs/${encodeURIComponent(id)}/output/stream`, {
          headers: { cookie: `clover_session=${viewer.cookie('clover_session') ?? ''}` },
          signal: AbortSignal.any([controller.signal, AbortSignal.timeout(15_000)]),
        });
        try {
          assert.equal(res.status, 200);
          assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
          const events = sseEvents(res);
          assert.deepEqual(await events.next(), { event: 'output', data: { text: 'line1\n', reset: true } });
          await put('line1\nline2\n', 12);
          assert.deepEqual(await events.next(), { event: 'output', data: { text: 'line2\n', reset: false } });
          await h.store.runs.update(id, { status: 'succeeded', finishedAt: new Date(), outputTail: 'line1\nline2\n' });
          assert.deepEqual(await events.next(), { event: 'end', data: { status: 'succeeded', outputTail: 'line1\nline2\n' } });
          assert.equal(await events.next(), null, 'the stream closes after its end');
        } finally {
          controller.abort();
        }
        assert.equal((await viewer.call('GET', `/api/runs/${encodeURIComponent(`${liveJob}@nope`)}/output/stream`)).status, 404);
      });

      test('stats come from the counters: statuses, success rate, the hour chart, jobs and failures', async () => {
        const r = await viewer.call<Wire<Stats>>('GET', '/api/stats?hours=6');
        assert.equal(r.status, 200);
        assert.ok((r.body.runsByStatus.succeeded ?? 0) >= 3);
        assert.equal(r.body.runsOverTime.length, 6);
        const last = r.body.runsOverTime.at(-1);
        assert.ok(last && last.succeeded >= 3 && last.failed >= 1 && last.timed_out >= 1 && last.lost >= 1, JSON.stringify(last));
        assert.ok(r.body.successRate !== null && r.body.successRate > 0 && r.body.successRate < 1);
        assert.ok(r.body.jobs.total >= 1);
        assert.ok(r.body.recentFailures.some((run) => run.jobId === jobId));
        assert.ok(r.body.openIncidents.some((i) => i.subject === 'agent-b'));
        assert.deepEqual(Object.keys(r.body.nodes).sort(), ['clients', 'monitors', 'servers']);
      });

      test('stats show the waiting backlog: how many runs wait for a free agent slot, and the oldest with its job', async () => {
        const none = await viewer.call<Wire<Stats>>('GET', '/api/stats');
        assert.deepEqual(none.body.waiting, { count: 0, oldest: null });
        const waits = (await operator.call<Wire<Job>>('POST', '/api/jobs', everySecondJob('backlogged'))).body.id;
        const now = Date.now();
        const slots = [now - 10_000, now - 30_000, now - 20_000].map((t) => new Date(Math.floor(t / 1000) * 1000));
        const ids = slots.map((at) => `${waits}@${at.toISOString()}`);
        await h.store.runs.insertEach(ids.map((id, i) => ({ id, jobId: waits, scheduledAt: slots[i]!, status: 'waiting' as const })));
        const r = await viewer.call<Wire<Stats>>('GET', '/api/stats');
        assert.equal(r.body.waiting.count, 3);
        const oldest = r.body.waiting.oldest;
        assert.ok(oldest);
        assert.deepEqual(
          { runId: oldest.runId, jobId: oldest.jobId, jobName: oldest.jobName, scheduledAt: oldest.scheduledAt },
          { runId: ids[1], jobId: waits, jobName: 'backlogged', scheduledAt: slots[1]!.toISOString() },
        );
        const waited = Date.now() - slots[1]!.getTime();
        assert.ok(oldest.waitedMs >= 30_000 && oldest.waitedMs <= waited, `waited ${oldest.waitedMs} ms`);
        // The oldest goes to an agent: the next one is the oldest now; none left, none shown.
        await h.store.runs.update(ids[1]!, { status: 'dispatched', node: 'agent-a', dispatchedAt: new Date() });
        const next = await viewer.call<Wire<Stats>>('GET', '/api/stats');
        assert.equal(next.body.waiting.count, 2);
        assert.equal(next.body.waiting.oldest?.runId, ids[2]);
        await h.store.runs.updateEach(ids.map((id) => ({ id, patch: { status: 'cancelled' as const, finishedAt: new Date() } })));
        assert.deepEqual((await viewer.call<Wire<Stats>>('GET', '/api/stats')).body.waiting, { count: 0, oldest: null });
      });

      test('logs filter by level-and-above, source, node and text', async () => {
        const errors = await viewer.call<Wire<LogPage>>('GET', '/api/logs?level=error');
        assert.ok(errors.body.items.every((l) => l.level === 'error'));
        assert.ok(errors.body.items.some((l) => l.message === 'agent agent-b vanished'));
        const warnUp = await viewer.call<Wire<LogPage>>('GET', '/api/logs?level=warn');
        assert.ok(warnUp.body.items.some((l) => l.level === 'warn'));
        assert.ok(!warnUp.body.items.some((l) => l.level === 'info'));
        assert.equal((await viewer.call<Wire<LogPage>>('GET', '/api/logs?source=monitor&q=slow')).body.items.length, 1);
        assert.equal((await viewer.call<Wire<LogPage>>('GET', '/api/logs?node=server-1')).body.items[0]?.context.runs, 2);
        assert.equal((await viewer.call('GET', '/api/logs?level=fatal')).status, 400);
      });

      test('incidents and the outbox list', async () => {
        assert.ok(
          (await viewer.call<Wire<IncidentPage>>('GET', '/api/incidents?open=true')).body.items.some((i) => i.subject === 'agent-b'),
        );
        assert.equal((await viewer.call('GET', '/api/incidents?open=maybe')).status, 400);
        assert.equal((await viewer.call<Wire<OutboxPage>>('GET', '/api/outbox')).body.items[0]?.to[0], 'ann@example.com');
      });
    });

    describe('contacts', () => {
      test('create, update, delete with field validation', async () => {
        const bad = await operator.call<ApiErrorBody>('POST', '/api/contacts', { name: 'Ann', email: 'not-an-email' });
        assert.equal(bad.status, 400);
        assert.equal(bad.body.fields?.email, 'must be an email address');
        const made = await operator.call<Contact>('POST', '/api/contacts', { name: 'Ann', email: 'ann@example.com', groups: ['ops'] });
        assert.equal(made.status, 201);
        assert.equal(made.body.enabled, true);
        const changed = await operator.call<Contact>('PUT', `/api/contacts/${made.body.id}`, {
          name: 'Ann Lee',
          email: 'ann@example.com',
          enabled: false,
        });
        assert.equal(changed.body.name, 'Ann Lee');
        assert.equal(changed.body.enabled, false);
        assert.ok((await viewer.call<ContactList>('GET', '/api/contacts')).body.items.some((c) => c.name === 'Ann Lee'));
        assert.equal((await operator.call('DELETE', `/api/contacts/${made.body.id}`)).status, 200);
        assert.equal((await operator.call('DELETE', `/api/contacts/${made.body.id}`)).status, 404);
      });
    });
  });
}

// Started first, stopped last: the MongoDB half's server (its database dropped or its process gone).
const mongo = await mongoBackend('clover_console_api');
after(() => cleanUp([['MongoDB', () => mongo.cleanup()]]));

for (const backend of [embeddedBackend, mongo.backend]) {
  if ('skip' in backend) describe(`console API on ${backend.name}`, { skip: backend.skip }, () => {});
  else apiSuite(backend.name, backend.store);
}

/** The events of a server-sent event stream, one at a time (`null` once it has closed); comments and `retry` skipped. */
function sseEvents(res: Response): { next(): Promise<{ event: string; data: unknown } | null> } {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  return {
    async next() {
      for (;;) {
        const end = buffered.indexOf('\n\n');
        if (end >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const lines = block.split('\n');
          const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
          const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
          if (event && data !== undefined) return { event, data: JSON.parse(data) as unknown };
          continue;
        }
        const { value, done } = await reader.read();
        if (done) return null;
        buffered += value;
      }
    },
  };
}
