import { jobSchema, type Job } from '@clover/model';
import type { Hello } from '@clover/protocol';

/** A job as the store holds it, for the tests that need no store: every second, handler `h`, fields in `over` replaced. */
export const testJob = (over: Record<string, unknown> = {}): Job =>
  jobSchema.parse({
    id: 'j1',
    name: 'j',
    schedule: { type: 'cron', expr: '* * * * * *' },
    kind: { type: 'handler', name: 'h' },
    createdAt: new Date(0),
    updatedAt: new Date(0),
    ...over,
  });

/** An agent's HELLO as the tests' fake agents say it: handler `h`, capacity 4; `over` changes any field. */
export const helloOf = (agentId: string, over: Partial<Hello> = {}): Hello => ({
  agentId,
  version: '1',
  handlers: ['h'],
  capacity: 4,
  running: [],
  groups: [],
  tags: [],
  shell: true,
  http: true,
  ...over,
});
