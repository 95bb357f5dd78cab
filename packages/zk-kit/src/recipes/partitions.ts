import { EventEmitter } from 'node:events';
import { settleWithin } from '@clover/lifecycle';
import { assertPartitionCount, assign, partitionsOf, type Assignment } from '@clover/partitions';
import { noopLogger, type Logger } from '@clover/telemetry';
import { z } from 'zod';
import { BadVersionError, InvalidDataError, NodeExistsError, NoNodeError } from '../errors.js';
import type { Unsubscribe, ZkClient, ZkStat } from '../interfaces.js';
import { joinPath } from '../paths.js';
import { deleteOwnEphemeral, ownEphemeral } from './own-ephemeral.js';

/**
 * A partition held by this member: what a writer checks before it acts for the partition.
 * `epoch` is the version of the partition's owner znode after this member's claim: ZooKeeper
 * raises it at every write to that znode (claim or release), so a later owner always holds a
 * higher epoch of the same incarnation. `incarnation` is the znode's creation time (ms): should
 * the znode be deleted and made again (a forced deletion from the console) versions restart at
 * 0, and the pair (incarnation, epoch), ordered lexicographically, still only grows.
 */
export interface PartitionGrant {
  partition: number;
  epoch: number;
  incarnation: number;
}

export interface PartitionOwnershipOptions {
  /** The recipe's folder, e.g. `cloverPaths().partitions` ('/clover/partitions'). */
  path: string;
  /** This member's id (a dispatch-server's configured id): its rendezvous weights come from it alone. */
  id: string;
  /**
   * The number of partitions, a power of two (@clover/partitions `assertPartitionCount`). The
   * first member writes it into the folder's znode; a member started with another count is
   * refused (`start()` throws), since two counts would give one job two partitions.
   */
  partitionCount: number;
  /** Extra data for the member znode (e.g. the server's endpoint), for readers such as agents. */
  data?: Record<string, unknown>;
  /**
   * Awaited after 'revoked' and before revoked partitions are handed to their new owner, with
   * the partitions: the owner stops firing them and lets the fires it has claimed ahead be
   * written (or abandons them), so the new owner adopts complete rows. Bounded by
   * `drainTimeoutMs`; a rejection is logged and the hand-over goes on. Not called when the
   * connection is lost: then the partitions are lost at once and go to a new owner only after
   * ZooKeeper expires this member's session.
   */
  drain?: (partitions: number[]) => Promise<void>;
  /** Longest wait for `drain`, in milliseconds (default 10,000). */
  drainTimeoutMs?: number;
  /** How many ZooKeeper requests one pass keeps in flight (default 64). */
  concurrency?: number;
  logger?: Logger;
}

const memberPrefix = 'm-';
const memberSchema = z.object({ id: z.string().min(1), session: z.string().min(1), leaving: z.boolean().optional() }).loose();
const recordSchema = z.object({ owner: z.string().nullable(), session: z.string().nullable() }).loose();
const rootSchema = z.object({ partitionCount: z.number() }).loose();
type Member = z.infer<typeof memberSchema>;
type OwnerRecord = z.infer<typeof recordSchema>;

/** An owner znode's record and stat; a record that is not one (written behind the recipe's back) is nobody's, so free to claim. */
function parseRecord(node: { data: Buffer; stat: ZkStat } | null): { record: OwnerRecord | null; stat: ZkStat } | null {
  if (!node) return null;
  let record: OwnerRecord | null = null;
  try {
    const parsed = recordSchema.safeParse(JSON.parse(node.data.toString('utf8')));
    if (parsed.success) record = parsed.data;
  } catch {
    // Not JSON: nobody's.
  }
  return { record, stat: node.stat };
}

/** The znode name of partition p's owner record: zero-padded, so a listing sorts by partition. */
export function partitionNodeName(partition: number): string {
  return String(partition).padStart(5, '0');
}

