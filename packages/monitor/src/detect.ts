import type { NodeKind, NodeRecord } from '@clover/zk-kit';

export interface TrackedNode {
  kind: NodeKind;
  id: string;
  path: string;
  data: Record<string, unknown>;
  seq: number;
  /** When the seq last moved (or the node was first seen), on the monitor's monotonic clock, ms. */
  advancedAt: number;
  dead: boolean;
}

export type Detection =
  { type: 'dead'; node: TrackedNode; reason: 'vanished' | 'silent'; silentForMs: number } | { type: 'recovered'; node: TrackedNode };

/**
 * Decides who is dead from what ZooKeeper shows. A node is alive while its `seq` keeps moving
 * as seen on the monitor's own monotonic clock (every `now` here is one), never by its
 * `beatAt`: a host whose clock is off (a beatAt an hour behind, or ten minutes ahead) is
 * neither called dead while it beats nor kept alive once it stops, and a step of the
 * monitor's own wall clock changes nothing; a node whose seq stands still for the dead timeout is, even while its
 * ZooKeeper session (a C thread) keeps the znode there. A znode gone without a 'leaving' last
 * word is a death too.
 */
export class DeathDetector {
  private readonly nodes = new Map<string, TrackedNode>();
  /** The monitor cannot see ZooKeeper now: no beat can reach it, so no silence is judged. */
  private blind = false;

  /**
   * The monitor's own ZooKeeper connection is lost (disconnected or expired): until
   * {@link regainedSight}, `check` finds nobody silent.
   */
  lostSight(): void {
    this.blind = true;
  }

  /**
   * The monitor sees ZooKeeper again at `now`: every node's silence counts from then, not from its
   * last beat seen before. A ZooKeeper host cut off for 2 s (issue 16's partition runs) had a
   * server called dead for 4.06 s of silence, 130 ms before its next beat: the monitor, cut off as
   * well, judged the moment it was back, before any node had had the time to beat. A node that
   * died while the monitor was blind is called dead a dead timeout later than it would have been.
   */
  regainedSight(now: number): void {
    this.blind = false;
    for (const node of this.nodes.values()) node.advancedAt = Math.max(node.advancedAt, now);
  }

  private key(kind: NodeKind, id: string): string {
    return `${kind}/${id}`;
  }

  /** The full current list of one kind; returns what changed. */
  update(kind: NodeKind, records: NodeRecord[], now: number): Detection[] {
    const out: Detection[] = [];
    const present = new Set<string>();
    for (const r of records) {
      const k = this.key(kind, r.id);
      present.add(k);
      const seq = typeof r.data.seq === 'number' ? r.data.seq : -1;
      const prev = this.nodes.get(k);
      if (!prev || prev.dead) {
        const node: TrackedNode = { kind, id: r.id, path: r.path, data: r.data, seq, advancedAt: now, dead: false };
        this.nodes.set(k, node);
        // A node that was declared dead and registers again has recovered.
        if (prev?.dead) out.push({ type: 'recovered', node });
        continue;
      }
      if (seq !== prev.seq) {
        prev.seq = seq;
        prev.advancedAt = now;
      }
      prev.data = r.data;
    }
    for (const [k, node] of this.nodes) {
      if (node.kind !== kind || present.has(k)) continue;
      if (node.dead) continue;
      if (node.data.status === 'leaving') {
        this.nodes.delete(k);
        continue;
      }
      node.dead = true;
      out.push({ type: 'dead', node, reason: 'vanished', silentForMs: now - node.advancedAt });
    }
    return out;
  }

  /** Nodes whose seq has not moved for their kind's dead timeout. */
  check(now: number, deadTimeoutMs: Record<NodeKind, number>): Detection[] {
    const out: Detection[] = [];
    if (this.blind) return out;
    for (const node of this.nodes.values()) {
      if (node.dead) continue;
      const silent = now - node.advancedAt;
      if (silent > deadTimeoutMs[node.kind]) {
        node.dead = true;
        out.push({ type: 'dead', node, reason: 'silent', silentForMs: silent });
      }
    }
    return out;
  }

  /** Forget a dead node once its incident is handled and its znode gone for good. */
  isDead(kind: NodeKind, id: string): boolean {
    return this.nodes.get(this.key(kind, id))?.dead ?? false;
  }

  /** Every node tracked now, alive or dead (the monitor's node gauge). */
  tracked(): IterableIterator<TrackedNode> {
    return this.nodes.values();
  }

  /** A fresh start for every node now present (a monitor taking over has no history). */
  reset(): void {
    this.nodes.clear();
  }
}
