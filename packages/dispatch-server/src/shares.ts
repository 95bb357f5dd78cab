import { hashRanges, partitionOf } from '@clover/partitions';
import type { HashRange } from '@clover/store';
import type { PartitionGrant } from '@clover/zk-kit';

/** A partition this server owns: its grant (epoch, incarnation) and the local term it was acquired in. */
export interface OwnedShare {
  grant: PartitionGrant;
  /**
   * A number of this server's own, new at each acquisition (ShareTable.acquire): work begun for
   * a job under one term (a fire claimed ahead, an adopted run's send) goes on only while the
   * job's partition is held under that same term. A partition lost and won back gets a new one.
   */
  term: number;
}

/**
 * The partitions a dispatch-server owns when it shares the jobs out (`DispatchServerOptions.shares`;
 * docs/architecture.md, "Scale-out: partitions"): which job is this server's to fire, under which
 * local term, and the store's hash ranges of a set of partitions. The grants come from zk-kit's
 * PartitionOwnership (`acquired`/`revoked`); this table only mirrors them, with no I/O.
 */
export class ShareTable {
  private readonly owned = new Map<number, OwnedShare>();
  /** partitionOf is a SHA-256; a job is asked about at every fire, so its partition is kept. */
  private readonly partitionOfJob = new Map<string, number>();
  private lastTerm = 0;

  /** @param partitionCount the cluster's partition count (a power of two, @clover/partitions). */
  constructor(readonly partitionCount: number) {}

  /** How many partitions are owned now. */
  get size(): number {
    return this.owned.size;
  }

  /** The partition of a job (@clover/partitions `partitionOf`). */
  partitionOf(jobId: string): number {
    let p = this.partitionOfJob.get(jobId);
    if (p === undefined) {
      p = partitionOf(jobId, this.partitionCount);
      // Bounded: a table of every job id ever seen would only grow.
      if (this.partitionOfJob.size >= 200_000) this.partitionOfJob.clear();
      this.partitionOfJob.set(jobId, p);
    }
    return p;
  }

  /** Records newly granted partitions under one new term, which it returns. */
  acquire(grants: PartitionGrant[]): number {
    const term = ++this.lastTerm;
    for (const grant of grants) this.owned.set(grant.partition, { grant, term });
    return term;
  }

  /** Forgets partitions; returns those of them that were owned. */
  revoke(partitions: Iterable<number>): number[] {
    const gone: number[] = [];
    for (const p of partitions) if (this.owned.delete(p)) gone.push(p);
    return gone;
  }

  /** The local term the job's partition is held under, or undefined when it is not owned. */
  termOf(jobId: string): number | undefined {
    return this.owned.get(this.partitionOf(jobId))?.term;
  }

  /** The grant (fencing token) of the job's partition, undefined when it is not owned. */
  grantOf(jobId: string): PartitionGrant | undefined {
    return this.owned.get(this.partitionOf(jobId))?.grant;
  }

  /** Whether the partition is owned under `term` still. */
  holdsPartition(partition: number, term: number): boolean {
    return this.owned.get(partition)?.term === term;
  }

  /** Whether the job's partition is owned now. */
  owns(jobId: string): boolean {
    return this.owned.has(this.partitionOf(jobId));
  }

  /** The owned partitions, ascending. */
  partitions(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  /** The grants of the owned partitions, ascending by partition. */
  grants(): PartitionGrant[] {
    return [...this.owned.values()].map((s) => s.grant).sort((a, b) => a.partition - b.partition);
  }

  /** The job-hash ranges of `partitions`, adjacent ones merged (`JobHashQuery.ranges`). */
  ranges(partitions: Iterable<number>): HashRange[] {
    return hashRanges(partitions, this.partitionCount);
  }
}

/** The job of a run id (`jobId@slot[#node]`, model `runId`). */
export function jobIdOfRun(runId: string): string {
  const at = runId.indexOf('@');
  return at > 0 ? runId.slice(0, at) : runId;
}