/**
 * Who owns which partition, coordinated through ZooKeeper with no coordinator process
 * (docs/architecture.md, "Scale-out: partitions"):
 * - membership: each member holds an ephemeral-sequential znode `<path>/members/m-…` with
 *   `{ id, session }` (ZooKeeper recipes, "Group Membership"); its session ending removes it;
 * - assignment: every member computes rendezvous hashing (@clover/partitions `assign`) over the
 *   ids of the members not leaving, so all agree on who should own each partition;
 * - ownership: partition p's persistent znode `<path>/owners/<p>` holds `{ owner, session }`,
 *   and is claimed by a conditional write (its version as read). It is free when its owner is
 *   null (released) or its session is not among the live members' (dead); a member never takes
 *   a partition from a live owner, it waits for the release. The version after the claim is the
 *   partition's epoch (Kafka's leader epoch, Helix's per-partition state): a writer compares
 *   the epoch it holds with the znode (`confirm`), or the store compares it with the highest it
 *   has seen, so an owner cut off and woken later cannot act for the partition.
 *
 * Events: 'acquired' (grants: PartitionGrant[]) after partitions are claimed; 'revoked'
 * (partitions: number[], why: string) as soon as partitions stop being this member's, before
 * any is handed over (at once when the connection is lost); 'error' (err) for a failed pass,
 * which is retried. A reconnect within the session gets the same partitions back at the same
 * epochs without a write; a new session claims them anew, at higher epochs.
 */
export class PartitionOwnership extends EventEmitter {
  private readonly owned = new Map<number, PartitionGrant>();
  /**
   * Every claim this member's session has in ZooKeeper and has not released, whether or not it
   * fires the partition now, with the session it was made in: after a disconnect `owned` is empty
   * while the owner znodes still name this session, and another member waits for their release.
   * A full pass in the same session takes back those that are still ours and releases the others
   * (the chaos run's orphans: partitions a member held through ZooKeeper's restart, given to
   * another meanwhile, released by nobody while the holder's session lived).
   */
  private readonly held = new Map<number, PartitionGrant & { session: string | null }>();
  private readonly watches = new Map<number, Unsubscribe>();
  /** Partitions whose owner znode changed since the last pass (ours: still ours? others': released?). */
  private readonly touched = new Set<number>();
  /** The live members' sessions, as the last full pass read them. */
  private live = new Set<string>();
  private readonly membersPath: string;
  private readonly ownersPath: string;
  private readonly logger: Logger;
  private member: { path: string; session: string; leaving: boolean } | null = null;
  private stopMembersWatch: (() => void) | null = null;
  private offState: (() => void) | null = null;
  private queue: Promise<void> = Promise.resolve();
  private passPending = false;
  /** A full pass is due (start, members changed, reconnect), not only one over touched partitions. */
  private fullPending = false;
  private started = false;
  private leaving = false;
  private closing: Promise<void> | undefined;
  private current: Assignment | null = null;
  private currentKey = '';
  /** Raised whenever everything held is lost: a pass that began before keeps none of its claims. */
  private generation = 0;
  /** Partitions revoked and not yet released (their drain runs): not claimed back meanwhile. */
  private readonly handingOver = new Set<number>();
  /** The hand-overs under way, which a leave waits for. */
  private readonly handOvers = new Set<Promise<void>>();

  constructor(
    private readonly zk: ZkClient,
    private readonly opts: PartitionOwnershipOptions,
  ) {
    super();
    assertPartitionCount(opts.partitionCount);
    if (!opts.id || opts.id.includes('/')) throw new Error(`member id must be non-empty without '/', got "${opts.id}"`);
    this.membersPath = joinPath(opts.path, 'members');
    this.ownersPath = joinPath(opts.path, 'owners');
    this.logger = opts.logger ?? noopLogger;
  }

  /** The partitions this member holds now, with their epochs, ascending. */
  grants(): PartitionGrant[] {
    return [...this.owned.values()].sort((a, b) => a.partition - b.partition);
  }

  /** This member's grant for a partition, or undefined when it does not hold it. */
  grantOf(partition: number): PartitionGrant | undefined {
    return this.owned.get(partition);
  }

  /** Whether this member holds `partition` at `epoch` as far as it knows (no ZooKeeper round trip). */
  holds(partition: number, epoch: number): boolean {
    return this.owned.get(partition)?.epoch === epoch;
  }

  /** The assignment of the last pass (rendezvous hashing over the live, non-leaving members), or null before one. */
  get assignment(): Assignment | null {
    return this.current;
  }

  /**
   * Asks ZooKeeper whether this member still holds `partition` at `epoch`: its owner znode's
   * version is `epoch` and names this session. One round trip; what a writer does after a pause
   * (the event loop stood still, the session may have expired meanwhile) before it acts for the
   * partition. False when the connection is down or the znode cannot be read.
   */
  async confirm(partition: number, epoch: number): Promise<boolean> {
    if (this.zk.state !== 'connected') return false;
    const node = await this.readRecord(partition).catch(() => null);
    return !!node?.record && node.stat.version === epoch && node.record.session === this.zk.sessionId && node.record.owner === this.opts.id;
  }

