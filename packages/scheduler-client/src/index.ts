export { Agent } from './agent.js';
export { registerDemoHandlers } from './demo-handlers.js';
export { DEFAULT_CAPACITY, defaultProcessCapacity } from './capacity.js';
export type { AgentOptions, Handler, HandlerContext } from './interfaces.js';
export type { EgressPolicy } from './executors/egress.js';
export { specialAddress } from './executors/egress.js';
