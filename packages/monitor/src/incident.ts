import type { Incident } from '@clover/model';
import type { Store } from '@clover/store';
import type { NodeKind } from '@clover/zk-kit';
import type { TrackedNode } from './detect.js';
import type { Logger } from '@clover/telemetry';

/** Opens and closes node incidents in the store (one open incident per node) and in the log. */
export class IncidentBook {
  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  async openDeath(node: TrackedNode, reason: 'vanished' | 'silent', silentForMs: number, at: Date): Promise<Incident | null> {
    const existing = await this.store.incidents.findOpen('node_dead', node.id);
    if (existing) return null;
    const d = node.data;
    const activeRuns = node.kind === 'clients' ? (await this.store.runs.listActive({ node: node.id })).map((r) => r.id) : [];
    const running = Array.isArray(d.running) ? d.running : activeRuns;
    const incident = await this.store.incidents.open({
      kind: 'node_dead',
      subject: node.id,
      nodeKind: node.kind,
      openedAt: at,
      message: `${node.kind.replace(/s$/, '')} ${node.id} on ${typeof d.host === 'string' ? d.host : 'unknown host'} is dead: ${reason === 'silent' ? `heartbeat silent for ${(silentForMs / 1000).toFixed(1)} s` : 'its ZooKeeper session ended without a clean stop'}`,
      details: {
        host: d.host ?? null,
        pid: d.pid ?? null,
        endpoint: d.endpoint ?? null,
        lastBeatAt: d.beatAt ?? null,
        silentForMs,
        reason,
        running: activeRuns.length ? activeRuns : running,
        version: d.version ?? null,
      },
    });
    this.logger.error('node dead', { incident: incident.id, kind: node.kind, node: node.id, reason, silentForMs, host: d.host });
    return incident;
  }

  async closeRecovery(kind: NodeKind, id: string, at: Date): Promise<Incident | null> {
    const open = await this.store.incidents.findOpen('node_dead', id);
    if (!open) return null;
    const closed = await this.store.incidents.close(open.id, at);
    this.logger.warn('node recovered', { incident: open.id, kind, node: id, downMs: at.getTime() - open.openedAt.getTime() });
    return closed;
  }
}
