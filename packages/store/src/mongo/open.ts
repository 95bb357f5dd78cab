import mongoose, { type Connection } from 'mongoose';
import {
  apiTokenSchema,
  contactInputSchema,
  contactSchema,
  incidentSchema,
  jobFromStored,
  jobSchema,
  newId,
  outboxMailSchema,
  auditEntrySchema,
  sessionSchema,
  userSchema,
  type Incident,
  type Job,
  type RunStatus,
} from '@clover/model';
import { jobHash } from '@clover/partitions';
import type { CounterSummary, HashRange, Store, StoreOptions, StatusCounts } from '../interfaces.js';
import { decodeCursor, hourOf, pageLimit } from '../cursor.js';
import { DuplicateError } from '../errors.js';
import { probeServer } from './capabilities.js';
import { bulkWriteInChunks } from './chunks.js';
import { countCommands } from './command-count.js';
import { defineModels } from './models.js';
import { jobStateUpdate } from './job-state.js';
import { backfillJobHashes } from './job-hash.js';
import { pageByHash, type HashPosition } from '../job-hash.js';
import { decodeKeys, encodeKeys } from './keys.js';
import { mongoLogs, backfillLogWords } from './logs.js';
import { MongoRuns } from './runs.js';
import { escapeRe, isDuplicateKey, keyset, page, type Filter } from './queries.js';

const day = 24 * 3600_000;

/** The MongoDB store through mongoose, with the embedded store's behaviour (same contract suite). */
export async function openMongoStore(opts: StoreOptions & { mongoUrl: string }): Promise<Store> {
  const countFile = opts.commandCountFile ?? process.env.CLOVER_MONGO_COMMAND_COUNT_FILE;
  const conn = mongoose.createConnection(opts.mongoUrl, {
    serverSelectionTimeoutMS: 10_000,
    ...(opts.mongoPoolSize ? { maxPoolSize: opts.mongoPoolSize } : {}),
    ...(countFile ? { monitorCommands: true } : {}),
  });
  try {
    const counting = countFile ? countCommands(conn, countFile) : null;
    const store = await buildMongoStore(conn, opts);
    if (!counting) return store;
    const close = store.close.bind(store);
    return Object.assign(store, { close: () => close().finally(() => counting.stop()) });
  } catch (err) {
    // A store that fails to open must not leave its connection (and the process) behind.
    await conn.close().catch(() => undefined);
    throw err;
  }
}

