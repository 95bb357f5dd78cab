import { act, cleanup, fireEvent, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { NodeView } from '../src/api/types';
import { AuthProvider } from '../src/auth';
import { NotifyProvider } from '../src/components/notify';
import type { Lang } from '../src/i18n';
import { NodesPage } from '../src/pages/Nodes';
import { fakeFetch, renderWithI18n, type FakeCall } from './helpers';

const election: NodeView = {
  path: '/clover/election/dispatch',
  kind: 'other',
  id: 'dispatch',
  data: null,
  raw: '',
  version: 0,
  ephemeral: false,
  ageMs: null,
  children: 1,
  mtime: '2030-01-01T00:00:00.000Z',
};
const note: NodeView = {
  path: '/clover/scratch',
  kind: 'other',
  id: 'scratch',
  data: { a: 1 },
  raw: '{"a":1}',
  version: 0,
  ephemeral: false,
  ageMs: null,
  children: 0,
  mtime: '2030-01-01T00:00:00.000Z',
};
const warning =
  "/clover/election/dispatch is clover's own structure (dispatch-server election). Deleting it ends the dispatch election: the leader steps down. Delete it anyway only if you mean to: repeat with force=true.";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

/** The console's delete endpoint as the API answers: structural nodes 409 without force=true. */
function fakeApi(): FakeCall[] {
  const { calls } = fakeFetch((c) => {
    if (c.method === 'GET') return { body: { items: [election, note], truncated: false } };
    const url = new URL(c.url, 'http://console');
    const structural = url.searchParams.get('path') === election.path;
    if (structural && url.searchParams.get('force') !== 'true')
      return {
        status: 409,
        body: { error: 'structural_node', message: warning, fields: { force: 'pass force=true to delete a structural node' } },
      };
    return { body: { ok: true, recreated: structural } };
  });
  return calls;
}

async function settle() {
  await act(async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
    await new Promise((r) => setTimeout(r, 0));
  });
}

function renderAs(role: 'admin' | 'viewer', lang: Lang = 'en') {
  return renderWithI18n(
    <AuthProvider value={{ user: { name: role, role, grants: [], disabled: false }, logout: () => {} }}>
      <NotifyProvider>
        <NodesPage />
      </NotifyProvider>
    </AuthProvider>,
    lang,
  );
}

async function askToDelete(path: string) {
  const row = (await screen.findAllByTestId('node-row')).find((r) => r.getAttribute('data-path') === path)!;
  fireEvent.click(row.querySelector('[data-testid="node-delete"]')!);
  fireEvent.change(screen.getByTestId('confirm-input'), { target: { value: path } });
  fireEvent.click(screen.getByTestId('confirm-ok'));
  await settle();
}

const deletes = (calls: FakeCall[]) =>
  calls.filter((c) => c.method === 'DELETE').map((c) => new URL(c.url, 'http://console').searchParams.get('force'));

describe("nodes page: deleting clover's own structure", () => {
  it('shows the server\'s warning and deletes only after a second "delete anyway"', async () => {
    const calls = fakeApi();
    renderAs('admin');
    await askToDelete(election.path);
    expect(deletes(calls)).toEqual([null]);
    const shown = screen.getByTestId('node-structural-warning').textContent;
    expect(shown).toContain("part of clover's own structure");
    expect(shown).toContain('the leader steps down');
    expect(screen.getByTestId('confirm-ok').textContent).toBe('Delete anyway');
    fireEvent.click(screen.getByTestId('confirm-ok'));
    await settle();
    expect(deletes(calls)).toEqual([null, 'true']);
    expect(screen.queryByTestId('confirm-dialog')).toBeNull();
    expect(screen.getByTestId('toast').textContent).toMatch(/re-create what they need/);
  });

  it('cancelling the second confirmation deletes nothing; an ordinary node needs no second one', async () => {
    const calls = fakeApi();
    renderAs('admin');
    await askToDelete(election.path);
    fireEvent.click(screen.getByTestId('confirm-cancel'));
    await settle();
    expect(deletes(calls)).toEqual([null]);
    await askToDelete(note.path);
    expect(deletes(calls)).toEqual([null, null]);
    expect(screen.queryByTestId('node-structural-warning')).toBeNull();
  });

  it('in Simplified Chinese', async () => {
    fakeApi();
    renderAs('admin', 'zh');
    await askToDelete(election.path);
    expect(screen.getByTestId('node-structural-warning').textContent).toContain('是 clover 自身结构的一部分');
    expect(screen.getByTestId('confirm-ok').textContent).toBe('仍然删除');
  });

  it('viewers get no delete button at all', async () => {
    fakeApi();
    renderAs('viewer');
    await screen.findAllByTestId('node-row');
    expect(screen.queryByTestId('node-delete')).toBeNull();
  });
});
