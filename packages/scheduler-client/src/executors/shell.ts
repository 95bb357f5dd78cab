import { spawn } from 'node:child_process';
import type { Exec } from '@clover/protocol';
import type { OutputTail } from '../output.js';
import { describeError, failed, succeeded, type ExecOutcome } from './outcome.js';

export type { ExecOutcome } from './outcome.js';

type ShellKind = Extract<Exec['kind'], { type: 'shell' }>;

/**
 * Told of each shell execution's process group: `started` right after it is spawned (its pgid
 * is the spawned process's pid), `ended` once it is over and swept. The agent uses it to make
 * the group die with the agent (GroupReaper) and to record it in its data directory
 * (GroupRecords). Neither may throw.
 */
export interface GroupWatch {
  started(pgid: number): void;
  ended(pgid: number): void;
}

/**
 * Runs a command in its own process group, so a deadline or cancel kills everything it started
 * (a shell that backgrounds `sleep` would otherwise leave it running). Every reason it gives is
 * bounded (failed()): a command line of any length cannot make the RESULT invalid.
 */
export function runShell(kind: ShellKind, signal: AbortSignal, out: OutputTail, watch?: GroupWatch): Promise<ExecOutcome> {
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
      resolve(failed(null, `could not start ${kind.command}: ${describeError(err)}`));
      return;
    }
    const pgid = child.pid;
    if (pgid) watch?.started(pgid);
    const kill = () => {
      if (pgid) {
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    };
    if (signal.aborted) kill();
    signal.addEventListener('abort', kill, { once: true });
    child.stdout.setEncoding('utf8').on('data', (d: string) => out.append(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => out.append(d));
    child.once('error', (err) => {
      signal.removeEventListener('abort', kill);
      if (pgid) watch?.ended(pgid);
      resolve(failed(null, `could not start ${kind.command}: ${err.message}`));
    });
    child.once('close', (code, sig) => {
      signal.removeEventListener('abort', kill);
      // The group may hold children that outlived the shell itself.
      kill();
      if (pgid) watch?.ended(pgid);
      if (code === 0) resolve(succeeded);
      else resolve(failed(code, sig ? `killed by ${sig}` : `exit code ${code}`));
    });
  });
}
