// The cron engine's speed: next fire times per second for the four rules, in UTC and in
// America/New_York, through `nextCronTime` (the engine) and `nextFireTime` (what the
// dispatch-server's timer calls: rule cache, Date in and out), with croner's `nextRun` on the
// same rules in the same run as a yardstick. Each measurement chains from the previous answer
// for BENCH_MS (default 1000 ms) after a warm-up, 3 rounds, best and worst printed.
// Prints figures; asserts nothing.
import { Cron } from 'croner';
import { nextCronTime, nextFireTime, parseCron, type Schedule } from '@clover/model';

const rules = ['*/7 * * * * *', '0 30 2 * * *', '15 */5 9-17 * * 1-5', '0 0 0 1 * *'];
const zones = ['UTC', 'America/New_York'];
const budgetMs = Number(process.env.BENCH_MS ?? 1000);
const rounds = 3;
const start = Date.parse('2026-01-01T00:00:00Z');
// Chains restart here so a monthly rule does not run past the year 9999.
const wrapAt = Date.parse('2200-01-01T00:00:00Z');

/** Calls per second of `step`, chaining t = step(t) from `start`. */
function rate(step: (t: number) => number): number {
  let t = start;
  for (let i = 0; i < 2000; i++) t = step(t);
  let calls = 0;
  t = start;
  const began = performance.now();
  let now = began;
  while (now - began < budgetMs) {
    for (let i = 0; i < 500; i++) {
      t = step(t);
      if (t > wrapAt) t = start;
    }
    calls += 500;
    now = performance.now();
  }
  return (calls / (now - began)) * 1000;
}

function range(step: (t: number) => number): [number, number] {
  const figures = Array.from({ length: rounds }, () => rate(step));
  return [Math.min(...figures), Math.max(...figures)];
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const span = ([lo, hi]: [number, number]) => `${fmt(lo)}–${fmt(hi)}`;

console.log(`cron engine, next fire times per second (${rounds} rounds of ${budgetMs} ms; node ${process.version})`);
console.log('| rule | zone | nextCronTime | nextFireTime | croner nextRun | clover ÷ croner |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const expr of rules) {
  const rule = parseCron(expr);
  for (const tz of zones) {
    const engine = range((t) => nextCronTime(rule, tz, t) ?? start);
    const schedule: Schedule = { type: 'cron', expr, timezone: tz };
    const wrapped = range((t) => nextFireTime(schedule, new Date(t))?.getTime() ?? start);
    const job = new Cron(expr, { timezone: tz, paused: true });
    const oracle = range((t) => job.nextRun(new Date(t))?.getTime() ?? start);
    console.log(`| \`${expr}\` | ${tz} | ${span(engine)} | ${span(wrapped)} | ${span(oracle)} | ${Math.round(wrapped[0] / oracle[1])}–${Math.round(wrapped[1] / oracle[0])}× |`);
  }
}
