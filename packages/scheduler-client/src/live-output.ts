import { truncateOutput } from '@clover/model';
import { LIMITS, type Output } from '@clover/protocol';

/** AgentOptions.outputIntervalMs's default: the least time between two OUTPUT frames of one execution. */
export const DEFAULT_OUTPUT_INTERVAL_MS = 250;

/**
 * What one running execution prints, sent to the leader as OUTPUT frames while it runs
 * (docs/protocol.md, OUTPUT): what came since the frame before, at most one frame every
 * `intervalMs` (so a job printing a line a millisecond costs 4 frames a second, not 1,000), each
 * chunk within LIMITS.outputChunkBytes. When more came in one interval than a chunk holds, the
 * chunk is its end, after a marker line saying how many characters were skipped: the live view
 * is a tail, like the RESULT's `outputTail`. `stop()` ends it before the RESULT goes out; the
 * RESULT's `outputTail` is the final word, so nothing pending is flushed then.
 */
export class OutputPump {
  private pending = '';
  /** Characters dropped from `pending` since the last frame, to say so in the next one. */
  private skipped = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  /**
   * `send` gets each frame's body and must not throw; `intervalMs` is the least time between two
   * frames, in ms (default 250).
   */
  constructor(
    private readonly execId: string,
    private readonly send: (body: Output) => void,
    private readonly intervalMs = DEFAULT_OUTPUT_INTERVAL_MS,
  ) {}

  /** Output the execution just printed. */
  push(chunk: string): void {
    if (this.stopped || chunk === '') return;
    this.pending += chunk;
    // Bound what waits between two frames: only the end of it can go out anyway.
    if (this.pending.length > 4 * LIMITS.outputChunkBytes) {
      const kept = truncateOutput(this.pending, LIMITS.outputChunkBytes);
      this.skipped += this.pending.length - kept.length;
      this.pending = kept;
    }
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  /** Stops sending: the execution is over and its RESULT says how its output ended. Safe twice. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = '';
  }

  private flush(): void {
    this.timer = null;
    if (this.stopped || this.pending === '' || this.seq >= LIMITS.outputSeqMax) return;
    let chunk = this.pending;
    let skipped = this.skipped;
    if (Buffer.byteLength(chunk, 'utf8') > LIMITS.outputChunkBytes || skipped > 0) {
      // The marker's own length changes the cut; 40 bytes is more than it can grow to.
      const end = truncateOutput(chunk, LIMITS.outputChunkBytes - 40);
      skipped += chunk.length - end.length;
      chunk = `…[${skipped} chars skipped]\n${end}`;
    }
    this.pending = '';
    this.skipped = 0;
    this.send({ execId: this.execId, seq: ++this.seq, chunk });
  }
}
