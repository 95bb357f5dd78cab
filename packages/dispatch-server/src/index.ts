export { DispatchServer, type DispatchServerOptions } from './server.js';
export { FireTimer } from './timer.js';
export { JobScheduler, nextSlot, latestSlotBetween } from './schedule.js';
export { Router, matches } from './route.js';
export { AgentDirectory, type AgentInfo } from './agents.js';
export { defaultClaimAheadMs, defaultMaxWaitingRuns, defaultTimings, type TrackerTimings } from './interfaces.js';
export { RunTracker, type TrackerDeps } from './track.js';
export { LatenessMeter, type LatenessFigures } from './lateness.js';
