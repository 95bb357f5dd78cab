/**
 * How precisely the dispatch-server's scheduler fires: N every-second cron jobs in the leader's
 * JobScheduler (the FireTimer heap plus the per-job re-arm through the cron engine, window
 * checks and the next-run callback), measuring how late each fire lands after its second.
 * In-process, nothing else on the event loop: this is the floor the rest of the path adds to.
 *
 *   cd bench && node --conditions=source --import tsx dispatch-precision.bench.ts
 *   JOBS=1000,10000 BENCH_SECONDS=20 (the defaults)
 *
 * Prints figures; asserts nothing.
 */
import { jobSchema, type Job } from '@clover/model';
import { JobScheduler } from '@clover/dispatch-server';

const sizes = (process.env.JOBS ?? '1000,10000').split(',').map(Number);
const seconds = Number(process.env.BENCH_SECONDS ?? 20);

interface Figures {
  jobs: number;
  expected: number;
  fires: number;
  p50: number;
  p99: number;
  max: number;
  cpuMs: number;
  lastOfSecondP50: number;
}

const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

async function run(n: number): Promise<Figures> {
  const from = Math.ceil(Date.now() / 1000) * 1000 + 2000;
  const to = from + seconds * 1000;
  const created = new Date(from - 10_000);
  const jobs: Job[] = Array.from({ length: n }, (_, i) =>
    jobSchema.parse({
      id: `job-${i}`,
      name: `every-second-${i}`,
      schedule: { type: 'cron', expr: '* * * * * *' },
      kind: { type: 'handler', name: 'noop' },
      window: { startAt: new Date(from), endAt: new Date(to - 1000) },
      createdAt: created,
      updatedAt: created,
    }),
  );
  const lateness: number[] = [];
  // Per second, how late its last fire was: the spread within one second's batch.
  const lastOfSecond = new Map<number, number>();
  const scheduler = new JobScheduler(
    (_job, slot) => {
      const late = Date.now() - slot;
      lateness.push(late);
      lastOfSecond.set(slot, Math.max(lastOfSecond.get(slot) ?? 0, late));
    },
    () => undefined,
    Date.now,
  );
  scheduler.load(jobs);
  const cpu0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, to - Date.now() + 500));
  const cpu = process.cpuUsage(cpu0);
  scheduler.stop();
  lateness.sort((a, b) => a - b);
  const lasts = [...lastOfSecond.values()].sort((a, b) => a - b);
  return {
    jobs: n,
    expected: n * seconds,
    fires: lateness.length,
    p50: at(lateness, 0.5),
    p99: at(lateness, 0.99),
    max: lateness.at(-1) ?? NaN,
    cpuMs: (cpu.user + cpu.system) / 1000,
    lastOfSecondP50: at(lasts, 0.5),
  };
}

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
console.log(`dispatch-precision: JobScheduler, every-second cron jobs, ${seconds} s window, Node ${process.version}`);
for (const n of sizes) {
  const f = await run(n);
  console.log(
    `${fmt(f.jobs)} jobs: ${fmt(f.fires)} of ${fmt(f.expected)} fires; late p50 ${f.p50} ms, p99 ${f.p99} ms, max ${f.max} ms; ` +
      `last fire of each second p50 ${f.lastOfSecondP50} ms; CPU ${fmt(f.cpuMs)} ms (${((f.cpuMs / (seconds * 1000)) * 100).toFixed(1)}% of a core)`,
  );
}
