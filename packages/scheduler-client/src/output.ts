import { MAX_OUTPUT_BYTES, truncateOutput } from '@clover/model';

/** Keeps the last bytes of an execution's output, where the errors usually are. */
export class OutputTail {
  private text = '';

  append(chunk: string): void {
    this.text += chunk;
    // Trim in batches: re-cutting on every small chunk would be quadratic.
    if (this.text.length > 4 * MAX_OUTPUT_BYTES) this.text = truncateOutput(this.text);
  }

  line(line: string): void {
    this.append(line.endsWith('\n') ? line : `${line}\n`);
  }

  toString(): string {
    return truncateOutput(this.text);
  }
}
