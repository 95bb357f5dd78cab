import { nodeKinds, type NodeKind } from '@clover/zk-kit';
import { secondsBuckets, type Counter, type Gauge, type Histogram, type Metrics } from '@clover/telemetry';

/** What the monitor's gauges read when scraped. */
export interface MonitorGauges {
  /** Nodes tracked now, by kind, alive and dead. */
  nodes(): Iterable<{ kind: NodeKind; dead: boolean }>;
  /** Whether this monitor is the active one (elected). */
  active(): boolean;
}

/** The monitor's metrics (docs/deploy.md, "Metrics"), on the `Metrics` port. */
export class MonitorMetrics {
  /** Deaths declared by the active monitor, by kind and reason (vanished, silent). */
  readonly deaths: Counter<'kind' | 'reason'>;
  /** From a dead node's last heartbeat advance (or its first sight) to its death being declared, by reason. */
  readonly detectionDelay: Histogram<'reason'>;
  readonly mailsSent: Counter;
  readonly mailsFailed: Counter;
  /** Incidents waiting to be mailed (openings and recoveries), as of the last mail pass. */
  readonly mailsQueued: Gauge;

  constructor(m: Metrics, gauges: MonitorGauges) {
    this.deaths = m.counter({
      name: 'clover_monitor_deaths_total',
      help: 'Node deaths declared, by kind and reason',
      labelNames: ['kind', 'reason'],
    });
    this.detectionDelay = m.histogram({
      name: 'clover_monitor_detection_delay_seconds',
      help: "From a dead node's last heartbeat advance to its death being declared, in seconds, by reason",
      labelNames: ['reason'],
      buckets: secondsBuckets,
    });
    this.mailsSent = m.counter({ name: 'clover_monitor_mails_sent_total', help: 'Incident mails sent (or put in the outbox)' });
    this.mailsFailed = m.counter({ name: 'clover_monitor_mails_failed_total', help: 'Mail passes that failed (retried with backoff)' });
    this.mailsQueued = m.gauge({ name: 'clover_monitor_mails_queued', help: 'Incidents waiting to be mailed, as of the last mail pass' });
    m.gauge<'kind' | 'state'>({
      name: 'clover_monitor_nodes',
      help: 'Nodes the monitor tracks, by kind (servers, clients, monitors) and state (alive, dead)',
      labelNames: ['kind', 'state'],
      collect: (g) => {
        const counts = new Map<string, number>();
        for (const kind of nodeKinds) for (const state of ['alive', 'dead']) counts.set(`${kind}/${state}`, 0);
        for (const n of gauges.nodes()) {
          const k = `${n.kind}/${n.dead ? 'dead' : 'alive'}`;
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
        for (const [k, v] of counts) {
          const [kind, state] = k.split('/');
          g.set(v, { kind, state });
        }
      },
    });
    m.gauge({
      name: 'clover_monitor_active',
      help: '1 while this monitor is the active one, else 0',
      collect: (g) => g.set(gauges.active() ? 1 : 0),
    });
  }
}
