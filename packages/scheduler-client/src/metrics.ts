import { durationBuckets, type Counter, type Histogram, type Metrics } from '@clover/telemetry';

/** What the agent's gauges read when scraped. */
export interface AgentGauges {
  running(): number;
  capacity(): number;
  /** Whether a dispatch leader has been heard from lately (`Agent.leaderConnected`). */
  leaderConnected(): boolean;
}

/** The agent's metrics (docs/deploy.md, "Metrics"), on the `Metrics` port. */
export class AgentMetrics {
  /** Executions this agent began, by kind (handler, shell, http). */
  readonly started: Counter<'kind'>;
  /** EXECs refused, by reason (duplicate, no_handler, at_capacity, unsupported, draining). */
  readonly refused: Counter<'reason'>;
  private readonly finished: Counter<'status'>;
  private readonly duration: Histogram<'status'>;
  /** Connections to a dispatch leader after the first: a new leader, or one back after none. */
  readonly reconnects: Counter;

  constructor(m: Metrics, gauges: AgentGauges) {
    this.started = m.counter({ name: 'clover_agent_executions_started_total', help: 'Executions begun, by kind', labelNames: ['kind'] });
    this.refused = m.counter({ name: 'clover_agent_execs_refused_total', help: 'EXECs refused, by reason', labelNames: ['reason'] });
    this.finished = m.counter({
      name: 'clover_agent_executions_finished_total',
      help: 'Executions ended, by status (succeeded, failed, timed_out, cancelled)',
      labelNames: ['status'],
    });
    this.duration = m.histogram({
      name: 'clover_agent_execution_duration_seconds',
      help: 'How long executions ran, in seconds, by status',
      labelNames: ['status'],
      buckets: durationBuckets,
    });
    this.reconnects = m.counter({
      name: 'clover_agent_reconnects_total',
      help: 'Connections to a dispatch leader after the first (a new leader, or one back after none)',
    });
    m.gauge({ name: 'clover_agent_executions_running', help: 'Executions running now', collect: (g) => g.set(gauges.running()) });
    m.gauge({
      name: 'clover_agent_capacity',
      help: 'Executions this agent runs at once at most',
      collect: (g) => g.set(gauges.capacity()),
    });
    m.gauge({
      name: 'clover_agent_leader_connected',
      help: '1 while a dispatch leader has been heard from lately, else 0',
      collect: (g) => g.set(gauges.leaderConnected() ? 1 : 0),
    });
  }

  /** One execution ended with `status` after `seconds`. */
  ended(status: string, seconds: number): void {
    this.finished.inc({ status });
    this.duration.observe(seconds, { status });
  }
}
