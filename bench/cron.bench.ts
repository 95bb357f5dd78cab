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
// Chains restart here: ten years, whose zone offsets the warm-up has cached.
const wrapAt = Date.parse('2036-01-01T00:00:00Z');

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

// The cold cost: a zone's first use reads its offsets from Intl (one 200-day chunk and its neighbours).
const coldRule = parseCron('0 30 2 * * *');
const coldBegan = performance.now();
nextCronTime(coldRule, 'Europe/Paris', start);
const coldMs = performance.now() - coldBegan;
const yearBegan = performance.now();
for (let t = start; t < start + 365 * 86400_000;) t = nextCronTime(coldRule, 'Europe/Lisbon', t)!;
const yearMs = performance.now() - yearBegan;
console.log(
  `first next fire time in a zone not used before: ${coldMs.toFixed(1)} ms; a year of daily fires in another: ${yearMs.toFixed(1)} ms`,
);
console.log(`cron engine, next fire times per second (${rounds} rounds of ${budgetMs} ms; node ${process.version})`);
console.log('| rule | zone | nextCronTime | nextFireTime | croner nextRun | clover ÷ croner |');
console.log('| --- | --- | --- | --- | --- | --- |');
// Cache the ten years' offsets first: a leader computes near-future times, whose chunks stay cached.
const daily = parseCron('0 0 12 * * *');
for (const tz of zones) for (let t = start; t < wrapAt;) t = nextCronTime(daily, tz, t)!;
for (const expr of rules) {
  const rule = parseCron(expr);
  for (const tz of zones) {
    const engine = range((t) => nextCronTime(rule, tz, t) ?? start);
    const schedule: Schedule = { type: 'cron', expr, timezone: tz };
    const wrapped = range((t) => nextFireTime(schedule, new Date(t))?.getTime() ?? start);
    const job = new Cron(expr, { timezone: tz, paused: true });
    const oracle = range((t) => job.nextRun(new Date(t))?.getTime() ?? start);
    console.log(
      `| \`${expr}\` | ${tz} | ${span(engine)} | ${span(wrapped)} | ${span(oracle)} | ${Math.round(wrapped[0] / oracle[1])}–${Math.round(wrapped[1] / oracle[0])}× |`,
    );
  }
}
