export * from './job.js';
export * from './run.js';
export * from './entities.js';
export { parseCron, compileCron, CronError, type CronRule } from './cron.js';
export { nextCronTime, type CronFireDetail, type DstShift } from './cronTime.js';
export { isValidTimezone } from './zone.js';
export { nextFireTime, nextFireTimes, nextFireTimeInWindow, previewFireTimes, type FireWindow, type PreviewFire } from './schedule.js';
export { fieldErrors, ValidationError, parseOrThrow } from './fields.js';
export { newId } from './ids.js';
