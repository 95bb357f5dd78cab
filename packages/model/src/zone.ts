/**
 * A timezone's UTC offsets as a cached list of transitions, so that the cron engine turns wall
 * times into instants with arithmetic instead of asking `Intl` for every candidate (an `Intl`
 * call costs microseconds; a lookup here costs nanoseconds).
 *
 * The offsets come from the runtime's own tz database through `Intl.DateTimeFormat`, read once
 * per zone per 200-day chunk of time: sampled every 12 hours, and each change found to the
 * second by bisection. Two changes less than 12 hours apart that cancel out would be missed; no
 * zone in the tz database has had one.
 */

/** Length of a cached span of a zone's offsets: 200 days, aligned on UTC midnights. */
const CHUNK_MS = 200 * 86400_000;
const SAMPLE_MS = 12 * 3600_000;

interface Chunk {
  start: number;
  end: number;
  /** Instants (UTC ms) inside (start, end) where the offset changes. */
  at: number[];
  /** Offset (ms) from `start`, then after each entry of `at`. */
  offsets: number[];
}

/** The offset of a chunk after its `i`-th change (0: from its start); there is one for 0 ≤ i ≤ at.length. */
function offsetAfter(chunk: Chunk, i: number): number {
  const offset = chunk.offsets[i];
  if (offset === undefined) throw new Error(`zone offsets: chunk at ${chunk.start} has no offset ${i} (${chunk.at.length} changes)`);
  return offset;
}

/** The instant of a chunk's `i`-th change, 0 ≤ i < at.length. */
function changeAt(chunk: Chunk, i: number): number {
  const at = chunk.at[i];
  if (at === undefined) throw new Error(`zone offsets: chunk at ${chunk.start} has no change ${i} (${chunk.at.length} changes)`);
  return at;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** True when `tz` is an IANA zone name the runtime knows (`Intl` throws RangeError otherwise). */
export function isValidTimezone(tz: string): boolean {
  try {
    formatterFor(tz);
    return true;
  } catch {
    return false;
  }
}

/** The zone's offset (ms, whole seconds) at an instant, asked of `Intl`: the slow path. */
function intlOffset(tz: string, epochMs: number): number {
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let bc = false;
  for (const p of formatterFor(tz).formatToParts(epochMs)) {
    switch (p.type) {
      case 'year':
        year = Number(p.value);
        break;
      case 'month':
        month = Number(p.value);
        break;
      case 'day':
        day = Number(p.value);
        break;
      case 'hour':
        hour = Number(p.value);
        break;
      case 'minute':
        minute = Number(p.value);
        break;
      case 'second':
        second = Number(p.value);
        break;
      case 'era':
        bc = p.value.startsWith('B');
        break;
    }
  }
  if (bc) year = 1 - year;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime() - Math.floor(epochMs / 1000) * 1000;
}

/**
 * One zone's offsets. `locate(t)` fills the segment fields for the span of constant offset
 * holding instant `t`, from one change to the next even across chunk edges (so a fold or gap
 * next to an edge shows whole); a span longer than a chunk shows up cut at an edge, with the
 * same offset on both sides, which callers treat as no change at all.
 */
export class ZoneOffsets {
  readonly name: string;
  private readonly chunks = new Map<number, Chunk>();
  private readonly fixed: boolean;
  /** The located segment: [segStart, segEnd) in UTC ms, with offset `offset` (ms, local = utc + offset). */
  segStart = 1;
  segEnd = 0;
  offset = 0;
  /** The offset just before `segStart` and at `segEnd`. */
  prevOffset = 0;
  nextOffset = 0;

  constructor(name: string) {
    this.name = name;
    this.fixed = name === 'UTC' || name === 'Etc/UTC' || name === 'Etc/GMT' || name === 'GMT';
    formatterFor(name);
  }

  /** Sets the segment fields for the span holding `t`. Cheap when `t` is in the last one located. */
  locate(t: number): void {
    if (t >= this.segStart && t < this.segEnd) return;
    if (this.fixed) {
      this.segStart = -8.64e15;
      this.segEnd = 8.64e15;
      return;
    }
    const chunk = this.chunkAt(t);
    let i = 0;
    for (const change of chunk.at) {
      if (change > t) break;
      i++;
    }
    this.offset = offsetAfter(chunk, i);
    // A span runs from a real change to the next, across chunk edges, so that a fold or gap
    // next to an edge still shows as one.
    if (i > 0) {
      this.segStart = changeAt(chunk, i - 1);
      this.prevOffset = offsetAfter(chunk, i - 1);
    } else {
      const before = this.chunkAt(chunk.start - 1);
      const n = before.at.length;
      const last = offsetAfter(before, n);
      if (last !== this.offset || n === 0) {
        // A change right at the edge, or no change in the chunk before either.
        this.segStart = chunk.start;
        this.prevOffset = last;
      } else {
        this.segStart = changeAt(before, n - 1);
        this.prevOffset = offsetAfter(before, n - 1);
      }
    }
    if (i < chunk.at.length) {
      this.segEnd = changeAt(chunk, i);
      this.nextOffset = offsetAfter(chunk, i + 1);
    } else {
      const after = this.chunkAt(chunk.end);
      const first = offsetAfter(after, 0);
      if (first !== this.offset || after.at.length === 0) {
        this.segEnd = chunk.end;
        this.nextOffset = first;
      } else {
        this.segEnd = changeAt(after, 0);
        this.nextOffset = offsetAfter(after, 1);
      }
    }
  }

  /** The zone's offset (ms) at instant `t`. */
  offsetAt(t: number): number {
    this.locate(t);
    return this.offset;
  }

  private chunkAt(t: number): Chunk {
    const index = Math.floor(t / CHUNK_MS);
    let chunk = this.chunks.get(index);
    if (!chunk) {
      chunk = this.build(index * CHUNK_MS, (index + 1) * CHUNK_MS);
      this.chunks.set(index, chunk);
    }
    return chunk;
  }

  private build(start: number, end: number): Chunk {
    const at: number[] = [];
    let loOffset = intlOffset(this.name, start);
    const offsets = [loOffset];
    let lo = start;
    while (lo < end) {
      const hi = Math.min(lo + SAMPLE_MS, end);
      const hiOffset = intlOffset(this.name, hi);
      if (hiOffset !== loOffset) {
        // Bisect to the first whole second with the new offset.
        let a = lo;
        let b = hi;
        while (b - a > 1000) {
          const mid = Math.floor((a + b) / 2000) * 1000;
          if (mid <= a) break;
          if (intlOffset(this.name, mid) === loOffset) a = mid;
          else b = mid;
        }
        if (b < end) {
          at.push(b);
          offsets.push(intlOffset(this.name, b));
        }
      }
      lo = hi;
      loOffset = hiOffset;
    }
    return { start, end, at, offsets };
  }
}

const zones = new Map<string, ZoneOffsets>();
let lastZone: ZoneOffsets | undefined;

/** The cached offsets of IANA zone `tz`; throws RangeError for a zone the runtime does not know. */
export function zoneOffsets(tz: string): ZoneOffsets {
  if (lastZone !== undefined && lastZone.name === tz) return lastZone;
  let zone = zones.get(tz);
  if (!zone) {
    zone = new ZoneOffsets(tz);
    zones.set(tz, zone);
  }
  lastZone = zone;
  return zone;
}