  /**
   * Asks ZooKeeper whether this member is still registered in the session it registered in: its
   * member znode exists, read in that session. One round trip; what an owner does after a pause
   * (docs/architecture.md, "Fencing", layer 2): partitions are taken from a member only once its
   * session has ended (or released by the member itself), so a yes proves none was taken
   * meanwhile. (An admin deleting the member znode is the exception; the owner znodes' watches
   * report that loss.) False when the connection is down, the session changed, or the read fails.
   */
  async confirmMember(): Promise<boolean> {
    const m = this.member;
    // Asked again after the read: the answer counts only if the session was the same throughout.
    const inSession = () => m !== null && this.zk.state === 'connected' && this.zk.sessionId === m.session;
    if (!m || !inSession()) return false;
    // The member znode's name alone proves nothing: a re-created members folder numbers from 0
    // again, and another member's znode can bear it (ownEphemeral).
    const stat = await ownEphemeral(this.zk, m.path, m.session).catch(() => null);
    return !!stat && inSession();
  }

  /**
   * Joins: checks (or, first, writes) the partition count, then registers this member and
   * claims its share. Resolves after the first pass; partitions still held by live owners come
   * later, when those release them. Throws when the folder holds another partition count.
   */
  async start(): Promise<void> {
    if (this.started) return;
    await this.checkCount();
    this.started = true;
    this.offState = this.zk.onState((state) => {
      if (state === 'connected') this.schedule(true);
      else this.loseAll(`ZooKeeper connection ${state}`);
    });
    this.stopMembersWatch = this.zk.watch(this.membersPath, (e) => {
      // A member's data changes when it starts leaving (it re-registers, a children event).
      if (e.type === 'children' || e.type === 'deleted' || e.type === 'created') this.schedule(true);
    });
    if (this.zk.state === 'connected') this.schedule(true);
    await this.queue;
  }

  /**
   * Leaves gracefully: the member says it is leaving (the others stop counting it), stops
   * firing its partitions ('revoked', then `drain`), releases each, and removes its znode.
   * Safe twice; the second call returns the first's promise.
   */
  close(): Promise<void> {
    this.closing ??= this.leave();
    return this.closing;
  }

  private async leave(): Promise<void> {
    if (!this.started) return;
    this.leaving = true;
    this.schedule(true);
    await this.queue;
    while (this.handOvers.size) await Promise.all([...this.handOvers]);
    this.started = false;
    this.offState?.();
    this.stopMembersWatch?.();
    for (const off of this.watches.values()) off();
    this.watches.clear();
    this.loseAll('closed');
    const mine = this.member;
    this.member = null;
    if (mine && this.zk.state === 'connected') await deleteOwnEphemeral(this.zk, mine.path, mine.session);
  }

  private async checkCount(): Promise<void> {
    await this.zk.ensurePath(this.membersPath);
    await this.zk.ensurePath(this.ownersPath);
    // Data that is not JSON (written behind the recipe's back) counts as no count yet, and is replaced.
    const node = await this.zk.get(this.opts.path).catch(async (err: unknown) => {
      if (!(err instanceof InvalidDataError)) throw err;
      const raw = await this.zk.getRaw(this.opts.path);
      return raw && { data: null, stat: raw.stat };
    });
    const have = rootSchema.safeParse(node?.data);
    if (have.success) {
      if (have.data.partitionCount !== this.opts.partitionCount) {
        throw new Error(
          `${this.opts.path} is set for ${have.data.partitionCount} partitions, this member for ${this.opts.partitionCount}: every dispatch-server of a cluster must use the same count`,
        );
      }
      return;
    }
    await this.zk.set(this.opts.path, { partitionCount: this.opts.partitionCount }, node?.stat.version ?? -1).catch((err: unknown) => {
      if (!(err instanceof BadVersionError)) throw err;
    });
    // Two members may have written at once: the one that won decides, and the other is told.
    return this.checkCount();
  }

