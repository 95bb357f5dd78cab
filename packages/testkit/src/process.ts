import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildHandle {
  readonly pid: number;
  readonly name: string;
  /** Everything the child wrote to stdout and stderr so far. */
  output(): string;
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends the signal and resolves with the exit code once the child is gone. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
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
    for (const child of live) {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
  });
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
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    out += text;
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
    if (opts.echo || process.env.CLOVER_TEST_ECHO) process.stderr.write(`[${name}] ${text}`);
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      for (const w of waiters) w();
      resolve(code ?? (signal ? null : 0));
    });
    child.once('error', (err) => {
      out += `\nspawn error: ${err.message}\n`;
      live.delete(child);
      resolve(null);
    });
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });

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
            reject(new Error(`${name} exited before printing ${re}; output:\n${out.slice(-4000)}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${name} did not print ${re} within ${timeoutMs} ms; output:\n${out.slice(-4000)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async kill(signal = 'SIGTERM') {
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
      return exited;
    },
  };
}
