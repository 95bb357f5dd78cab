import { cleanup, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, onUnauthenticated, qs, readCookie, request } from '../src/api/client';
import type { Job } from '../src/api/types';
import { JobEditor } from '../src/pages/JobEdit';
import { clickAndSettle, fakeFetch, renderWithI18n } from './helpers';

function setCookie(raw: string) {
  document.cookie = raw;
}

beforeEach(() => {
  setCookie('clover_csrf=tok%2Fen+42; path=/');
  setCookie('other=1; path=/');
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  onUnauthenticated(null);
  setCookie('clover_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/');
});

describe('api client', () => {
  it('reads cookies', () => {
    expect(readCookie('clover_csrf')).toBe('tok/en+42');
    expect(readCookie('other')).toBe('1');
    expect(readCookie('missing')).toBeUndefined();
    expect(readCookie('a', 'x=1; a=b%20c')).toBe('b c');
  });

  it('sends X-CSRF-Token from the clover_csrf cookie on every write, never on reads', async () => {
    const { calls } = fakeFetch((c) => ({ status: c.method === 'POST' && c.url === '/api/jobs' ? 201 : 200, body: { ok: true } }));
    await api.jobs({ q: 'x', enabled: true });
    await api.createJob({ name: 'a', schedule: { type: 'cron', expr: '* * * * *' }, kind: { type: 'handler', name: 'h' } });
    await api.updateJob('j 1', { enabled: false });
    await api.deleteJob('j1');
    await api.triggerJob('j1');
    await api.putNode('/clover/a', { x: 1 }, 3);
    await api.deleteNode('/clover/a', '/clover/a');
    await api.logout();
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'GET /api/jobs?q=x&enabled=true',
      'POST /api/jobs',
      'PUT /api/jobs/j%201',
      'DELETE /api/jobs/j1',
      'POST /api/jobs/j1/trigger',
      'PUT /api/nodes/data?path=%2Fclover%2Fa',
      'DELETE /api/nodes/data?path=%2Fclover%2Fa&confirm=%2Fclover%2Fa',
      'POST /api/auth/logout',
    ]);
    expect(calls[0]!.headers['x-csrf-token']).toBeUndefined();
    for (const c of calls.slice(1)) expect(c.headers['x-csrf-token'], `${c.method} ${c.url}`).toBe('tok/en+42');
    expect(calls[1]!.headers['content-type']).toBe('application/json');
    expect(calls[5]!.body).toEqual({ data: { x: 1 }, version: 3 });
  });

  it('omits the header when there is no csrf cookie (before login)', async () => {
    setCookie('clover_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/');
    const { calls } = fakeFetch(() => ({ body: { user: { name: 'admin', role: 'admin' } } }));
    const r = await api.login('admin', 'pw');
    expect(r.user.role).toBe('admin');
    expect(calls[0]!.body).toEqual({ username: 'admin', password: 'pw' });
    expect(calls[0]!.headers['x-csrf-token']).toBeUndefined();
  });

  it('turns an error body into an ApiError with code, message and fields', async () => {
    fakeFetch(() => ({
      status: 400,
      body: {
        error: 'validation_failed',
        message: 'the job is not valid',
        fields: { 'schedule.expr': 'bad cron rule', name: 'name must not be empty' },
      },
    }));
    const err = await api
      .createJob({ name: '', schedule: { type: 'cron', expr: 'x' }, kind: { type: 'handler', name: 'h' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    expect(e.status).toBe(400);
    expect(e.code).toBe('validation_failed');
    expect(e.message).toBe('the job is not valid');
    expect(e.fields).toEqual({ 'schedule.expr': 'bad cron rule', name: 'name must not be empty' });
    expect(e.field('name')).toBe('name must not be empty');
  });

  it('reads Retry-After on 429 and survives a non-JSON body', async () => {
    fakeFetch(() => ({ status: 429, body: { error: 'too_many_requests', message: 'slow down' }, headers: { 'Retry-After': '600' } }));
    const e = (await api.login('a', 'b').catch((x: unknown) => x)) as ApiError;
    expect(e.status).toBe(429);
    expect(e.retryAfterSec).toBe(600);

    vi.stubGlobal(
      'fetch',
      vi.fn(() => Promise.resolve(new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }))),
    );
    const g = (await api.health().catch((x: unknown) => x)) as ApiError;
    expect(g.status).toBe(502);
    expect(g.code).toBe('http_502');
    expect(g.message).toBe('502 Bad Gateway');

    vi.stubGlobal(
      'fetch',
      vi.fn(() => Promise.reject(new TypeError('Failed to fetch'))),
    );
    const n = (await api.health().catch((x: unknown) => x)) as ApiError;
    expect(n.status).toBe(0);
    expect(n.code).toBe('network');
  });

  it('reports a lost session (401) except on the auth routes', async () => {
    const lost = vi.fn();
    onUnauthenticated(lost);
    fakeFetch(() => ({ status: 401, body: { error: 'unauthenticated', message: 'log in' } }));
    await expect(api.me()).rejects.toBeInstanceOf(ApiError);
    await expect(api.login('a', 'b')).rejects.toBeInstanceOf(ApiError);
    expect(lost).not.toHaveBeenCalled();
    await expect(request('GET', '/api/jobs')).rejects.toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(lost).toHaveBeenCalledTimes(1);
  });

  it('builds query strings from the defined values only', () => {
    expect(qs({ a: 'x y', b: undefined, c: '', d: null, e: false, f: 0 })).toBe('?a=x+y&e=false&f=0');
    expect(qs({})).toBe('');
  });
});

