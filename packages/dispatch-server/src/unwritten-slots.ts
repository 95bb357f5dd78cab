/**
 * The slots this server handed out to fire whose fire has not finished writing, per job (a
 * slot fired twice, say by a misfire and by its schedule, is held twice). The job's recorded
 * next run time (`Job.nextRunAt`) never passes the earliest of them: that time is where a new
 * leader starts looking for missed slots (JobScheduler.add), so a slot recorded as passed
 * whose row then died with its leader was missed with no misfire policy to cover it. The
 * store's writes of one server land out of order (StoreWriteBatch flushes side by side): in
 * issue 16's MongoDB chaos run a `forbid` job's skip, queued at its slot, was still in flight
 * when the outcome of the run before it, carrying the next slot's time, landed; the leader was
 * killed, and 30 slots had no row and no misfire.
 */
export class UnwrittenSlots {
  private readonly byJob = new Map<string, number[]>();

  /** A slot (epoch ms) of the job was handed out to fire. */
  add(jobId: string, slotMs: number): void {
    const slots = this.byJob.get(jobId);
    if (slots) slots.push(slotMs);
    else this.byJob.set(jobId, [slotMs]);
  }

  /** Its fire has written what it writes (or failed, or gave the slot up to the next leader). */
  delete(jobId: string, slotMs: number): void {
    const slots = this.byJob.get(jobId);
    if (!slots) return;
    const i = slots.indexOf(slotMs);
    if (i >= 0) slots.splice(i, 1);
    if (!slots.length) this.byJob.delete(jobId);
  }

  /** The earliest slot of the job still being written, if any. */
  earliest(jobId: string): number | undefined {
    const slots = this.byJob.get(jobId);
    return slots ? Math.min(...slots) : undefined;
  }

  /**
   * `nextMs` (a job's next slot, epoch ms, or null for none), held back to the earliest slot of
   * the job still being written: the next run time the store may be told.
   */
  nextToRecord(jobId: string, nextMs: number): number;
  nextToRecord(jobId: string, nextMs: number | null): number | null;
  nextToRecord(jobId: string, nextMs: number | null): number | null {
    const earliest = this.earliest(jobId);
    if (earliest === undefined) return nextMs;
    return nextMs === null ? earliest : Math.min(earliest, nextMs);
  }

  /** Forgets the jobs `drop` names (all when omitted): their fires are no longer this server's. */
  forget(drop: (jobId: string) => boolean = () => true): void {
    for (const jobId of [...this.byJob.keys()]) if (drop(jobId)) this.byJob.delete(jobId);
  }
}
