// What a dispatch-server spends turning stored job documents into jobs (`jobSchema.parse`, as the
// stores' row mapping does for every job a takeover loads): 100,000 documents as the
// dispatch-minute bench writes them (`<second> * * * * *`: 60 distinct rules), then 100,000 whose
// rules are all different, 3 rounds each, best and worst printed. The 100,000-job kill-and-join
// profile (bench/README) had 53 s of a server's CPU in this mapping, 21 s of it compiling the same
// 60 cron rules again for every job.
//
//   cd bench && node --conditions=source --import tsx job-parse.bench.ts     (JOBS=100000)
//
// Prints figures; asserts nothing.
import { jobSchema } from '@clover/model';

const count = Number(process.env.JOBS ?? 100_000);
const created = new Date('2026-12-01T00:00:00Z').toISOString();

/** A stored job's document (as JSON text, as the SQLite row holds it) with the rule `expr`. */
const doc = (i: number, expr: string) =>
  JSON.stringify({
    id: `job_${i.toString(36).padStart(8, '0')}`,
    name: `minute-${i}`,
    schedule: { type: 'cron', expr, timezone: 'UTC' },
    kind: { type: 'handler', name: 'noop' },
    target: { type: 'any' },
    createdAt: created,
    updatedAt: created,
  });

const sets: Array<[string, string[]]> = [
  ['60 distinct rules (the minute bench)', Array.from({ length: count }, (_, i) => doc(i, `${i % 60} * * * * *`))],
  [
    'every rule different',
    Array.from({ length: count }, (_, i) => doc(i, `${i % 60} ${Math.floor(i / 60) % 60} ${Math.floor(i / 3600) % 24} * * *`)),
  ],
];
for (const [what, docs] of sets) {
  const times: number[] = [];
  for (let round = 0; round < 3; round++) {
    const began = performance.now();
    for (const d of docs) jobSchema.parse({ ...JSON.parse(d), lastRunAt: null, nextRunAt: null, runCount: 0, failureCount: 0 });
    times.push(performance.now() - began);
  }
  const best = Math.min(...times);
  const worst = Math.max(...times);
  console.log(
    `${count.toLocaleString('en')} jobs, ${what}: best ${best.toFixed(0)} ms (${((best * 1000) / count).toFixed(1)} µs a job), worst ${worst.toFixed(0)} ms`,
  );
}
