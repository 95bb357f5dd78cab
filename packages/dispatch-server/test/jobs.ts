import { jobSchema, type Job } from '@clover/model';

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
