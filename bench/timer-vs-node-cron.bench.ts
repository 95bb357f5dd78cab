// Why the dispatch-server fires from its own timer heap instead of node-cron (the design card's
// default): the same N every-second cron jobs scheduled both ways in this process, measuring
// how late each fire lands after its second, how many fires are missing, and the CPU spent.
// Prints figures; asserts nothing. JOBS=1000,5000 BENCH_SECONDS=10 by default.
import cron from 'node-cron';
import { nextFireTime, type Schedule } from '@clover/model';
import { FireTimer } from '@clover/dispatch-server';

const sizes = (process.env.JOBS ?? '1000,5000').split(',').map(Number);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const schedule: Schedule = { type: 'cron', expr: '* * * * * *', timezone: 'UTC' };

interface Figures {
  fires: number;
  expected: number;
  p50: number;
  p99: number;
  max: number;
  cpuMs: number;
}

function summarize(lateness: number[], expected: number, cpu: NodeJS.CpuUsage): Figures {
  const sorted = lateness.sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { fires: sorted.length, expected, p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? NaN, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** Starts at the next whole second + 1 so both ways measure the same whole-second window. */
function alignedWindow(): { from: number; to: number } {
  const from = Math.ceil(Date.now() / 1000) * 1000 + 1000;
  return { from, to: from + seconds * 1000 };
}

async function withNodeCron(n: number): Promise<Figures> {
  const { from, to } = alignedWindow();
  const lateness: number[] = [];
  const tasks = Array.from({ length: n }, () =>
    cron.schedule(
      '* * * * * *',
      () => {
        const now = Date.now();
        const slot = Math.floor(now / 1000) * 1000;
        if (slot >= from && slot < to) lateness.push(now - slot);
      },
      { timezone: 'UTC' },
    ),
  );
  await new Promise((r) => setTimeout(r, from - Date.now()));
  const cpu0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, to - Date.now() + 500));
  const cpu = process.cpuUsage(cpu0);
  for (const t of tasks) await t.destroy();
  return summarize(lateness, n * seconds, cpu);
}

async function withFireTimer(n: number): Promise<Figures> {
  const { from, to } = alignedWindow();
  const lateness: number[] = [];
  const timer = new FireTimer((key, at) => {
    if (at >= from && at < to) lateness.push(Date.now() - at);
    const next = nextFireTime(schedule, new Date(at));
    if (next && next.getTime() < to + 1000) timer.arm(key, next.getTime());
  });
  for (let i = 0; i < n; i++) timer.arm(`job-${i}`, from);
  const cpu0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, to - Date.now() + 500));
  const cpu = process.cpuUsage(cpu0);
  timer.stop();
  return summarize(lateness, n * seconds, cpu);
}

const rows: Array<[string, number, Figures]> = [];
for (const n of sizes) {
  rows.push(['node-cron 4', n, await withNodeCron(n)]);
  rows.push(['FireTimer heap', n, await withFireTimer(n)]);
}
console.log(`every-second cron jobs for ${seconds} s, one process, ${new Date().toISOString().slice(0, 10)}`);
console.log('scheduler        jobs    fires/expected   late p50   late p99   late max   CPU ms');
for (const [name, n, f] of rows) {
  console.log(
    `${name.padEnd(15)} ${String(n).padStart(5)}   ${`${f.fires}/${f.expected}`.padStart(14)}   ${f.p50.toFixed(0).padStart(5)} ms   ${f.p99.toFixed(0).padStart(5)} ms   ${f.max.toFixed(0).padStart(5)} ms   ${f.cpuMs.toFixed(0).padStart(6)}`,
  );
}
process.exit(0);
