import { Router } from 'express';
import { z } from 'zod';
import { contactInputSchema, logLevelSchema, parseOrThrow, runStatusSchema } from '@clover/model';
import type { ApiDeps } from '../deps.js';
import { notFound } from '../errors.js';
import { requireRole } from '../auth/principal.js';
import { booleanText, optionalDate, pageQuery, parseQuery } from '../query.js';

const runQuery = pageQuery.extend({
  jobId: z.string().optional(),
  status: runStatusSchema.optional(),
  node: z.string().optional(),
  from: optionalDate,
  to: optionalDate,
});
const logQuery = pageQuery.extend({
  level: logLevelSchema.optional(),
  source: z.string().optional(),
  node: z.string().optional(),
  from: optionalDate,
  to: optionalDate,
  q: z.string().optional(),
});
const incidentQuery = pageQuery.extend({ open: booleanText, kind: z.enum(['node_dead', 'job_failed']).optional() });

/** Runs, logs, incidents and the outbox: read-only history. */
export function historyRoutes(d: ApiDeps): Router {
  const r = Router();
  r.get('/runs', requireRole('viewer'), async (req, res) => {
    res.json(await d.store.runs.list(parseQuery(runQuery, req.query)));
  });
  r.get('/runs/:id', requireRole('viewer'), async (req, res) => {
    const run = await d.store.runs.get(req.params.id as string);
    if (!run) throw notFound(`run ${String(req.params.id)}`);
    res.json(run);
  });
  r.get('/logs', requireRole('viewer'), async (req, res) => {
    res.json(await d.store.logs.list(parseQuery(logQuery, req.query)));
  });
  r.get('/incidents', requireRole('viewer'), async (req, res) => {
    res.json(await d.store.incidents.list(parseQuery(incidentQuery, req.query)));
  });
  r.get('/outbox', requireRole('viewer'), async (req, res) => {
    res.json(await d.store.outbox.list(parseQuery(pageQuery, req.query)));
  });
  return r;
}

export function contactRoutes(d: ApiDeps): Router {
  const r = Router();
  r.get('/contacts', requireRole('viewer'), async (_req, res) => {
    res.json({ items: await d.store.contacts.list() });
  });
  r.post('/contacts', requireRole('operator'), async (req, res) => {
    res.status(201).json(await d.store.contacts.create(parseOrThrow(contactInputSchema, req.body)));
  });
  r.put('/contacts/:id', requireRole('operator'), async (req, res) => {
    const contact = await d.store.contacts.update(req.params.id as string, parseOrThrow(contactInputSchema, req.body));
    if (!contact) throw notFound(`contact ${String(req.params.id)}`);
    res.json(contact);
  });
  r.delete('/contacts/:id', requireRole('operator'), async (req, res) => {
    if (!(await d.store.contacts.delete(req.params.id as string))) throw notFound(`contact ${String(req.params.id)}`);
    res.json({ ok: true });
  });
  return r;
}
