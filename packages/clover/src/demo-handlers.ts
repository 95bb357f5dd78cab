import type { Agent } from '@clover/scheduler-client';

/** Handlers the standalone agent serves so a new user has something to schedule at once. */
export function registerDemoHandlers(agent: Agent): void {
  agent.register('noop', async () => undefined);
  agent.register('echo', async (ctx) => ctx.payload);
  agent.register('sleep', async (ctx) => {
    const ms = Number((ctx.payload as { ms?: unknown } | undefined)?.ms ?? 1000);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new Error('cancelled'));
      }, { once: true });
    });
    return { slept: ms };
  });
  agent.register('fail', async (ctx) => {
    throw new Error(String((ctx.payload as { message?: unknown } | undefined)?.message ?? 'demo failure'));
  });
}
