import type { NodeList, Wire } from '@clover/model/wire';
import type { ApiClient } from '../api-client.js';
import { formatTable } from '../table.js';

/** A text field of a member's registration data (`host`, `endpoint`, `status`), if it has one. */
function dataText(data: unknown, key: string): string | undefined {
  const value: unknown = data !== null && typeof data === 'object' ? (data as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' ? value : undefined;
}

export async function nodesCommand(api: ApiClient, argv: string[], out: (line: string) => void): Promise<void> {
  if (argv[0] !== 'ls') throw new Error('usage: clover nodes ls [--json]');
  const { items } = await api.request<Wire<NodeList>>('GET', '/api/nodes');
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
        dataText(n.data, 'host'),
        dataText(n.data, 'endpoint'),
        dataText(n.data, 'status'),
        n.ageMs === null ? null : `${(n.ageMs / 1000).toFixed(1)} s`,
      ]),
    ),
  );
}
