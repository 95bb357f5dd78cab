import { terminalStatuses, type RunInput, type RunPatch, type RunStatus } from '@clover/model';
import { countBuckets, secondsBuckets, type Counter, type Histogram, type Metrics } from '@clover/telemetry';
import type { ZkConnectionState } from '@clover/zk-kit';

const terminal = new Set<RunStatus>(terminalStatuses);
const zkStates: readonly ZkConnectionState[] = ['connected', 'disconnected', 'expired', 'closed'];

/** What the dispatch-server's gauges read when scraped: its live state, never copied on the hot path. */
export interface DispatchGauges {
  /** Runs between their EXEC and their final status here. */
  inFlight(): number;
  /** Runs waiting here for an agent with a free slot. */
  waiting(): number;
  /** Whether this server leads (fires) now. */
  leading(): boolean;
  /** Jobs whose next slot is armed here (0 unless leading). */
  jobsArmed(): number;
  /** This server's ZooKeeper session. */
  zkState(): ZkConnectionState;
}

/**
 * The dispatch-server's metrics (docs/deploy.md, "Metrics"), on the `Metrics` port. Fires and runs
 * are counted when the store has them (StoreWriteBatch), so `clover_dispatch_fires_total` (all
 * triggers but retry) equals the runs this server recorded, and `clover_dispatch_runs_finished_total`
 * the final statuses it wrote.
 */
export class DispatchMetrics {
  private readonly fires: Counter<'trigger'>;
  private readonly finished: Counter<'status'>;
  private readonly batchSize: Histogram;
  private readonly batchSeconds: Histogram;
  private readonly batchFailures: Counter;
  private readonly fenced: Counter;
  /** Slot to EXEC handed to the socket, scheduled first attempts (the heartbeat's LatenessMeter figures). */
  readonly execLateness: Histogram;
  /** Slot to the agent's start, every run that started. */
  readonly startLateness: Histogram;
  readonly execResends: Counter;
  readonly ackTimeouts: Counter;
  /** From a waiting run's slot to its placement on an agent, or to its start deadline. */
  readonly waitDuration: Histogram<'outcome'>;

  constructor(m: Metrics, gauges: DispatchGauges) {
    this.fires = m.counter({
      name: 'clover_dispatch_fires_total',
      help: 'Runs fired and recorded, by trigger (schedule, misfire, manual), and retry attempts (trigger retry)',
      labelNames: ['trigger'],
    });
    this.finished = m.counter({
      name: 'clover_dispatch_runs_finished_total',
      help: 'Runs recorded with their final status, by status',
      labelNames: ['status'],
    });
    this.execLateness = m.histogram({
      name: 'clover_dispatch_exec_lateness_seconds',
      help: "From a scheduled run's slot to its first EXEC leaving for the agent, in seconds",
      buckets: secondsBuckets,
    });
    this.startLateness = m.histogram({
      name: 'clover_dispatch_start_lateness_seconds',
      help: "From a run's slot to its start on the agent, in seconds (observed when the run ends)",
      buckets: secondsBuckets,
    });
    this.execResends = m.counter({ name: 'clover_dispatch_exec_resends_total', help: 'EXEC messages sent again to the same agent' });
    this.ackTimeouts = m.counter({
      name: 'clover_dispatch_ack_timeouts_total',
      help: 'Waits for an ACK that ran out (busy agents included)',
    });
    this.waitDuration = m.histogram({
      name: 'clover_dispatch_wait_duration_seconds',
      help: "How long runs waited for an agent with a free slot, from the slot: placed, or expired at the job's start deadline",
      labelNames: ['outcome'],
      buckets: secondsBuckets,
    });
    this.batchSize = m.histogram({
      name: 'clover_store_write_batch_size',
      help: 'Writes (run inserts, run updates, job run states) sent to the store in one batch',
      buckets: countBuckets,
    });
    this.batchSeconds = m.histogram({
      name: 'clover_store_write_batch_duration_seconds',
      help: 'How long the store took to write one batch, in seconds',
      buckets: secondsBuckets,
    });
    this.batchFailures = m.counter({ name: 'clover_store_write_batch_failures_total', help: 'Write batches the store failed' });
    this.fenced = m.counter({
      name: 'clover_store_writes_fenced_total',
      help: "Run updates the store refused because a later leader term had the run (this server's writes after it was deposed)",
    });
    m.gauge({
      name: 'clover_dispatch_runs_in_flight',
      help: 'Runs between their EXEC and their final status',
      collect: (g) => g.set(gauges.inFlight()),
    });
    m.gauge({
      name: 'clover_dispatch_waiting_runs',
      help: 'Runs waiting for an agent with a free slot',
      collect: (g) => g.set(gauges.waiting()),
    });
    m.gauge({
      name: 'clover_dispatch_leader',
      help: '1 while this server leads (fires), else 0',
      collect: (g) => g.set(gauges.leading() ? 1 : 0),
    });
    m.gauge({
      name: 'clover_dispatch_jobs_armed',
      help: 'Jobs whose next slot is armed here (0 unless leading)',
      collect: (g) => g.set(gauges.jobsArmed()),
    });
    m.gauge<'state'>({
      name: 'clover_zookeeper_session_state',
      help: "1 for the state this server's ZooKeeper session is in (connected, disconnected, expired, closed), 0 for the others",
      labelNames: ['state'],
      collect: (g) => {
        const now = gauges.zkState();
        for (const state of zkStates) g.set(state === now ? 1 : 0, { state });
      },
    });
  }

  /** One batch the store wrote: its size and time, and the runs and final statuses it recorded. */
  written(
    writes: number,
    seconds: number,
    inserted: ReadonlyArray<{ input: RunInput; ok: boolean }>,
    updated: ReadonlyArray<{ patch: RunPatch; ok: boolean }>,
    fenced = 0,
  ): void {
    if (fenced) this.fenced.inc(undefined, fenced);
    this.batchSize.observe(writes);
    this.batchSeconds.observe(seconds);
    for (const { input, ok } of inserted) {
      if (!ok) continue;
      this.fires.inc({ trigger: input.trigger ?? 'schedule' });
      if (terminal.has(input.status)) this.finished.inc({ status: input.status });
    }
    for (const { patch, ok } of updated) {
      if (!ok) continue;
      if (patch.trigger === 'retry' && patch.status === 'scheduled') this.fires.inc({ trigger: 'retry' });
      if (patch.status && terminal.has(patch.status)) this.finished.inc({ status: patch.status });
    }
  }

  /** A batch the store failed: none of it was written. */
  writeFailed(writes: number, seconds: number): void {
    this.batchSize.observe(writes);
    this.batchSeconds.observe(seconds);
    this.batchFailures.inc();
  }
}
