import { runId, type Job, type Run, type RunInput, type RunPatch } from '@clover/model';
import { DuplicateRunError } from '@clover/store';
import type { AgentDirectory } from './agents.js';
import type { KeyedChain } from './keyed-chain.js';
import { runFields, type Logger } from '@clover/telemetry';
import type { Router } from './route.js';
import type { RunTracker } from './track.js';

export type Trigger = Run['trigger'];

export interface FireDeps {
  /** Writes one run row; the server batches these (StoreWriteBatch). */
  insertRun(input: RunInput): Promise<Run>;
  updateRun(id: string, patch: RunPatch): Promise<boolean>;
  /**
   * The term the job is fired under now: a fire belongs to the term it started in. The single
   * leader's term of leadership; where the servers share the jobs out, the local term its
   * partition is held under (shares.ts).
   */
  term(jobId: string): number;
  /** Whether that term is still going for the job (else the next leader or owner has the fire's rows). */
  leads(term: number, jobId: string): boolean;
  /** Resolves at the slot (at once if it has passed, or when leadership is lost). */
  untilSlot(slotMs: number): Promise<void>;
  /** The job as it stands at its slot, or null if it was removed or no longer fires at that slot. */
  jobAtSlot(job: Job, slotMs: number): Job | null;
  /** Where the fires of a job that may not overlap itself queue, one after another (fireJob). */
  lanes: KeyedChain;
  tracker: RunTracker;
  agents: AgentDirectory;
  router: Router;
  logger: Logger;
}

interface Claim {
  run: Run;
  /** The agents to offer it to, in order; the row already says the first. */
  order: string[];
}

/**
 * One firing of a job. The run row is written first, under the slot's unique key, so a second
 * leader firing the same slot after a failover hits the key and stops there. A slot handed over
 * ahead of its time (the scheduler's lead) is claimed ahead: the row is written, and at the slot
 * only the EXEC is left to send, so a busy second's store writes never make its runs late.
 * Then the job's concurrency policy, then dispatch. Fires of a job whose concurrency is not
 * `allow` run one after another (`FireDeps.lanes`), each seeing the runs the one before started.
 */
export function fireJob(d: FireDeps, job: Job, slotMs: number, trigger: Trigger): Promise<Run[]> {
  // A job that may not overlap itself fires one slot at a time: fires side by side (the overdue
  // slots of a busy new leader) each looked before any had claimed, saw nothing running, and all
  // ran (issue 16's chaos run: 72 `forbid` overlaps).
  if (job.concurrency === 'allow') return fireSlot(d, job, slotMs, trigger);
  if (job.concurrency === 'replace') return d.lanes.run(job.id, () => fireSlot(d, job, slotMs, trigger));
  // A `forbid` fire waits for the one before it only until its own slot: that one still going
  // then (its claim held in a slow store) will run, so this slot is skipped as forbid says, now.
  // Queued behind it instead, the fires of every later slot fell seconds behind, one store round
  // trip each, and went unwritten with a leader killed meanwhile (issue 16's MongoDB run: a
  // forbid job's slots 5–7 s late, six at a time missed).
  const term = d.term(job.id);
  return d.lanes.runUnless(
    job.id,
    () => fireSlot(d, job, slotMs, trigger),
    () => d.untilSlot(slotMs),
    () => skipBehindFire(d, job, slotMs, trigger, term),
  );
}

/** Writes the slot skipped because the job's fire before it is still under way (fireJob). */
async function skipBehindFire(d: FireDeps, job: Job, slotMs: number, trigger: Trigger, term: number): Promise<Run[]> {
  // untilSlot resolves early when leadership is lost: the next leader decides this slot.
  if (!d.leads(term, job.id)) return [];
  return writeForbidSkip(d, job, slotMs, trigger, Math.max(1, d.tracker.inProgress(job.id)));
}

/** Writes the slot's row as skipped by `forbid`, `underway` runs of the job still going. */
async function writeForbidSkip(d: FireDeps, job: Job, slotMs: number, trigger: Trigger, underway: number): Promise<Run[]> {
  const scheduledAt = new Date(slotMs);
  await insertOnce(d, {
    id: runId(job.id, scheduledAt),
    jobId: job.id,
    scheduledAt,
    trigger,
    status: 'skipped',
    error: forbidden(underway),
  });
  return [];
}

