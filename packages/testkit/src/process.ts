import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { within } from './bounded.js';

export interface ChildHandle {
  readonly pid: number;
  readonly name: string;
  /** Everything the child wrote to stdout and stderr so far. */
  output(): string;
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<string>;
  /**
   * Sends the signal and resolves with the exit code once the child is gone. A child still there
   * after `timeoutMs` (default 30 s) gets SIGKILL (its whole process group) and the call rejects
   * saying so: a child that ignores SIGTERM fails the test instead of holding it. Whatever the
   * child left running in its process group is killed once it has exited.
   */
  kill(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  /**
   * Resolves with the exit code once the child exits by itself; rejects after `timeoutMs` (default
   * 30 s), killing its process group so it does not outlive the test.
   */
  waitForExit(timeoutMs?: number): Promise<number | null>;
  /** Settles when the child exits, with no deadline: await waitForExit() or kill() instead. */
  readonly exited: Promise<number | null>;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  name?: string;
  /** Echo the child's output to this process's stderr (debugging). */
  echo?: boolean;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A failed assertion must not leave ZooKeeper or agents running behind the test run.
  process.on('exit', () => {
    for (const child of live) killGroup(child);
  });
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export function spawnProcess(cmd: string, args: string[], opts: SpawnOptions = {}): ChildHandle {
  installExitHook();
  const name = opts.name ?? cmd;
  // detached: its own process group, so kill reaches the grandchildren too.
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  live.add(child);
  // Neither the child nor its pipes keep this process alive: a test that fails before it ends
  // the child must still let the test file exit (the exit hook above then kills the child).
  // Every wait on the child carries a timer of its own, which keeps the process up meanwhile.
  child.unref();
  // The pipes are net.Sockets where the platform gives them.
  const pipes: Array<Readable & Partial<Pick<Socket, 'unref'>>> = [child.stdout, child.stderr];
  for (const pipe of pipes) pipe.unref?.();
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    out += text;
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
    if (opts.echo || process.env.CLOVER_TEST_ECHO) process.stderr.write(`[${name}] ${text}`);
    for (const w of waiters) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let done = false;
  const exited = new Promise<number | null>((resolve) => {
    const finish = (code: number | null) => {
      if (done) return;
      // Set before the waiters run: a waitForOutput still waiting fails now, not at its deadline.
      done = true;
      live.delete(child);
      for (const w of waiters) w();
      resolve(code);
    };
    child.once('exit', (code, signal) => {
      const result = code ?? (signal ? null : 0);
      // The pipes may still hold its last output: wait for them to end ('close'), but not for
      // a grandchild that keeps them open.
      const late = setTimeout(() => finish(result), 1000);
      child.once('close', () => {
        clearTimeout(late);
        finish(result);
      });
    });
    child.once('error', (err) => {
      out += `\nspawn error: ${err.message}\n`;
      finish(null);
    });
  });
  const tail = () => out.slice(-4000);
  /** The exit code, or 'late' once `timeoutMs` passed first. */
  const exitWithin = (timeoutMs: number): Promise<number | null | 'late'> =>
    within(exited, timeoutMs, `${name} to exit`).catch((): 'late' => 'late');
  /** SIGKILLs the group and waits (bounded) for the exit; the error says what was waited for. */
  const giveUp = async (why: string): Promise<never> => {
    killGroup(child);
    const after = await exitWithin(5_000);
    const still = after === 'late' ? ' and it was still there 5 s after SIGKILL' : '; killed its process group';
    throw new Error(`${name} ${why}${still}; output:\n${tail()}`);
  };

  return {
    pid: child.pid ?? -1,
    name,
    exited,
    output: () => out,
    waitForOutput(re, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(out);
          if (m) {
            cleanup();
            resolve(m[0]);
          } else if (done) {
            cleanup();
            reject(new Error(`${name} exited before printing ${re}; output:\n${tail()}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${name} did not print ${re} within ${timeoutMs} ms; output:\n${tail()}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async kill(signal = 'SIGTERM', timeoutMs = 30_000) {
      if (!done && child.pid) {
        try {
          // SIGKILL takes the whole group (a dead machine); other signals go to the process
          // itself so it can drain and stop its own children.
          if (signal === 'SIGKILL') process.kill(-child.pid, signal);
          else child.kill(signal);
        } catch {
          /* already gone */
        }
      }
      const code = await exitWithin(timeoutMs);
      if (code === 'late') return giveUp(`did not exit within ${timeoutMs} ms of ${signal}`);
      // Whatever the child left running in its group goes too.
      killGroup(child);
      return code;
    },
    async waitForExit(timeoutMs = 30_000) {
      const code = await exitWithin(timeoutMs);
      if (code === 'late') return giveUp(`did not exit within ${timeoutMs} ms`);
      return code;
    },
  };
}
