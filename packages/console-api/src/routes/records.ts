import { Router } from 'express';
import { z } from 'zod';
import {
  contactInputSchema,
  incidentKindSchema,
  logLevelSchema,
  parseOrThrow,
  runStatusSchema,
  type Contact,
  type ContactList,
  type IncidentPage,
  type LogPage,
  type Ok,
  type OutboxPage,
  type Run,
  type RunPage,
} from '@clover/model';
import type { ApiDeps } from '../deps.js';
import { notFound } from '../errors.js';
import { requireRole } from '../auth/principal.js';
import { streamRunOutput } from './output-stream.js';
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
const incidentQuery = pageQuery.extend({ open: booleanText, kind: incidentKindSchema.optional() });

/** Runs, logs, incidents and the outbox: read-only history. */
export function historyRoutes(d: ApiDeps): Router {
  const r = Router();
  r.get('/runs', requireRole('viewer'), async (req, res) => {
    res.json((await d.store.runs.list(parseQuery(runQuery, req.query))) satisfies RunPage);
  });
  r.get('/runs/:id', requireRole('viewer'), async (req, res) => {
    const run = await d.store.runs.get(req.params.id as string);
    if (!run) throw notFound(`run ${String(req.params.id)}`);
    res.json(run satisfies Run);
  });
  r.get('/runs/:id/output/stream', requireRole('viewer'), async (req, res) => {
    const run = await d.store.runs.get(req.params.id as string);
    if (!run) throw notFound(`run ${String(req.params.id)}`);
    streamRunOutput(d, run, req, res);
  });
  r.get('/logs', requireRole('viewer'), async (req, res) => {
    // The store's search finds a job's entries by its name too (LogQuery.q).
    res.json((await d.store.logs.list(parseQuery(logQuery, req.query))) satisfies LogPage);
  });
  r.get('/incidents', requireRole('viewer'), async (req, res) => {
    res.json((await d.store.incidents.list(parseQuery(incidentQuery, req.query))) satisfies IncidentPage);
  });
  r.get('/outbox', requireRole('viewer'), async (req, res) => {
    res.json((await d.store.outbox.list(parseQuery(pageQuery, req.query))) satisfies OutboxPage);
  });
  return r;
}

export function contactRoutes(d: ApiDeps): Router {
  const r = Router();
  r.get('/contacts', requireRole('viewer'), async (_req, res) => {
    res.json({ items: await d.store.contacts.list() } satisfies ContactList);
  });
  r.post('/contacts', requireRole('operator'), async (req, res) => {
    res.status(201).json((await d.store.contacts.create(parseOrThrow(contactInputSchema, req.body))) satisfies Contact);
  });
  r.put('/contacts/:id', requireRole('operator'), async (req, res) => {
    const contact = await d.store.contacts.update(req.params.id as string, parseOrThrow(contactInputSchema, req.body));
    if (!contact) throw notFound(`contact ${String(req.params.id)}`);
    res.json(contact satisfies Contact);
  });
  r.delete('/contacts/:id', requireRole('operator'), async (req, res) => {
    if (!(await d.store.contacts.delete(req.params.id as string))) throw notFound(`contact ${String(req.params.id)}`);
    res.json({ ok: true } satisfies Ok);
  });
  return r;
}
