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
  return (
    agent
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
      })
      // Fails at random, `failRate` of the time (0-1, default 0.5): retries and failure counts under test.
      .register('flaky', (ctx) => {
        const rate = Number((ctx.payload as { failRate?: unknown } | null)?.failRate ?? 0.5);
        if (Math.random() < rate) throw new Error(`flaky: failed (failRate ${rate})`);
        return { ok: true };
      })
  );
}
