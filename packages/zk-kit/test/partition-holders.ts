import { assign } from '@clover/partitions';
import type { PartitionGrant, PartitionOwnership } from '../src/index.js';

/** Small, so a test claims quickly; the recipe does not depend on the count. */
export const count = 256;

/**
 * Who holds what, by the members' own events: a partition acquired while another member still
 * holds it is a violation (two owners at once), the one thing the hand-over must never allow.
 */
export class Holders {
  readonly byPartition = new Map<number, string>();
  readonly violations: string[] = [];
  readonly drained: string[] = [];

  follow(id: string, member: PartitionOwnership): void {
    member.on('acquired', (grants: PartitionGrant[]) => {
      for (const g of grants) {
        const other = this.byPartition.get(g.partition);
        if (other !== undefined && other !== id) this.violations.push(`${id} acquired ${g.partition} while ${other} held it`);
        this.byPartition.set(g.partition, id);
      }
    });
    member.on('revoked', (partitions: number[]) => {
      for (const p of partitions) if (this.byPartition.get(p) === id) this.byPartition.delete(p);
    });
  }

  /** Every partition held by the member rendezvous hashing names among `ids`. */
  matches(ids: string[]): boolean {
    const owners = assign(ids, count).owners;
    return owners.every((owner, p) => this.byPartition.get(p) === owner);
  }
}
