import { ApiError, resolveApiClient } from './api-client.js';
import { jobsCommand, jobsHelp, UsageError } from './commands/jobs.js';
import { nodesCommand } from './commands/nodes.js';
import { runsCommand } from './commands/runs.js';
import { keysCommand, keysHelp } from './commands/keys.js';
import { readStandaloneSettings, SettingError, standaloneSettingsHelp } from './settings.js';
import { startStandalone } from './standalone.js';

const help = `clover — a distributed cron job scheduler

Usage:
  clover standalone            every role in one process on embedded defaults
  ${jobsHelp.split('\n').join('\n  ')}
  clover nodes ls [--json]
  clover runs ls [--job ID] [--status S] [--node N] [--limit N] [--json]
  ${keysHelp}

The scripting commands talk to the console API: CLOVER_URL (default http://127.0.0.1:8080)
with CLOVER_TOKEN, or the token 'clover standalone' leaves in CLOVER_DATA_DIR.

${standaloneSettingsHelp}`;

/** Returns the process exit code: 0 done, 1 failed, 2 bad usage or setting. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const out = (line: string) => console.log(line);
  try {
    switch (command) {
      case 'standalone':
        return await runStandalone();
      case 'jobs':
        await jobsCommand(await resolveApiClient(), rest, out);
        return 0;
      case 'nodes':
        await nodesCommand(await resolveApiClient(), rest, out);
        return 0;
      case 'keys':
        keysCommand(rest, out);
        return 0;
      case 'runs':
        await runsCommand(await resolveApiClient(), rest, out);
        return 0;
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        out(help);
        return command === undefined ? 2 : 0;
      default:
        console.error(`unknown command "${command}"\n\n${help}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof SettingError) {
      console.error(err.message);
      return 2;
    }
    if (err instanceof ApiError) {
      const fields = Object.entries(err.fields)
        .map(([f, m]) => `\n  ${f}: ${m}`)
        .join('');
      console.error(`${err.message}${fields}`);
      return 1;
    }
    console.error(err instanceof Error ? err.message : String(err));
    return 1;
  }
}

async function runStandalone(): Promise<number> {
  const settings = readStandaloneSettings();
  const running = await startStandalone(settings);
  console.log(`clover is running: console at ${running.consoleUrl}`);
  if (running.adminPassword) console.log(`first start: user "admin", password "${running.adminPassword}" (shown once)`);
  console.log(`data in ${settings.dataDir}; Ctrl-C stops`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  console.log('clover: stopping');
  await running.close();
  return 0;
}
