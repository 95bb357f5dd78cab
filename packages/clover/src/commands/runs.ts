import { parseArgs } from 'node:util';
import type { Run, Wire } from '@clover/model/wire';
import type { ApiClient } from '../api-client.js';
import { formatTable } from '../table.js';

export async function runsCommand(api: ApiClient, argv: string[], out: (line: string) => void): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'ls') throw new Error('usage: clover runs ls [--job ID] [--status S] [--node N] [--limit N] [--json]');
  const { values } = parseArgs({
    args: rest,
    options: {
      job: { type: 'string' },
      status: { type: 'string' },
      node: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const limit = values.limit ? Number(values.limit) : 50;
  const runs = await api.listAll<Wire<Run>>('/api/runs', { jobId: values.job, status: values.status, node: values.node }, limit);
  if (values.json) {
    out(JSON.stringify(runs, null, 2));
    return;
  }
  out(
    formatTable(
      ['RUN', 'STATUS', 'NODE', 'ATTEMPT', 'FINISHED', 'EXIT'],
      runs.map((r) => [r.id, r.status, r.node, r.attempt, r.finishedAt, r.exitCode]),
    ),
  );
}
