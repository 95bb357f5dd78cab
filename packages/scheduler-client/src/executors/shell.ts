import { spawn } from 'node:child_process';
import type { Exec } from '@clover/protocol';
import type { OutputTail } from '../output.js';

export interface ExecOutcome {
  exitCode: number | null;
  error: string | null;
}

type ShellKind = Extract<Exec['kind'], { type: 'shell' }>;

/**
 * Runs a command in its own process group, so a deadline or cancel kills everything it started
 * (a shell that backgrounds `sleep` would otherwise leave it running).
 */
export function runShell(kind: ShellKind, signal: AbortSignal, out: OutputTail): Promise<ExecOutcome> {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(kind.command, kind.args, {
        cwd: kind.cwd,
        env: { ...process.env, ...kind.env },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      resolve({ exitCode: null, error: `could not start ${kind.command}: ${String(err)}` });
      return;
    }
    const kill = () => {
      if (child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    };
    if (signal.aborted) kill();
    signal.addEventListener('abort', kill, { once: true });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => out.append(d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => out.append(d));
    child.once('error', (err) => {
      signal.removeEventListener('abort', kill);
      resolve({ exitCode: null, error: `could not start ${kind.command}: ${err.message}` });
    });
    child.once('close', (code, sig) => {
      signal.removeEventListener('abort', kill);
      // The group may hold children that outlived the shell itself.
      kill();
      if (code === 0) resolve({ exitCode: 0, error: null });
      else resolve({ exitCode: code, error: sig ? `killed by ${sig}` : `exit code ${code}` });
    });
  });
}