  private schedule(full = false): void {
    if (full) this.fullPending = true;
    if (this.passPending) return;
    this.passPending = true;
    this.queue = this.queue
      .then(() => {
        this.passPending = false;
        return this.pass();
      })
      .catch((err: unknown) => {
        this.passPending = false;
        if (this.listenerCount('error') > 0) this.emit('error', err);
        else this.logger.warn('partition ownership pass failed; retrying', { err });
        setTimeout(() => this.started && this.zk.state === 'connected' && this.schedule(true), 500);
      });
  }

  private loseAll(why: string): void {
    this.generation++;
    if (this.owned.size === 0) return;
    const lost = [...this.owned.keys()].sort((a, b) => a - b);
    this.owned.clear();
    this.touched.clear();
    this.emit('revoked', lost, why);
  }

  private recordPath(partition: number): string {
    return joinPath(this.ownersPath, partitionNodeName(partition));
  }

  private async readRecord(partition: number): Promise<{ record: OwnerRecord | null; stat: ZkStat } | null> {
    return parseRecord(await this.zk.getRaw(this.recordPath(partition)));
  }

  /**
   * Partition p's owner znode as its watch last read it (armed with `data: true`: the same
   * request reads it), else read now. A claim is a write at the version read, so a record read
   * when the watch armed is as good as one read after: a change since fails the write and its
   * event brings another pass.
   */
  private async watchedRecord(partition: number): Promise<{ record: OwnerRecord | null; stat: ZkStat } | null> {
    const seen = this.zk.watchedData(this.recordPath(partition));
    return seen === undefined ? this.readRecord(partition) : parseRecord(seen);
  }

  /** Registers this member for the current session (again after an expiry, or when it starts leaving). */
  private async register(): Promise<void> {
    const session = this.zk.sessionId;
    if (!session) return;
    const m = this.member;
    if (m && m.session === session && m.leaving === this.leaving && (await ownEphemeral(this.zk, m.path, session))) return;
    await this.zk.ensurePath(this.membersPath);
    const data = { ...this.opts.data, id: this.opts.id, session, ...(this.leaving ? { leaving: true } : {}) };
    const path = await this.zk.create(joinPath(this.membersPath, memberPrefix), data, 'ephemeral_sequential');
    this.member = { path, session, leaving: this.leaving };
    // The new znode first, then the old one goes: the session is never without a member znode.
    if (m && m.session === session && m.path !== path) await deleteOwnEphemeral(this.zk, m.path, session);
  }

  private async readMembers(): Promise<Member[]> {
    const names = (await this.zk.children(this.membersPath)).filter((n) => n.startsWith(memberPrefix));
    const members = await this.limited(names, async (name) => {
      try {
        const node = await this.zk.get(joinPath(this.membersPath, name));
        const parsed = memberSchema.safeParse(node?.data);
        return parsed.success ? parsed.data : null;
      } catch (err) {
        if (err instanceof InvalidDataError) return null;
        throw err;
      }
    });
    return members.filter((m): m is Member => m !== null);
  }

  /**
   * One pass. A full one (start, a change of the members, a reconnect): register, read the
   * members, hand over what is no longer ours, claim what is. Otherwise only the partitions
   * whose znodes changed are looked at: a release by another member, or a change to one of
   * ours; a member waiting for a leaver's thousand partitions reads each once, not all of them
   * at every release.
   */
  private async pass(): Promise<void> {
    if (!this.started || this.zk.state !== 'connected') return;
    const session = this.zk.sessionId;
    const generation = this.generation;
    const full = this.fullPending || !this.current;
    this.fullPending = false;
    const touched = [...this.touched];
    this.touched.clear();
    try {
      await this.passOver(full, touched, session, generation);
    } catch (err) {
      // Looked at again by the retry (a full pass).
      for (const p of touched) this.touched.add(p);
      throw err;
    }
  }