async function fireSlot(d: FireDeps, job: Job, slotMs: number, trigger: Trigger): Promise<Run[]> {
  const term = d.term(job.id);
  const ahead = slotMs > d.tracker.now();
  // A run going now may be over by the slot: a policy that looks at running runs waits to look then.
  if (ahead && job.concurrency !== 'allow' && d.tracker.inProgress(job.id) > 0) {
    await d.untilSlot(slotMs);
    const atSlot = d.leads(term, job.id) ? d.jobAtSlot(job, slotMs) : null;
    if (!atSlot) return [];
    job = atSlot;
  }
  const active = d.tracker.inProgress(job.id);
  if (active > 0 && job.concurrency === 'forbid') return writeForbidSkip(d, job, slotMs, trigger, active);
  const claims = await claim(d, job, slotMs, trigger);
  if (!claims.length) return [];
  // Deposed while the store held the claim (a pause, a slow store): the rows say where each run
  // goes, and the next leader adopts them. Sent from here, they ran twice (issue 16's MongoDB run).
  if (!d.leads(term, job.id)) return [];
  if (ahead) {
    // Judged again at the slot, even when the claim took longer than the lead. Leadership lost
    // meanwhile: the rows say where each run goes, and the next leader adopts them.
    await d.untilSlot(slotMs);
    if (!d.leads(term, job.id)) return [];
    const atSlot = d.jobAtSlot(job, slotMs);
    if (!atSlot) return skip(d, claims, 'skipped: the job was disabled, deleted or rescheduled before its slot');
    job = atSlot;
    // A run started since the claim (a manual trigger) counts for the policy too.
    const now = d.tracker.inProgress(job.id);
    if (now > 0 && job.concurrency === 'forbid') return skip(d, claims, forbidden(now));
  }
  if (job.concurrency === 'replace') for (const r of d.tracker.activeRuns(job.id)) d.tracker.cancel(r, 'replaced');
  for (const { run, order } of claims) d.tracker.sendFired(job, run, order);
  return claims.map((c) => c.run);
}

/** Writes the slot's rows: one per matching agent for a broadcast, else one. None when the slot was taken. */
async function claim(d: FireDeps, job: Job, slotMs: number, trigger: Trigger): Promise<Claim[]> {
  const scheduledAt = new Date(slotMs);
  const targets = job.routing === 'broadcast' ? d.router.order(job, d.agents.usable()).map((a) => a.id) : [null];
  const claims: Claim[] = [];
  for (const node of targets) {
    // Routed before it is written: the row goes in as dispatched to its first agent with room (the
    // store knows where before the EXEC leaves, in one write), or as waiting when none has room.
    // A claim made ahead is stamped with the slot: the EXEC leaves then, not now.
    const id = runId(job.id, scheduledAt, node ?? undefined);
    const order = d.tracker.route(job, id);
    const first = order[0];
    const dispatchedAt = new Date(Math.max(slotMs, d.tracker.now()));
    const run = await insertOnce(
      d,
      first
        ? { id, jobId: job.id, scheduledAt, trigger, status: 'dispatched', node: first, dispatchedAt }
        : { id, jobId: job.id, scheduledAt, trigger, status: 'waiting' },
    );
    if (run) claims.push({ run, order });
  }
  return claims;
}

async function skip(d: FireDeps, claims: Claim[], error: string): Promise<Run[]> {
  await Promise.all(
    claims.map((c) =>
      d.updateRun(c.run.id, { status: 'skipped', error }).catch((err: unknown) => {
        d.logger.warn('could not record a claimed run as skipped', { ...runFields(c.run), err });
      }),
    ),
  );
  return [];
}

const forbidden = (n: number) => `skipped: ${n} run(s) of this job still running (concurrency forbid)`;

async function insertOnce(d: FireDeps, input: RunInput): Promise<Run | null> {
  try {
    return await d.insertRun(input);
  } catch (err) {
    if (err instanceof DuplicateRunError) {
      d.logger.debug('slot already fired', { jobId: input.jobId, runId: input.id, attempt: input.attempt ?? 1 });
      return null;
    }
    throw err;
  }
}
