export * from './job.js';
export * from './run.js';
export * from './entities.js';
export { parseCron, nextCronTime, isValidTimezone, CronError, type CronRule } from './cron.js';
export { nextFireTime, nextFireTimes, nextFireTimeInWindow, type FireWindow } from './schedule.js';
export { fieldErrors, ValidationError, parseOrThrow } from './fields.js';
export { newId } from './ids.js';
