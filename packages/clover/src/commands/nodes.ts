import type { ApiClient } from '../api-client.js';
import { formatTable } from '../table.js';

interface NodeRow {
  path: string;
  kind: string;
  id: string;
  data: { host?: string; endpoint?: string; status?: string } | null;
  ageMs: number | null;
}

export async function nodesCommand(api: ApiClient, argv: string[], out: (line: string) => void): Promise<void> {
  if (argv[0] !== 'ls') throw new Error('usage: clover nodes ls [--json]');
  const { items } = await api.request<{ items: NodeRow[] }>('GET', '/api/nodes');
  const live = items.filter((n) => n.kind !== 'other');
  if (argv.includes('--json')) {
    out(JSON.stringify(live, null, 2));
    return;
  }
  out(
    formatTable(
      ['KIND', 'ID', 'HOST', 'ENDPOINT', 'STATUS', 'HEARTBEAT AGE'],
      live.map((n) => [
        n.kind,
        n.id,
        n.data?.host,
        n.data?.endpoint,
        n.data?.status,
        n.ageMs === null ? null : `${(n.ageMs / 1000).toFixed(1)} s`,
      ]),
    ),
  );
}
