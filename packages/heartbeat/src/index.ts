export { Heartbeat, type HeartbeatOptions, type HeartbeatData } from './heartbeat.js';
