import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import type { Job, JobInput, Wire } from '@clover/model/wire';
import type { ApiClient } from '../api-client.js';
import { formatTable } from '../table.js';

type JobRow = Wire<Job>;

export const jobsHelp = `clover jobs ls [--json] [--q TEXT] [--group G]
clover jobs add --name NAME (--cron EXPR [--tz ZONE] | --every MS | --at ISO)
                (--handler NAME | --shell COMMAND) [--payload JSON] [--group G]
                [--timeout MS] [--retries N] [--start-deadline MS] [--disabled]
                --start-deadline: how long after its fire time a run may wait for an
                agent with a free slot (0: no wait); default: the job's period,
                at least 10000 ms and at most 60000 ms
clover jobs add --file job.json          (a JobInput as the API takes it)
clover jobs rm ID
clover jobs trigger ID`;

function describeSchedule(s: JobRow['schedule']): string {
  switch (s.type) {
    case 'cron':
      return `cron ${s.expr} ${s.timezone}`;
    case 'once':
      return `once ${s.at}`;
    case 'interval':
      return `every ${s.everyMs} ms`;
  }
}

export async function jobsCommand(api: ApiClient, argv: string[], out: (line: string) => void): Promise<void> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'ls': {
      const { values } = parseArgs({
        args: rest,
        options: { json: { type: 'boolean' }, q: { type: 'string' }, group: { type: 'string' } },
      });
      const jobs = await api.listAll<JobRow>('/api/jobs', { q: values.q, group: values.group });
      if (values.json) {
        out(JSON.stringify(jobs, null, 2));
        return;
      }
      out(
        formatTable(
          ['ID', 'NAME', 'SCHEDULE', 'ENABLED', 'LAST RUN', 'LAST STATUS', 'NEXT RUN'],
          jobs.map((j) => [j.id, j.name, describeSchedule(j.schedule), j.enabled ? 'yes' : 'no', j.lastRunAt, j.lastStatus, j.nextRunAt]),
        ),
      );
      return;
    }
    case 'add': {
      const job = await jobInputFromArgs(rest);
      const created = await api.request<JobRow>('POST', '/api/jobs', job);
      out(created.id);
      return;
    }
    case 'rm': {
      const id = requireId(rest, 'rm');
      await api.request('DELETE', `/api/jobs/${encodeURIComponent(id)}`);
      out(`deleted ${id}`);
      return;
    }
    case 'trigger': {
      const id = requireId(rest, 'trigger');
      await api.request('POST', `/api/jobs/${encodeURIComponent(id)}/trigger`);
      out(`triggered ${id}`);
      return;
    }
    default:
      throw new UsageError(jobsHelp);
  }
}

/** Bad command-line use: the message is the usage to print. */
export class UsageError extends Error {}

function requireId(args: string[], verb: string): string {
  const id = args[0];
  if (!id) throw new UsageError(`clover jobs ${verb} ID: the job id is missing`);
  return id;
}

/** The job to send: the file as it is (the API validates it and names what is wrong), or one built from the flags. */
async function jobInputFromArgs(args: string[]): Promise<unknown> {
  const { values } = parseArgs({
    args,
    options: {
      file: { type: 'string' },
      name: { type: 'string' },
      cron: { type: 'string' },
      tz: { type: 'string' },
      every: { type: 'string' },
      at: { type: 'string' },
      handler: { type: 'string' },
      shell: { type: 'string' },
      payload: { type: 'string' },
      group: { type: 'string' },
      timeout: { type: 'string' },
      retries: { type: 'string' },
      'start-deadline': { type: 'string' },
      disabled: { type: 'boolean' },
    },
  });
  if (values.file) return JSON.parse(await readFile(values.file, 'utf8'));
  if (!values.name) throw new UsageError('clover jobs add: --name is required');
  const schedule: Wire<JobInput['schedule']> | undefined = values.cron
    ? { type: 'cron', expr: values.cron, timezone: values.tz ?? 'UTC' }
    : values.every
      ? { type: 'interval', everyMs: Number(values.every) }
      : values.at
        ? { type: 'once', at: values.at }
        : undefined;
  if (!schedule) throw new UsageError('clover jobs add: give one of --cron, --every or --at');
  const kind: Wire<JobInput['kind']> | undefined = values.handler
    ? { type: 'handler', name: values.handler }
    : values.shell
      ? { type: 'shell', command: '/bin/sh', args: ['-c', values.shell], env: {} }
      : undefined;
  if (!kind) throw new UsageError('clover jobs add: give one of --handler or --shell');
  let payload: unknown = {};
  if (values.payload) {
    try {
      payload = JSON.parse(values.payload);
    } catch {
      throw new UsageError('clover jobs add: --payload is not valid JSON');
    }
  }
  const input: Wire<JobInput> = {
    name: values.name,
    ...(values.group ? { group: values.group } : {}),
    schedule,
    kind,
    payload,
    enabled: !values.disabled,
    ...(values.timeout ? { timeoutMs: Number(values.timeout) } : {}),
    ...(values.retries ? { retries: { max: Number(values.retries) } } : {}),
    ...(values['start-deadline'] ? { startDeadlineMs: Number(values['start-deadline']) } : {}),
  };
  return input;
}