  private async passOver(full: boolean, touched: number[], session: string | null, generation: number): Promise<void> {
    const begunAt = performance.now();
    if (full) {
      // Claims of an ended session are anyone's (its session is not live): nothing to release.
      for (const [p, h] of this.held) if (h.session !== session) this.held.delete(p);
      await this.register();
      const members = await this.readMembers();
      this.live = new Set(members.map((m) => m.session));
      this.current = this.assignmentOf(members);
    }
    const me = this.opts.id;

    // Owned partitions whose znode changed: still ours only if it still names us at our epoch.
    const changed = touched.filter((p) => this.owned.has(p));
    const taken: number[] = [];
    await this.limited(changed, async (p) => {
      const node = await this.watchedRecord(p);
      const grant = this.owned.get(p);
      if (!grant || !node?.record || node.stat.version !== grant.epoch || node.record.session !== session) taken.push(p);
    });
    if (taken.length) {
      for (const p of taken) {
        this.owned.delete(p);
        this.held.delete(p);
      }
      this.logger.warn('partitions taken behind our back', { partitions: taken.length });
      this.emit(
        'revoked',
        taken.sort((a, b) => a - b),
        'owner znode changed by someone else',
      );
    }

    const assignment = this.current;
    if (full) {
      const handOver = [...this.held.keys()].filter((p) => assignment?.owners[p] !== me && !this.handingOver.has(p)).sort((a, b) => a - b);
      if (handOver.length) this.startHandOver(handOver);
    }

    // A partition still being handed over is not claimed back until its release is written: the
    // release is versioned by the epoch held, and would clear a claim taken back at that epoch.
    const ours = (p: number) => !this.leaving && assignment?.owners[p] === me && !this.owned.has(p) && !this.handingOver.has(p);
    const wanted = full ? (assignment && !this.leaving ? partitionsOf(assignment, me).filter(ours) : []) : touched.filter(ours);
    // Watch before reading: a release that lands between the read and the watch is not missed. A
    // watch armed now read the record as it armed (data: true), so only one armed earlier, and not
    // re-armed since, is read again here.
    await this.limited(wanted, (p) => this.watchRecord(p));
    const records = await this.limited(wanted, async (p) => ({ p, node: await this.watchedRecord(p) }));
    // An owner this pass does not know may have joined after the members were read: read them
    // again, after its record, so that only a session that really ended counts as dead.
    if (records.some(({ node }) => node?.record?.session && !this.live.has(node.record.session))) {
      this.live = new Set((await this.readMembers()).map((m) => m.session));
    }
    const live = this.live;
    const readAt = performance.now();
    const grants = (
      await this.limited(records, ({ p, node }) => (this.zk.sessionId === session ? this.claim(p, node, live, session) : null))
    ).filter((g): g is PartitionGrant => g !== null);
    // Held in ZooKeeper from here, whether or not this pass may still fire them.
    for (const g of grants) this.held.set(g.partition, { ...g, session });
    if (grants.length)
      // When a takeover is slow, which step: the members and records read, or the claims.
      this.logger.info('partitions claimed', {
        full,
        wanted: wanted.length,
        claimed: grants.length,
        readMs: Math.round(readAt - begunAt),
        claimMs: Math.round(performance.now() - readAt),
      });

    if (full) {
      const granted = new Set(grants.map((g) => g.partition));
      for (const [p, off] of this.watches) {
        if (this.owned.has(p) || granted.has(p) || assignment?.owners[p] === me) continue;
        off();
        this.watches.delete(p);
      }
    }
    // Lost meanwhile (a disconnect): the claims stay in ZooKeeper, and the next pass in this
    // session takes them back without a write; in a new session they are a dead session's.
    if (!this.stillIn(session, generation)) return;
    for (const g of grants) this.owned.set(g.partition, g);
    if (grants.length) this.emit('acquired', grants);
  }

  /** Whether a pass begun in `session` at `generation` may still keep what it claimed. */
  private stillIn(session: string | null, generation: number): boolean {
    return this.started && this.zk.state === 'connected' && this.zk.sessionId === session && this.generation === generation;
  }

  private assignmentOf(members: Member[]): Assignment | null {
    const ids = [...new Set(members.filter((m) => !m.leaving).map((m) => m.id))].sort();
    const key = ids.join('\n');
    if (key !== this.currentKey || !this.current) {
      this.currentKey = key;
      this.current = ids.length ? assign(ids, this.opts.partitionCount) : null;
    }
    return this.current;
  }

  private async watchRecord(partition: number): Promise<void> {
    if (this.watches.has(partition)) return;
    // A leaf: no children watch; armed by a read of the record (data: true), which the pass then
    // uses: one round trip per partition where a children watch, an exists and a read took three.
    const off = this.zk.watch(
      this.recordPath(partition),
      () => {
        this.touched.add(partition);
        this.schedule();
      },
      { children: false, data: true },
    );
    this.watches.set(partition, off);
    await off.ready;
  }

