import type { Agent } from './agent.js';

function abortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new Error('aborted'));
      },
      { once: true },
    );
  });
}

/** Handlers every clover agent can serve out of the box: for demos, smoke tests and benchmarks. */
export function registerDemoHandlers(agent: Agent): Agent {
  return agent
    .register('noop', () => undefined)
    .register('echo', (ctx) => ctx.payload)
    .register('sleep', async (ctx) => {
      const ms = Number((ctx.payload as { ms?: unknown } | null)?.ms ?? 1000);
      await abortable(ms, ctx.signal);
      return { slept: ms };
    })
    .register('fail', (ctx) => {
      const message = (ctx.payload as { message?: unknown } | null)?.message ?? 'demo failure';
      throw new Error(typeof message === 'string' ? message : JSON.stringify(message));
    });
}
