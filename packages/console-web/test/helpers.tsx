import { act, cleanup, fireEvent, render, type RenderResult } from '@testing-library/react';
import type { ReactElement } from 'react';
import { afterEach, beforeEach, vi } from 'vitest';
import type { Job } from '../src/api/types';
import { I18nProvider, type Lang } from '../src/i18n';

export function renderWithI18n(ui: ReactElement, lang: Lang = 'en'): RenderResult {
  return render(<I18nProvider initial={lang}>{ui}</I18nProvider>);
}

/**
 * Each test of the file runs on vitest's fake timers (debounces and refresh intervals are advanced,
 * not waited for); after each, the DOM is unmounted, real timers come back and stubbed globals
 * (fetch) are restored.
 */
export function fakeTimersPerTest(): void {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    cleanup();
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });
}

export interface FakeCall {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * A stand-in for window.fetch at the unit level: records each call and answers with what
 * `respond` returns ({ status, body, headers }).
 */
export function fakeFetch(
  respond: (
    call: FakeCall,
  ) =>
    | { status?: number; body?: unknown; headers?: Record<string, string> }
    | Promise<{ status?: number; body?: unknown; headers?: Record<string, string> }>,
) {
  const calls: FakeCall[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => {
      headers[k] = v;
    });
    const call: FakeCall = {
      url: input instanceof Request ? input.url : input.toString(),
      method: (init.method ?? 'GET').toUpperCase(),
      headers,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    if (init.signal?.aborted) throw new DOMException('aborted', 'AbortError');
    const r = await respond(call);
    const status = r.status ?? 200;
    return new Response(r.body === undefined ? null : JSON.stringify(r.body), {
      status,
      statusText: status === 200 ? 'OK' : 'Error',
      headers: { 'content-type': 'application/json', ...(r.headers ?? {}) },
    });
  });
  vi.stubGlobal('fetch', fn);
  return { fn, calls };
}

/**
 * Clicks `el` inside an async act(), so that what the click started (a save, its promise and the
 * renders after it) settles before the test reads the screen.
 */
export async function clickAndSettle(el: Element): Promise<void> {
  await act(() => {
    fireEvent.click(el);
    return Promise.resolve();
  });
}

/** A stored job as the API sends it: a handler job every 5 s with every default, changed by `patch`. */
export function jobFixture(patch: Partial<Job> = {}): Job {
  return {
    id: 'j1',
    name: 'sync',
    description: '',
    group: 'default',
    enabled: true,
    schedule: { type: 'interval', everyMs: 5000 },
    target: { type: 'any' },
    routing: 'round_robin',
    kind: { type: 'handler', name: 'noop' },
    payload: {},
    timeoutMs: 60_000,
    retries: { max: 0, backoffMs: 1000, factor: 2, maxBackoffMs: 60_000 },
    concurrency: 'allow',
    misfire: 'fire_once',
    window: {},
    contacts: [],
    deleteWhenDone: true,
    onStartDeadline: 'skipped',
    incidentOnStartDeadline: false,
    createdAt: '',
    updatedAt: '',
    lastRunAt: null,
    lastStatus: null,
    nextRunAt: null,
    runCount: 0,
    failureCount: 0,
    ...patch,
  };
}