describe('field errors in the job form', () => {
  it('shows each server field message next to its control and the rest in the banner', async () => {
    fakeFetch(() => ({ body: { nextFireTimes: [] } })); // the cron preview
    const save = vi.fn((): Promise<Job> =>
      Promise.reject(
        new ApiError(400, 'validation_failed', 'the job is not valid', {
          name: 'name must not be empty',
          'schedule.expr': 'bad cron rule: minute: 99 is outside 0-59',
          'kind.name': 'handler name must not be empty',
          'window.endAt': 'must be after startAt',
        }),
      ),
    );
    renderWithI18n(<JobEditor job={null} contacts={[]} onSaved={() => {}} save={save} />);
    await clickAndSettle(screen.getByTestId('job-save'));
    expect(save).toHaveBeenCalledTimes(1);
    expect(screen.getByTestId('job-name-error').textContent).toBe('name must not be empty');
    expect(screen.getByTestId('job-cron-expr-error').textContent).toBe('bad cron rule: minute: 99 is outside 0-59');
    expect(screen.getByTestId('job-handler-name-error').textContent).toBe('handler name must not be empty');
    const banner = screen.getByTestId('job-form-error');
    expect(banner.textContent).toContain('Some fields are invalid.');
    expect(banner.textContent).toContain('window.endAt');
    expect(banner.textContent).not.toContain('handler name must not be empty');
  });

  it('words coded issues in the language and the units of the form', async () => {
    fakeFetch(() => ({ body: { nextFireTimes: [] } })); // the cron preview
    const save = vi.fn((): Promise<Job> =>
      Promise.reject(
        new ApiError(
          400,
          'validation_failed',
          'some fields are invalid',
          { name: 'name must not be empty', timeoutMs: 'Too small: expected number to be >=100', 'schedule.timezone': 'unknown timezone' },
          null,
          { name: { code: 'required' }, timeoutMs: { code: 'min', params: { n: 100 } }, 'schedule.timezone': { code: 'timezone' } },
        ),
      ),
    );
    renderWithI18n(<JobEditor job={null} contacts={[]} onSaved={() => {}} save={save} />, 'zh');
    await clickAndSettle(screen.getByTestId('job-save'));
    expect(screen.getByTestId('job-name-error').textContent).toBe('此项必填。');
    expect(screen.getByTestId('job-timeout-error').textContent).toBe('至少 0.1 秒。');
    expect(screen.getByTestId('job-form-error').textContent).toContain('部分字段无效。');
  });
});
