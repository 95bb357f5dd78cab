import { Router } from 'express';
import { z } from 'zod';
import {
  cronPreviewBodySchema,
  jobInputSchema,
  parseOrThrow,
  previewFireTimes,
  type CronPreview,
  type Job,
  type JobDetail,
  type JobPage,
  type JobSpec,
  type Ok,
  type UpcomingFire,
} from '@clover/model';
import { publishJobChange, type JobChange } from '@clover/zk-kit';
import type { ApiDeps } from '../deps.js';
import { apiError, notFound } from '../errors.js';
import { requireKindAllowed, requirePrincipal, requireRole } from '../auth/principal.js';
import { booleanText, pageQuery, parseQuery } from '../query.js';

const listQuery = pageQuery.extend({ q: z.string().optional(), group: z.string().optional(), enabled: booleanText });
const specKeys = Object.keys(jobInputSchema.shape) as Array<keyof JobSpec>;

function specOf(job: Job): JobSpec {
  const spec: Record<string, unknown> = {};
  for (const k of specKeys) spec[k] = job[k];
  return spec as JobSpec;
}

/**
 * The next `count` fires: `nextFireTimes` (the times alone, as before) and `fires`, the same times
 * each with `shifted: 'gap' | 'fold'` when DST moved it, so the console can say so.
 */
function upcoming(job: Pick<Job, 'schedule' | 'window'>, from: Date, count = 10): CronPreview {
  const fires = previewFireTimes(job.schedule, job.window, from, count).map(({ at, shifted }): UpcomingFire =>
    shifted ? { at, shifted } : { at },
  );
  return { nextFireTimes: fires.map((f) => f.at), fires };
}

export function jobRoutes(d: ApiDeps): Router {
  const r = Router();

  // Every write is announced on the change feed; the leading dispatch-server re-arms that job.
  const announce = async (jobId: string, op: JobChange['op']) => {
    try {
      await publishJobChange(d.zk, d.paths, { jobId, op });
    } catch (err) {
      // The store already holds the change, but the leader learns of it only when a leader next
      // loads its jobs (there is no periodic resync), so the failure is logged as an error.
      d.logger.error('could not announce a job change through ZooKeeper', { jobId, op, err });
      if (op === 'trigger') throw apiError('internal', 'ZooKeeper is unreachable; the job was not triggered');
    }
  };

  const load = async (id: string) => {
    const job = await d.store.jobs.get(id);
    if (!job) throw notFound(`job ${id}`);
    return job;
  };

  r.get('/jobs', requireRole('viewer'), async (req, res) => {
    const q = parseQuery(listQuery, req.query);
    res.json((await d.store.jobs.list(q)) satisfies JobPage);
  });

  r.post('/jobs', requireRole('operator'), async (req, res) => {
    const spec = parseOrThrow(jobInputSchema, req.body);
    requireKindAllowed(requirePrincipal(res), spec.kind);
    const job = await d.store.jobs.create(spec);
    await announce(job.id, 'upsert');
    d.logger.info('job created', { jobId: job.id, name: job.name, by: requirePrincipal(res).name });
    res.status(201).json(job satisfies Job);
  });

  r.get('/jobs/:id', requireRole('viewer'), async (req, res) => {
    const job = await load(req.params.id as string);
    res.json({ job, ...(job.enabled ? upcoming(job, new Date(d.clock())) : { nextFireTimes: [], fires: [] }) } satisfies JobDetail);
  });

  r.put('/jobs/:id', requireRole('operator'), async (req, res) => {
    const current = await load(req.params.id as string);
    if (!req.body || typeof req.body !== 'object' || Array.isArray(req.body))
      throw apiError('bad_request', 'send the job (or the fields to change) as a JSON object');
    // A partial body changes only the fields it names; a field it names as null goes back to its
    // default (the only way to unset `startDeadlineMs`, which JSON cannot send as undefined).
    const body = req.body as Record<string, unknown>;
    const merged = Object.entries({ ...specOf(current), ...body }).filter(([key]) => body[key] !== null);
    const spec = parseOrThrow(jobInputSchema, Object.fromEntries(merged));
    // Changing a shell job's schedule changes when its command runs: both kinds are checked.
    requireKindAllowed(requirePrincipal(res), current.kind, spec.kind);
    const job = await d.store.jobs.replace(current.id, spec);
    if (!job) throw notFound(`job ${current.id}`);
    await announce(job.id, 'upsert');
    res.json(job satisfies Job);
  });

  r.delete('/jobs/:id', requireRole('operator'), async (req, res) => {
    const id = req.params.id as string;
    const by = requirePrincipal(res).name;
    // Its work in flight is recorded `cancelled` before the job's data goes (dispatch-server
    // README, "Changes reach work in flight"): a delete that stops half way (MongoDB has no
    // transaction across the job, its runs and its counters) leaves no run of a deleted job
    // `running` for ever. The leader hears the delete through the change feed and sends CANCEL
    // to the agents still running them.
    const patch = { status: 'cancelled', finishedAt: new Date(d.clock()), error: `cancelled: the job was deleted by ${by}` } as const;
    const active = await d.store.runs.listActive({ jobId: id });
    if (active.length) await d.store.runs.updateEach(active.map((run) => ({ id: run.id, patch })));
    if (!(await d.store.jobs.delete(id))) throw notFound(`job ${id}`);
    await announce(id, 'delete');
    // Its failure incident is over with it: a deleted job never succeeds again to close it.
    const incident = await d.store.incidents.findOpen('job_failed', id);
    if (incident) await d.store.incidents.close(incident.id, new Date(d.clock()));
    d.logger.info('job deleted', { jobId: id, by, closedIncident: incident?.id ?? null });
    res.json({ ok: true } satisfies Ok);
  });

  for (const [action, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    r.post(`/jobs/:id/${action}`, requireRole('operator'), async (req, res) => {
      // Enabling sets its command running again; disabling only stops it, which anyone may.
      if (enabled) requireKindAllowed(requirePrincipal(res), (await load(req.params.id as string)).kind);
      const job = await d.store.jobs.setEnabled(req.params.id as string, enabled);
      if (!job) throw notFound(`job ${String(req.params.id)}`);
      await announce(job.id, 'upsert');
      res.json(job satisfies Job);
    });
  }

  r.post('/jobs/:id/trigger', requireRole('operator'), async (req, res) => {
    const job = await load(req.params.id as string);
    requireKindAllowed(requirePrincipal(res), job.kind);
    await announce(job.id, 'trigger');
    d.logger.info('job triggered by hand', { jobId: job.id, by: requirePrincipal(res).name });
    res.status(202).json({ ok: true } satisfies Ok);
  });

  r.post('/cron/preview', requireRole('viewer'), (req, res) => {
    const body = parseOrThrow(cronPreviewBodySchema, req.body);
    res.json(upcoming({ schedule: body.schedule, window: {} }, new Date(d.clock())) satisfies CronPreview);
  });

  return r;
}
