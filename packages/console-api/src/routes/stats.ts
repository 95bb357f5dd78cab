import { Router } from 'express';
import { z } from 'zod';
import { failureStatuses as failures, type Run, type RunsOverTimeBucket, type Stats, type WaitingBacklog } from '@clover/model';
import { nodeKinds } from '@clover/zk-kit';
import type { ApiDeps } from '../deps.js';
import { requireRole } from '../auth/principal.js';
import { parseQuery } from '../query.js';

const statsQuery = z.object({
  hours: z.coerce
    .number()
    .int()
    .min(1, 'at least 1')
    .max(24 * 31, 'at most 744')
    .default(24),
});
const charted = ['succeeded', 'failed', 'timed_out', 'lost'] as const;

/** The dashboard: answered from the hourly counters and a few indexed reads, never by counting runs. */
export function statsRoutes(d: ApiDeps): Router {
  const r = Router();
  r.get('/stats', requireRole('viewer'), async (req, res) => {
    const { hours } = parseQuery(statsQuery, req.query);
    const hourMs = 3600_000;
    const to = new Date(Math.floor(d.clock() / hourMs) * hourMs + hourMs);
    const from = new Date(to.getTime() - hours * hourMs);
    const [summary, jobCounts, nodes, recent, incidents, waiting] = await Promise.all([
      d.store.counters.summary({ from, to }),
      d.store.jobs.counts(),
      countNodes(d),
      Promise.all(failures.map((status) => d.store.runs.list({ status, limit: 10 }))),
      d.store.incidents.list({ open: true, limit: 20 }),
      waitingBacklog(d),
    ]);
    const byHour = new Map(summary.hours.map((h) => [h.hour.getTime(), h.counts]));
    const runsOverTime: RunsOverTimeBucket[] = [];
    for (let t = from.getTime(); t < to.getTime(); t += hourMs) {
      const counts = byHour.get(t) ?? {};
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      const row = { hour: new Date(t), succeeded: 0, failed: 0, timed_out: 0, lost: 0, other: 0 };
      for (const s of charted) row[s] = counts[s] ?? 0;
      row.other = total - charted.reduce((a, s) => a + row[s], 0);
      runsOverTime.push(row);
    }
    const ok = summary.totals.succeeded ?? 0;
    const bad = failures.reduce((a, s) => a + (summary.totals[s] ?? 0), 0);
    // Newest first by the time the console shows (scheduledAt), the run id breaking ties between
    // the attempts of one slot: sorting by finishedAt put a run that timed out late above newer ones.
    const recentFailures: Run[] = recent
      .flatMap((p) => p.items)
      .sort((a, b) => b.scheduledAt.getTime() - a.scheduledAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .slice(0, 10);
    res.json({
      hours,
      runsByStatus: summary.totals,
      successRate: ok + bad ? ok / (ok + bad) : null,
      runsOverTime,
      nodes,
      jobs: { total: jobCounts.total, enabled: jobCounts.enabled, disabled: jobCounts.total - jobCounts.enabled },
      recentFailures,
      openIncidents: incidents.items,
      waiting,
    } satisfies Stats);
  });
  return r;
}

/** The runs waiting for a free agent slot, and the oldest of them: two reads of the status index, and its job. */
async function waitingBacklog(d: ApiDeps): Promise<WaitingBacklog> {
  const { count, oldest } = await d.store.runs.backlog('waiting');
  if (!oldest) return { count, oldest: null };
  const job = await d.store.jobs.get(oldest.jobId);
  return {
    count,
    oldest: {
      runId: oldest.id,
      jobId: oldest.jobId,
      jobName: job?.name ?? null,
      scheduledAt: oldest.scheduledAt,
      waitedMs: Math.max(0, d.clock() - oldest.scheduledAt.getTime()),
    },
  };
}

async function countNodes(d: ApiDeps): Promise<Stats['nodes']> {
  const out: Stats['nodes'] = { servers: 0, clients: 0, monitors: 0 };
  await Promise.all(
    nodeKinds.map(async (kind) => {
      out[kind] = await d.zk.children(d.paths.nodesOf(kind)).then(
        (c) => c.length,
        () => 0,
      );
    }),
  );
  return out;
}
