import { helpFor, readSettings, SettingError, type SettingsOf, type Spec } from './settings.js';

export interface Closeable {
  close(): Promise<void>;
}

/**
 * The life of a clover bin: --help, settings validated before anything starts (exit 2 naming a
 * bad one), then run until SIGTERM or SIGINT, when it drains through close() and exits 0.
 */
export async function runBin<S extends Spec>(opts: {
  name: string;
  about: string;
  spec: S;
  argv?: string[];
  start(settings: SettingsOf<S>): Promise<Closeable>;
}): Promise<void> {
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
  let running: Closeable;
  try {
    running = await opts.start(settings);
  } catch (err) {
    console.error(`${opts.name}: could not start: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
    return;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  // A second signal while draining means: stop now.
  const force = () => process.exit(1);
  process.once('SIGTERM', force);
  process.once('SIGINT', force);
  await running.close();
  process.exit(0);
}
