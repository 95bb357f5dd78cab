import { truncateOutput } from '@clover/model';
import { LIMITS } from '@clover/protocol';

/**
 * Keeps the last bytes of an execution's output, where the errors usually are: at most the
 * RESULT's `outputTail` bound (LIMITS.outputTailBytes of UTF-8), never a split character.
 */
export class OutputTail {
  private text = '';

  /** `onAppend`, when given, sees every chunk as it comes (the live output's OutputPump); it must not throw. */
  constructor(private readonly onAppend?: (chunk: string) => void) {}

  append(chunk: string): void {
    this.onAppend?.(chunk);
    this.text += chunk;
    // Trim in batches: re-cutting on every small chunk would be quadratic.
    if (this.text.length > 4 * LIMITS.outputTailBytes) this.text = truncateOutput(this.text, LIMITS.outputTailBytes);
  }

  line(line: string): void {
    this.append(line.endsWith('\n') ? line : `${line}\n`);
  }

  toString(): string {
    return truncateOutput(this.text, LIMITS.outputTailBytes);
  }
}
