import type { Message } from '@clover/protocol';

/**
 * An agent's slots taken, as this server sees them (docs/protocol.md, Several servers): the runs
 * this server holds on it (`inFlight`, its reservations, exact and current) plus the executions
 * the agent last said run there for other dispatch-servers (`runningForOthers`). What 'least_busy'
 * orders by and what a free slot is judged by; an agent of one server reports 0 for the others.
 */
export function slotsTaken(agent: { inFlight: number; runningForOthers: number }): number {
  return agent.inFlight + agent.runningForOthers;
}

/**
 * The `runningForOthers` a message from an agent reports: HELLO, ACK, RESULT and PONG carry it,
 * absent meaning 0. Undefined for the messages that say nothing of it.
 */
export function runningForOthersIn(msg: Message): number | undefined {
  switch (msg.type) {
    case 'HELLO':
    case 'ACK':
    case 'RESULT':
    case 'PONG':
      return msg.body.runningForOthers ?? 0;
    default:
      return undefined;
  }
}
