import { MinHeap } from './heap.js';

/** One waiting item in its lane's heap: ordered by `atMs`, then by arrival. */
interface Entry<T> {
  item: T;
  atMs: number;
  seq: number;
}

const before = <T>(a: Entry<T>, b: Entry<T>): boolean => a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);

/**
 * The leader's queue of runs waiting for an agent with a free slot, bounded in memory.
 *
 * Runs are kept in lanes, one per set of agents that can take them (a job's target and kind,
 * or the one agent a broadcast run belongs to): every run of a lane fits the same agents, so
 * when the oldest of a lane finds none with room, none of the lane does, and a freed slot is
 * offered to the oldest run of any lane in a few steps, not by a scan of every run waiting.
 * Within a lane, oldest slot first (then arrival). Removing a run (cancelled, its deadline
 * passed) only forgets it; its heap entry is dropped when it comes to the top.
 */
export class WaitingQueue<T> {
  private readonly lanes = new Map<string, MinHeap<Entry<T>>>();
  /** The lane of each run waiting now. */
  private readonly members = new Map<T, string>();
  private seq = 0;
  /** The most runs that waited at once since this queue was made. */
  peak = 0;

  /** @param max the most runs that may wait at once (DispatchServerOptions.maxWaitingRuns). */
  constructor(readonly max: number) {}

  get size(): number {
    return this.members.size;
  }

  get full(): boolean {
    return this.members.size >= this.max;
  }

  has(item: T): boolean {
    return this.members.has(item);
  }

  /** Whether runs wait in `lane` now. */
  busy(lane: string): boolean {
    const l = this.lanes.get(lane);
    return l !== undefined && this.top(lane, l) !== undefined;
  }

  /** Adds `item` to `lane`, ordered by `atMs` (its slot, epoch ms). False when the queue is full. */
  add(item: T, lane: string, atMs: number): boolean {
    if (this.members.has(item)) return true;
    if (this.full) return false;
    let l = this.lanes.get(lane);
    if (!l) this.lanes.set(lane, (l = new MinHeap<Entry<T>>(before)));
    l.push({ item, atMs, seq: this.seq++ });
    this.members.set(item, lane);
    if (this.members.size > this.peak) this.peak = this.members.size;
    return true;
  }

  delete(item: T): boolean {
    return this.members.delete(item);
  }

  /** The runs waiting now, in no order. */
  values(): IterableIterator<T> {
    return this.members.keys();
  }

  /** The slot of the oldest run waiting, epoch ms (undefined: none waits). */
  oldestAt(): number | undefined {
    let oldest: number | undefined;
    for (const [name, l] of this.lanes) {
      const e = this.top(name, l);
      if (e && (oldest === undefined || e.atMs < oldest)) oldest = e.atMs;
    }
    return oldest;
  }

  /**
   * Offers the waiting runs to `place`, oldest first across lanes. `place(item)` answers a
   * function that sends it (the item then leaves the queue, and the function is called), or
   * null when no agent has room for it: its lane is then passed over for the rest of this call.
   * Answers how many were placed.
   */
  drain(place: (item: T) => (() => void) | null): number {
    const blocked = new Set<string>();
    let placed = 0;
    for (;;) {
      let best: { name: string; lane: MinHeap<Entry<T>>; e: Entry<T> } | undefined;
      for (const [name, lane] of this.lanes) {
        if (blocked.has(name)) continue;
        const e = this.top(name, lane);
        if (e && (!best || before(e, best.e))) best = { name, lane, e };
      }
      if (!best) return placed;
      const send = place(best.e.item);
      if (!send) {
        blocked.add(best.name);
        continue;
      }
      best.lane.pop();
      this.members.delete(best.e.item);
      placed++;
      send();
    }
  }

  clear(): void {
    this.lanes.clear();
    this.members.clear();
  }

  /** The lane's oldest run still waiting; entries of runs removed meanwhile are dropped on the way. An empty lane is forgotten. */
  private top(name: string, lane: MinHeap<Entry<T>>): Entry<T> | undefined {
    for (let e = lane.peek(); e; e = lane.peek()) {
      if (this.members.get(e.item) === name) return e;
      lane.pop();
    }
    this.lanes.delete(name);
    return undefined;
  }
}