async function buildMongoStore(connecting: Connection, opts: StoreOptions & { mongoUrl: string }): Promise<Store> {
  const conn = await connecting.asPromise();
  const caps = await probeServer(conn);
  const runRetentionMs = opts.runRetentionMs ?? 30 * day;
  const logRetentionMs = opts.logRetentionMs ?? 14 * day;
  const m = defineModels(conn, {
    runsSec: Math.round(runRetentionMs / 1000),
    logsSec: Math.round(logRetentionMs / 1000),
    ttl: caps.ttlIndexes,
  });
  await Promise.all(Object.values(m).map((model) => model.syncIndexes()));
  await backfillJobHashes(m.jobs);
  await backfillLogWords(m.logs);

  // $set, not a replace: the job's `ops` (tallies applied to it, see runs.ts) must survive an edit.
  const writeJob = (job: Job) =>
    m.jobs.updateOne(
      { _id: job.id },
      {
        $set: {
          name: job.name,
          description: job.description,
          group: job.group,
          enabled: job.enabled,
          createdAt: job.createdAt,
          hash: jobHash(job.id),
          doc: encodeKeys(JSON.parse(JSON.stringify(job))),
        },
      },
      { upsert: true },
    );
  // Written through `jobSchema` by this store: `jobFromStored` maps it without parsing it again.
  const toJob = (d: { doc?: unknown }): Job => jobFromStored(decodeKeys(d.doc) as Record<string, unknown>);
  const toIncident = (d: { doc?: unknown }): Incident => incidentSchema.parse(decodeKeys(d.doc));
  const writeIncident = (i: Incident) =>
    m.incidents.replaceOne(
      { _id: i.id },
      {
        _id: i.id,
        kind: i.kind,
        subject: i.subject,
        openedAt: i.openedAt,
        closedAt: i.closedAt,
        notifiedAt: i.notifiedAt,
        recoveryNotifiedAt: i.recoveryNotifiedAt,
        doc: encodeKeys(JSON.parse(JSON.stringify(i))),
      },
      { upsert: true },
    );
  const mutateIncident = async (id: string, fn: (i: Incident) => Incident) => {
    const d = await m.incidents.findById(id).lean();
    if (!d) return null;
    const next = fn(toIncident(d));
    await writeIncident(next);
    return next;
  };
  const runs = new MongoRuns(m, {
    ...(opts.reconcileAfterMs !== undefined ? { reconcileAfterMs: opts.reconcileAfterMs } : {}),
    ...(opts.faultPoint ? { faultPoint: opts.faultPoint } : {}),
    ...(opts.beforeRunsWritten ? { beforeRunsWritten: opts.beforeRunsWritten } : {}),
    ...(opts.beforeTallyApplied ? { beforeTallyApplied: opts.beforeTallyApplied } : {}),
    ...(opts.settleDelayMs !== undefined ? { settleDelayMs: opts.settleDelayMs } : {}),
  });
  const getJob = async (id: string) => {
    const d = await m.jobs.findById(id).lean();
    return d ? toJob(d) : null;
  };

  let closing: Promise<void> | null = null;
  const store: Store = {
    kind: 'mongo',
    server: caps.server,
    jobs: {
      async create(spec) {
        const now = new Date();
        const job = jobSchema.parse({ ...spec, id: newId('job'), createdAt: now, updatedAt: now });
        await writeJob(job);
        return job;
      },
      get: getJob,
      async list(q = {}) {
        const limit = pageLimit(q.limit);
        const f: Filter = {};
        if (q.q) f.$or = [{ name: { $regex: escapeRe(q.q), $options: 'i' } }, { description: { $regex: escapeRe(q.q), $options: 'i' } }];
        if (q.group) f.group = q.group;
        if (q.enabled !== undefined) f.enabled = q.enabled;
        if (q.cursor) f._id = { $lt: decodeCursor(q.cursor).id };
        const rows = await m.jobs
          .find(f)
          .sort({ _id: -1 })
          .limit(limit + 1)
          .lean();
        return page(rows, limit, () => 0, toJob);
      },
      async listEnabled() {
        return (await m.jobs.find({ enabled: true }).lean()).map(toJob);
      },
      listByHash(q) {
        const read = (range: HashRange, after: HashPosition | null, n: number) => {
          const f: Filter = { hash: { $gte: range.from, $lt: range.to } };
          if (after) f.$or = [{ hash: { $gt: after.hash } }, { hash: after.hash, _id: { $gt: after.id } }];
          if (q.enabled !== undefined) f.enabled = q.enabled;
          return m.jobs.find(f).sort({ hash: 1, _id: 1 }).limit(n).lean();
        };
        return pageByHash(q, read, (d) => ({ hash: d.hash, id: d._id }), toJob);
      },
      async replace(id, spec) {
        const cur = await getJob(id);
        if (!cur) return null;
        const job = jobSchema.parse({
          ...spec,
          id,
          createdAt: cur.createdAt,
          updatedAt: new Date(),
          lastRunAt: cur.lastRunAt,
          lastStatus: cur.lastStatus,
          nextRunAt: null,
          runCount: cur.runCount,
          failureCount: cur.failureCount,
        });
        await writeJob(job);
        return job;
      },
      async setEnabled(id, enabled) {
        const cur = await getJob(id);
        if (!cur) return null;
        const job = { ...cur, enabled, updatedAt: new Date() };
        await writeJob(job);
        return job;
      },
      // In place ($set, $inc): a read-modify-replace would undo an edit made in between, bring
      // back a job deleted in between, and lose increments of two flushes running at once.
      async recordRunStates(items) {
        const ops = items.flatMap((i) => {
          const update = jobStateUpdate(i.state);
          return update ? [{ updateOne: { filter: { _id: i.id }, update } }] : [];
        });
        if (ops.length) await bulkWriteInChunks(m.jobs, ops, true);
      },
      async recordRunState(id, s) {
        const update = jobStateUpdate(s);
        if (update) await m.jobs.updateOne({ _id: id }, update);
      },
      async delete(id) {
        const r = await m.jobs.deleteOne({ _id: id });
        await m.runs.deleteMany({ jobId: id });
        await m.counters.deleteMany({ jobId: id });
        await m.liveOutputs.deleteMany({ jobId: id });
        return r.deletedCount > 0;
      },
      async counts() {
        const [total, enabled] = await Promise.all([m.jobs.countDocuments(), m.jobs.countDocuments({ enabled: true })]);
        return { total, enabled };
      },
    },
    runs,
    liveOutputs: {
      async put(o) {
        const { runId, jobId, execId, text, end, updatedAt } = o;
        await m.liveOutputs.replaceOne({ _id: runId }, { _id: runId, jobId, execId, text, end, updatedAt }, { upsert: true });
      },
      async get(runId) {
        const d = await m.liveOutputs.findById(runId).lean();
        return d ? { runId: d._id, jobId: d.jobId, execId: d.execId, text: d.text, end: d.end, updatedAt: new Date(d.updatedAt) } : null;
      },
    },
    counters: {
      async summary(q): Promise<CounterSummary> {
        const f: Filter = { hour: { $gte: new Date(hourOf(q.from.getTime())), $lt: q.to } };
        if (q.jobId) f.jobId = q.jobId;
        const rows = await m.counters.aggregate<{ _id: { hour: Date; status: RunStatus }; n: number }>([
          { $match: f },
          { $group: { _id: { hour: '$hour', status: '$status' }, n: { $sum: '$n' } } },
          { $sort: { '_id.hour': 1 } },
        ]);
        const byHour = new Map<number, StatusCounts>();
        const totals: StatusCounts = {};
        for (const r of rows) {
          if (!r.n) continue;
          const h = new Date(r._id.hour).getTime();
          const counts = byHour.get(h) ?? {};
          counts[r._id.status] = (counts[r._id.status] ?? 0) + r.n;
          byHour.set(h, counts);
          totals[r._id.status] = (totals[r._id.status] ?? 0) + r.n;
        }
        return { hours: [...byHour].map(([hour, counts]) => ({ hour: new Date(hour), counts })), totals };
      },
    },
    contacts: {
      async list() {
        return (await m.contacts.find().sort({ _id: 1 }).lean()).map((d) => contactSchema.parse(decodeKeys(d.doc)));
      },
      async get(id) {
        const d = await m.contacts.findById(id).lean();
        return d ? contactSchema.parse(decodeKeys(d.doc)) : null;
      },
      async create(input) {
        const c = contactSchema.parse({ ...contactInputSchema.parse(input), id: newId('ct') });
        await m.contacts.create({ _id: c.id, doc: c });
        return c;
      },
      async update(id, input) {
        const c = contactSchema.parse({ ...contactInputSchema.parse(input), id });
        const r = await m.contacts.updateOne({ _id: id }, { doc: c });
        return r.matchedCount ? c : null;
      },
      async delete(id) {
        return (await m.contacts.deleteOne({ _id: id })).deletedCount > 0;
      },
    },
    users: {
      async get(name) {
        const d = await m.users.findById(name).lean();
        return d ? userSchema.parse(d.doc) : null;
      },
      async list() {
        return (await m.users.find().sort({ _id: 1 }).lean()).map((d) => userSchema.parse(d.doc));
      },
      async create(user) {
        const u = userSchema.parse(user);
        try {
          await m.users.create({ _id: u.name, doc: u });
        } catch (err) {
          if (isDuplicateKey(err)) throw new DuplicateError(`user ${u.name}`);
          throw err;
        }
        return u;
      },
      async setPassword(name, passwordHash) {
        const d = await m.users.findById(name).lean();
        if (!d) return false;
        await m.users.updateOne({ _id: name }, { doc: { ...userSchema.parse(d.doc), passwordHash } });
        return true;
      },
      async setAccess(name, access) {
        const d = await m.users.findById(name).lean();
        if (!d) return null;
        const next = userSchema.parse({ ...userSchema.parse(d.doc), ...access });
        await m.users.updateOne({ _id: name }, { doc: next });
        return next;
      },
      async delete(name) {
        return (await m.users.deleteOne({ _id: name })).deletedCount > 0;
      },
      async count() {
        return m.users.countDocuments();
      },
    },
    sessions: {
      async create(s) {
        await m.sessions.create({ _id: s.id, expiresAt: s.expiresAt, doc: s });
      },
      async get(id) {
        const d = await m.sessions.findById(id).lean();
        return d ? sessionSchema.parse(d.doc) : null;
      },
      async delete(id) {
        await m.sessions.deleteOne({ _id: id });
      },
      async deleteExpired(now) {
        return (await m.sessions.deleteMany({ expiresAt: { $lte: now } })).deletedCount;
      },
    },
    tokens: {
      async create(t) {
        const token = apiTokenSchema.parse(t);
        try {
          await m.tokens.create({ _id: token.id, hash: token.hash, doc: token });
        } catch (err) {
          if (isDuplicateKey(err)) throw new DuplicateError(`token ${token.id}`);
          throw err;
        }
      },
      async findByHash(hash) {
        const d = await m.tokens.findOne({ hash }).lean();
        return d ? apiTokenSchema.parse(d.doc) : null;
      },
      async list() {
        return (await m.tokens.find().sort({ _id: 1 }).lean()).map((d) => apiTokenSchema.parse(d.doc));
      },
      async delete(id) {
        return (await m.tokens.deleteOne({ _id: id })).deletedCount > 0;
      },
    },
    incidents: {
      async open(input) {
        const i = incidentSchema.parse({ ...input, id: newId('inc') });
        await writeIncident(i);
        return i;
      },
      async get(id) {
        const d = await m.incidents.findById(id).lean();
        return d ? toIncident(d) : null;
      },
      async findOpen(kind, subject) {
        const d = await m.incidents.findOne({ kind, subject, closedAt: null }).sort({ openedAt: -1 }).lean();
        return d ? toIncident(d) : null;
      },
      async list(q = {}) {
        const limit = pageLimit(q.limit);
        const f: Filter = { ...keyset('openedAt', q.cursor) };
        if (q.open !== undefined) f.closedAt = q.open ? null : { $ne: null };
        if (q.kind) f.kind = q.kind;
        const rows = await m.incidents
          .find(f)
          .sort({ openedAt: -1, _id: -1 })
          .limit(limit + 1)
          .lean();
        return page(rows, limit, (r) => new Date(r.openedAt).getTime(), toIncident);
      },
      async listUnnotified() {
        return (await m.incidents.find({ notifiedAt: null }).sort({ openedAt: 1 }).lean()).map(toIncident);
      },
      async listRecoveryUnnotified() {
        return (
          await m.incidents
            .find({ closedAt: { $ne: null }, notifiedAt: { $ne: null }, recoveryNotifiedAt: null })
            .sort({ closedAt: 1 })
            .lean()
        ).map(toIncident);
      },
      async markNotified(id, contacts, at) {
        await mutateIncident(id, (i) => ({ ...i, notifiedAt: at, notifiedContacts: [...new Set([...i.notifiedContacts, ...contacts])] }));
      },
      async markRecoveryNotified(id, at) {
        await mutateIncident(id, (i) => ({ ...i, recoveryNotifiedAt: at }));
      },
      close: (id, at, by) => mutateIncident(id, (i) => (i.closedAt ? i : { ...i, closedAt: at, closedBy: by ?? null })),
      acknowledge: (id, by, at) => mutateIncident(id, (i) => (i.acknowledgedAt ? i : { ...i, acknowledgedAt: at, acknowledgedBy: by })),
    },
    logs: mongoLogs(m, caps.indexedFilters ? undefined : 0),
    outbox: {
      async add(input) {
        const mail = outboxMailSchema.parse({ ...input, id: newId('mail'), createdAt: new Date() });
        await m.outbox.create({ _id: mail.id, createdAt: mail.createdAt, doc: encodeKeys(JSON.parse(JSON.stringify(mail))) });
        return mail;
      },
      async list(q = {}) {
        const limit = pageLimit(q.limit);
        const rows = await m.outbox
          .find(keyset('createdAt', q.cursor))
          .sort({ createdAt: -1, _id: -1 })
          .limit(limit + 1)
          .lean();

        return page(
          rows,
          limit,
          (r) => new Date(r.createdAt).getTime(),
          (r) => outboxMailSchema.parse(decodeKeys(r.doc)),
        );
      },
    },
    audit: {
      async add(input) {
        const entry = auditEntrySchema.parse({ ...input, id: newId('audit') });
        const { id, at, user, method, path, target } = entry;
        await m.audit.create({ _id: id, at, user, method, path, target, doc: encodeKeys(JSON.parse(JSON.stringify(entry))) });
        return entry;
      },
      async list(q = {}) {
        const limit = pageLimit(q.limit);
        const f: Filter = { ...keyset('at', q.cursor) };
        if (q.user) f.user = q.user;
        if (q.method) f.method = q.method.toUpperCase();
        if (q.from || q.to) f.at = { ...(q.from ? { $gte: q.from } : {}), ...(q.to ? { $lt: q.to } : {}) };
        if (q.q) f.$or = [{ path: { $regex: escapeRe(q.q), $options: 'i' } }, { target: { $regex: escapeRe(q.q), $options: 'i' } }];
        const rows = await m.audit
          .find(f)
          .sort({ at: -1, _id: -1 })
          .limit(limit + 1)
          .lean();
        return page(
          rows,
          limit,
          (r) => new Date(r.at).getTime(),
          (r) => auditEntrySchema.parse(decodeKeys(r.doc)),
        );
      },
    },
    // No transaction across collections here (none without a replica set, none on FerretDB):
    // runs.ts writes each batch's counts ahead as a tally and applies them idempotently.
    writeRuns: (w) => runs.writeRuns(w, (items) => store.jobs.recordRunStates(items)),
    reconcile: () => runs.reconcile(),
    async sweep(now = new Date()) {
      const swept = {
        runs: await store.runs.deleteOlderThan(new Date(now.getTime() - runRetentionMs)),
        logs: await store.logs.deleteOlderThan(new Date(now.getTime() - logRetentionMs)),
      };
      await m.liveOutputs.deleteMany({ updatedAt: { $lt: new Date(now.getTime() - runRetentionMs) } });
      if (!caps.ttlIndexes) await store.sessions.deleteExpired(now);
      return swept;
    },
    close: () =>
      (closing ??= (async () => {
        if (sweeper) clearInterval(sweeper);
        try {
          await runs.flush();
        } finally {
          await conn.close();
        }
      })()),
  };
  // Without TTL indexes nothing else removes expired runs, logs and sessions: sweep on a timer,
  // as the embedded store does.
  const sweeper = caps.ttlIndexes
    ? null
    : setInterval(() => void store.sweep().catch(() => undefined), opts.sweepIntervalMs ?? 10 * 60_000);
  sweeper?.unref();
  // A writer that died between a run's status and its counts left them pending: finish them.
  await runs.reconcile();
  return store;
}