  /** Claims partition p when its znode is free (or already names this session); null when a live owner holds it. */
  private async claim(
    p: number,
    node: { record: OwnerRecord | null; stat: ZkStat } | null,
    live: Set<string>,
    session: string | null,
  ): Promise<PartitionGrant | null> {
    const path = this.recordPath(p);
    const data = { owner: this.opts.id, session };
    if (!node) {
      try {
        await this.zk.create(path, data, 'persistent');
      } catch (err) {
        // Someone claimed it first; its watch brings another pass.
        if (err instanceof NodeExistsError) return null;
        if (!(err instanceof NoNodeError)) throw err;
        // The folder was deleted behind our back: made again, and every partition looked at again.
        await this.zk.ensurePath(this.ownersPath);
        this.schedule(true);
        return null;
      }
      const made = await this.readRecord(p);
      return made?.record?.session === session ? { partition: p, epoch: made.stat.version, incarnation: made.stat.ctime } : null;
    }
    const { record, stat } = node;
    if (record?.owner === this.opts.id && record.session === session) return { partition: p, epoch: stat.version, incarnation: stat.ctime };
    const free = !record || record.owner === null || record.session === null || !live.has(record.session);
    if (!free) return null;
    try {
      const after = await this.zk.set(path, data, stat.version);
      return { partition: p, epoch: after.version, incarnation: after.ctime };
    } catch (err) {
      if (err instanceof BadVersionError || err instanceof NoNodeError) return null;
      throw err;
    }
  }

  /**
   * Hands partitions over beside the passes, not inside one: a drain can take seconds (the fires
   * claimed ahead being written), and a pass that waited for it held the claims of a dead
   * member's partitions behind it (the 100,000-job bench: a survivor handing 3 partitions on
   * while taking the dead server's 171 claimed them 9 s after the session ended). A full pass
   * follows each hand-over, for what the assignment gives back meanwhile.
   */
  private startHandOver(partitions: number[]): void {
    for (const p of partitions) this.handingOver.add(p);
    let failed = false;
    const done: Promise<void> = this.handOver(partitions)
      .catch((err: unknown) => {
        failed = true;
        this.logger.warn('handing partitions over failed; the next full pass tries again', { partitions: partitions.length, err });
      })
      .finally(() => {
        for (const p of partitions) this.handingOver.delete(p);
        this.handOvers.delete(done);
        const again = () => this.started && this.zk.state === 'connected' && this.schedule(true);
        // After a failure, not at once: a release ZooKeeper keeps refusing is not tried in a loop.
        if (failed) setTimeout(again, 500);
        else again();
      });
    this.handOvers.add(done);
  }

  /**
   * Stops owning partitions that are someone else's now: those it fires are 'revoked' and
   * drained; then each claim it holds is released. A release that fails (the connection lost)
   * stays held, and the next full pass in the session releases it.
   */
  private async handOver(partitions: number[]): Promise<void> {
    const firing = partitions.filter((p) => this.owned.has(p));
    for (const p of firing) this.owned.delete(p);
    if (firing.length) this.emit('revoked', firing, this.leaving ? 'leaving' : 'reassigned');
    if (firing.length && this.opts.drain) {
      const drained = await settleWithin(
        this.opts.drain(firing).catch((err: unknown) => this.logger.warn('draining partitions failed; handing them over anyway', { err })),
        this.opts.drainTimeoutMs ?? 10_000,
      );
      if (drained === 'timeout')
        this.logger.warn('draining partitions took too long; handing them over anyway', { partitions: firing.length });
    }
    const released = await this.limited(partitions, async (p): Promise<number> => {
      const claim = this.held.get(p);
      if (!claim || claim.session !== this.zk.sessionId) return 0;
      // Versioned: a release never clears a claim made since by someone else.
      await this.zk.set(this.recordPath(p), { owner: null, session: null }, claim.epoch).catch((err: unknown) => {
        if (!(err instanceof BadVersionError) && !(err instanceof NoNodeError)) throw err;
      });
      if (this.held.get(p) === claim) this.held.delete(p);
      this.watches.get(p)?.();
      this.watches.delete(p);
      return 1;
    });
    if (firing.length < partitions.length)
      this.logger.info('claims not fired released', {
        partitions: partitions.length - firing.length,
        released: released.reduce((a, b) => a + b, 0),
      });
  }

  /** Runs `fn` over `items` with at most `concurrency` in flight; results in input order. */
  private async limited<T, R>(items: readonly T[], fn: (item: T) => Promise<R> | R): Promise<R[]> {
    const out = new Array<R>(items.length);
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency ?? 64, items.length) }, worker));
    return out;
  }
}
