import { act, cleanup, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Machine } from '../src/api/types';
import { AuthProvider } from '../src/auth';
import { NotifyProvider } from '../src/components/notify';
import type { Lang } from '../src/i18n';
import { MachinesPage } from '../src/pages/Machines';
import { fakeFetch, renderWithI18n } from './helpers';

/** A server as GET /api/machines answers it (wire form: dates as ISO text). */
function server(id: string, over: Partial<Record<keyof Machine, unknown>>): Record<string, unknown> {
  return {
    kind: 'servers',
    id,
    state: 'up',
    host: 'h',
    pid: 1,
    version: '0.1.0',
    endpoint: 'tcp://127.0.0.1:7000',
    startedAt: '2030-01-01T00:00:00.000Z',
    beatAt: '2030-01-01T00:00:01.000Z',
    ageMs: 500,
    running: 3,
    capacity: null,
    groups: [],
    tags: [],
    handlers: [],
    leader: true,
    lateness: { lastMinute: { p99: 12.4, count: 600 } },
    jobs: 100,
    share: null,
    incident: null,
    ...over,
  };
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

async function rows(lang: Lang) {
  fakeFetch(() => ({
    body: {
      items: [
        server('dispatch-1', { share: { partitions: 5461, of: 16384 }, jobs: 3333 }),
        server('dispatch-2', { share: { partitions: 5462, of: 16384 }, jobs: 3334, lateness: null }),
        server('dispatch-old', { leader: false, jobs: 0 }),
      ],
    },
  }));
  renderWithI18n(
    <AuthProvider value={{ user: { name: 'v', role: 'viewer', grants: [], disabled: false }, logout: () => {} }}>
      <NotifyProvider>
        <MachinesPage />
      </NotifyProvider>
    </AuthProvider>,
    lang,
  );
  await act(async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  });
  const found = await screen.findAllByTestId('machine-row');
  return new Map(found.map((r) => [r.getAttribute('data-id'), r.textContent]));
}

describe('Machines: each sharing server shows its share (issue 17)', () => {
  it('partitions of the cluster’s count and jobs armed, beside the lateness; a standby as before', async () => {
    const text = await rows('en');
    expect(text.get('dispatch-1')).toContain(
      'fires its share: 5461 of 16384 partitions, 3333 jobs · lateness p99 12 ms (600 runs, last minute)',
    );
    expect(text.get('dispatch-2')).toContain('fires its share: 5462 of 16384 partitions, 3334 jobs');
    expect(text.get('dispatch-old')).toContain('standby');
  });

  it('in Chinese too', async () => {
    const text = await rows('zh');
    expect(text.get('dispatch-1')).toContain('分担调度：16384 个分区中的 5461 个，3333 个任务');
  });
});
