import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';

/** One line of an execution journal: JSON, newline-terminated. */
export type JournalEntry =
  | {
      event: 'start';
      at: number;
      agentId: string;
      execId: string;
      jobId: string;
      attempt: number;
      scheduledAt: number;
      /**
       * The dispatch-server the EXEC came from (its node id): the agent holds a channel to each
       * server, and this is the one it arrived on. Absent in journals of older agents.
       */
      leader?: string;
    }
  | { event: 'end'; at: number; agentId: string; execId: string; status: string };

/**
 * An append-only record, on this host, of every execution the agent starts and how it ends: one
 * JSON line per event ({@link JournalEntry}), `start` written before the execution begins. It is
 * evidence of what ran here that owes nothing to the leader or the store: an audit trail for an
 * operator, and what the chaos harness counts executions by (issue 16: an execution id started
 * twice is a double run, whatever the store says).
 *
 * Each line goes to the file with one synchronous `write(2)` on a descriptor opened `O_APPEND`:
 * a line is in the kernel's hands before its execution starts, so it survives the agent's
 * SIGKILL, and each write lands whole at the end of the file. A write that fails (disk full) is
 * reported to `onError` once and the journal stops: running jobs matters more than recording them.
 */
export class ExecJournal {
  private fd: number | null;

  /**
   * @param file the journal's path; its directory is created if missing.
   * @throws Error (from `open(2)`) when the file cannot be opened for appending.
   */
  constructor(
    readonly file: string,
    private readonly onError: (err: unknown) => void,
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.fd = openSync(file, 'a');
  }

  record(entry: JournalEntry): void {
    if (this.fd === null) return;
    try {
      writeSync(this.fd, `${JSON.stringify(entry)}\n`);
    } catch (err) {
      this.close();
      this.onError(err);
    }
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }
}
