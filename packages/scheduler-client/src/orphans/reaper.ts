import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import type { Writable } from 'node:stream';
import type { Socket } from 'node:net';
import type { Logger } from '@clover/telemetry';

/**
 * The reaper's program, for POSIX `sh` (dash, bash, busybox): it reads `+ <pgid>` and `- <pgid>`
 * lines from its stdin, the agent's end of a pipe, and keeps the set of process groups that
 * are running. When the pipe reaches end of file, which the kernel makes happen whatever way
 * the agent died (exit, crash, SIGKILL, the OOM killer), it SIGKILLs every group still in the
 * set, then exits. Builtins only (read, case, parameter expansion, kill): no fork per line.
 * It ignores INT, TERM, HUP and QUIT so that a signal aimed at the agent's terminal or service
 * does not take it down before it has done its one job. `kill -9 -N` rather than `kill -- -N`:
 * dash's kill has no `--`. Anything but a group id above 1 is ignored: `kill -9 -1` would kill
 * every process of the user.
 */
const program = `trap '' INT TERM HUP QUIT
groups=' '
while read -r op pgid; do
  case $pgid in ''|*[!0-9]*|0|1) continue ;; esac
  case $op in
    +) groups="$groups$pgid " ;;
    -) case $groups in *" $pgid "*) groups="\${groups%% $pgid *} \${groups#* $pgid }" ;; esac ;;
  esac
done
for pgid in $groups; do kill -9 -$pgid 2>/dev/null; done
`;

/**
 * Makes the process groups of an agent's shell executions die with the agent, whatever its
 * death. Node cannot set PR_SET_PDEATHSIG on what it spawns, and a parent-death signal would
 * reach only the direct child anyway, not the processes a shell starts; so one small `sh`
 * process per agent (started at the first shell execution, in a session of its own, its stdin
 * a pipe from the agent) holds the list of running groups and kills them when that pipe
 * closes. Per execution this costs one short write to the pipe at its start and one at its end
 * (bench/agent-orphans.bench.ts measures this against a wrapper process per execution).
 *
 * Gap: a group is registered just after spawn() returns; an agent killed in between leaves it
 * unregistered. The data directory's records (GroupRecords) are the second net for that.
 */
export class GroupReaper {
  private child: ChildProcess | null = null;
  private readonly live = new Set<number>();
  private closed = false;

  /**
   * `shell`: the POSIX shell to run the reaper with (default `/bin/sh`); `clock`: epoch ms
   * (default Date.now), which tells a reaper that died at once (not restarted) from one that ran.
   */
  constructor(
    private readonly logger: Logger,
    private readonly opts: { shell?: string; clock?: () => number } = {},
  ) {}

  /** The reaper's pid, once started; for tests and logs. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** The group `pgid` (a shell execution's) is running: kill it if the agent dies. */
  watch(pgid: number): void {
    if (this.closed) return;
    this.live.add(pgid);
    const child = this.child ?? this.start();
    if (child) this.write(child, `+ ${pgid}`);
  }

  /** The group has ended (and been swept): no longer the reaper's to kill. */
  forget(pgid: number): void {
    if (!this.live.delete(pgid) || !this.child) return;
    this.write(this.child, `- ${pgid}`);
  }

  /**
   * Ends the reaper: it kills the groups still registered (none after a drain) and exits.
   * Safe twice.
   */
  close(): void {
    this.closed = true;
    this.child?.stdin?.end();
    this.child = null;
  }

  private start(): ChildProcess | null {
    let child: ChildProcessByStdio<Writable, null, null>;
    try {
      child = spawn(this.opts.shell ?? '/bin/sh', ['-c', program], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    } catch (err) {
      this.logger.warn('could not start the process-group reaper: shell executions will not die with this agent', { err });
      return null;
    }
    // The reaper must never keep the agent's event loop alive, nor be waited for.
    child.unref();
    // Its stdin is a pipe, a net.Socket where the platform gives one: unref'd as well.
    const stdin: Writable & Partial<Pick<Socket, 'unref'>> = child.stdin;
    stdin.unref?.();
    stdin.on('error', () => undefined);
    child.once('error', (err) => this.logger.warn('the process-group reaper failed to start', { err }));
    const clock = this.opts.clock ?? Date.now;
    const startedAt = clock();
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      if (this.closed) return;
      // One that dies at once (no shell there, say) is not started again in a loop.
      const again = clock() - startedAt > 1000;
      this.logger.warn(
        again
          ? 'the process-group reaper exited; starting another'
          : 'the process-group reaper died at start; shell executions will not die with this agent',
        { code, signal },
      );
      if (!again) {
        this.closed = true;
        return;
      }
      // Hand what still runs to a new reaper at once: those groups must not lose their guard.
      if (this.live.size) {
        const next = this.start();
        if (next) for (const pgid of this.live) this.write(next, `+ ${pgid}`);
      }
    });
    this.child = child;
    return child;
  }

  private write(child: ChildProcess, line: string): void {
    // Lines are far below PIPE_BUF (4 KiB): each write reaches the reaper whole.
    child.stdin?.write(`${line}\n`);
  }
}
