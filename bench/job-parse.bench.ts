// What a dispatch-server spends turning stored job documents into jobs (`jobSchema.parse`, as the
// stores' row mapping does for every job a takeover loads): 100,000 documents as the
// dispatch-minute bench writes them (`<second> * * * * *`: 60 distinct rules), then 100,000 whose
// rules are all different, 3 rounds each, best and worst printed. The 100,000-job kill-and-join
// profile (bench/README) had 53 s of a server's CPU in this mapping, 21 s of it compiling the same
// 60 cron rules again for every job.
//
//   cd bench && node --conditions=source --import tsx job-parse.bench.ts     (JOBS=100000)
//
// Each set is mapped three ways: the full schema parse, `jobFromStored` (what the stores use), and
// `JSON.parse` alone (the floor). Prints figures; asserts nothing.
import { jobFromStored, jobSchema } from '@clover/model';

const count = Number(process.env.JOBS ?? 100_000);
const created = new Date('2026-12-01T00:00:00Z').toISOString();

/** A stored job's document with the rule `expr`: the JSON text of the parsed job, as a store writes it. */
const doc = (i: number, expr: string) =>
  JSON.stringify(
    jobSchema.parse({
      id: `job_${i.toString(36).padStart(8, '0')}`,
      name: `minute-${i}`,
      schedule: { type: 'cron', expr, timezone: 'UTC' },
      kind: { type: 'handler', name: 'noop' },
      target: { type: 'any' },
      createdAt: created,
      updatedAt: created,
    }),
  );

const sets: Array<[string, string[]]> = [
  ['60 distinct rules (the minute bench)', Array.from({ length: count }, (_, i) => doc(i, `${i % 60} * * * * *`))],
  [
    'every rule different',
    Array.from({ length: count }, (_, i) => doc(i, `${i % 60} ${Math.floor(i / 60) % 60} ${Math.floor(i / 3600) % 24} * * *`)),
  ],
];
/** Best and worst of 3 rounds of `map` over every document, in ms. */
function time(docs: string[], map: (text: string) => unknown): [number, number] {
  const times: number[] = [];
  for (let round = 0; round < 3; round++) {
    const began = performance.now();
    for (const d of docs) map(d);
    times.push(performance.now() - began);
  }
  return [Math.min(...times), Math.max(...times)];
}
const runState = { lastRunAt: null, nextRunAt: null, runCount: 0, failureCount: 0 };
const mappings: Array<[string, (text: string) => unknown]> = [
  ['jobSchema.parse', (d) => jobSchema.parse({ ...JSON.parse(d), ...runState })],
  ['jobFromStored (the stores since issue 17)', (d) => jobFromStored(Object.assign(JSON.parse(d) as Record<string, unknown>, runState))],
  ['JSON.parse alone', (d) => JSON.parse(d) as unknown],
];
for (const [what, docs] of sets) {
  for (const [how, map] of mappings) {
    const [best, worst] = time(docs, map);
    console.log(
      `${count.toLocaleString('en')} jobs, ${what}, ${how}: best ${best.toFixed(0)} ms (${((best * 1000) / count).toFixed(1)} µs a job), worst ${worst.toFixed(0)} ms`,
    );
  }
}
