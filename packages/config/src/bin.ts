import { CleanupStack, defaultStepTimeoutMs, type FailedStep } from '@clover/lifecycle';
import { helpFor, readSettings, SettingError, type SettingsOf, type Spec } from './settings.js';

/** What {@link runBin} is given: the bin's name and settings, and how it opens its parts. */
export interface BinOptions<S extends Spec> {
  /** The command's name, used in every line it writes to stderr (`clover-monitor: …`). */
  name: string;
  /** One line for `--help`. */
  about: string;
  spec: S;
  /** Default: `process.argv.slice(2)`. */
  argv?: string[];
  /**
   * Opens the bin's parts in order and pushes each one's close onto `cleanup` as soon as it is
   * open (store, logger, ZooKeeper client, server…), so that both a shutdown and a start that
   * fails half way close exactly what was opened, newest first.
   */
  start(settings: SettingsOf<S>, cleanup: CleanupStack): Promise<void>;
  /**
   * Bound on each clean-up step in ms (default 30 000); a function of the settings when a part
   * drains for a configured time (the agent's `CLOVER_DRAIN_TIMEOUT_MS`).
   */
  stepTimeoutMs?: number | ((settings: SettingsOf<S>) => number);
}

/**
 * The life of a clover bin: --help, settings validated before anything starts (exit 2 naming a
 * bad one), `start` opening the parts onto a {@link CleanupStack}, then run until SIGTERM or
 * SIGINT. Then every clean-up step runs, newest first, each bounded, even when one before it
 * throws; the steps that failed are named on stderr and the exit code is 1, else 0. A start that
 * throws closes what it had opened the same way and exits 1 (2 when it threw a SettingError: a
 * rule across settings, checked there). A second signal while draining exits 1 at once.
 */
export async function runBin<S extends Spec>(opts: BinOptions<S>): Promise<void> {
  const argv = opts.argv ?? process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(`${opts.name}: ${opts.about}\n\n${helpFor(opts.spec)}`);
    return;
  }
  let settings: SettingsOf<S>;
  try {
    settings = readSettings(opts.spec);
  } catch (err) {
    if (err instanceof SettingError) {
      console.error(`${opts.name}: bad setting: ${err.message}\nRun ${opts.name} --help for the list.`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  const timeoutMs = typeof opts.stepTimeoutMs === 'function' ? opts.stepTimeoutMs(settings) : (opts.stepTimeoutMs ?? defaultStepTimeoutMs);
  const cleanup = new CleanupStack({ timeoutMs });
  // Listened for from the start: a SIGTERM that comes while the parts open still closes them.
  const stop = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  try {
    await opts.start(settings, cleanup);
  } catch (err) {
    // A rule across settings that start() checks (a dispatch-server's wire policy) is a bad setting too: exit 2.
    const bad = err instanceof SettingError;
    if (bad) console.error(`${opts.name}: bad setting: ${err.message}\nRun ${opts.name} --help for the list.`);
    else console.error(`${opts.name}: could not start: ${err instanceof Error ? err.message : String(err)}`);
    reportFailures(opts.name, await cleanup.close());
    process.exit(bad ? 2 : 1);
  }
  // The bin runs until it is told to stop, even when none of its parts holds the event loop.
  const alive = setInterval(() => undefined, 1 << 30);
  await stop;
  clearInterval(alive);
  // A second signal while draining means: stop now.
  const force = () => process.exit(1);
  process.once('SIGTERM', force);
  process.once('SIGINT', force);
  const failed = await cleanup.close();
  reportFailures(opts.name, failed);
  process.exit(failed.length ? 1 : 0);
}

function reportFailures(bin: string, failed: readonly FailedStep[]): void {
  for (const { name, error } of failed)
    console.error(`${bin}: clean-up step "${name}" failed: ${error instanceof Error ? error.message : String(error)}`);
}
