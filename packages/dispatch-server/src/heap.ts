/**
 * A binary min-heap: `before(a, b)` says a comes out first. The fire timer keeps its due times
 * in one, the waiting queue each lane's runs. Removal is the owner's business (both skip stale
 * entries when they reach the top rather than search them out).
 */
export class MinHeap<T> {
  private items: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get length(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  /** Sifts `e` up from the end: a parent that comes after it swaps down. */
  push(e: T): void {
    const h = this.items;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p];
      if (parent === undefined || !this.before(e, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = e;
  }

  /** Takes the first entry out: the last one takes its place and sifts down past children that come before it. */
  pop(): T | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (last === undefined || !h.length) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let first = last;
      const left = h[l];
      if (left !== undefined && this.before(left, first)) [m, first] = [l, left];
      const right = h[r];
      if (right !== undefined && this.before(right, first)) [m, first] = [r, right];
      if (m === i) break;
      h[i] = first;
      i = m;
    }
    h[i] = last;
    return top;
  }

  clear(): void {
    this.items = [];
  }
}
