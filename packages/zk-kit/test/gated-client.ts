import type { ZkClient } from '../src/index.js';

/** A client whose calls of one method wait, once `hold()` is called, until `open()` is. */
export interface GatedClient {
  client: ZkClient;
  hold(): void;
  open(): void;
}

/**
 * Wraps `zk` so that, while held, each call of `method` waits at a gate before it goes out: a
 * recipe stopped between two of its steps while a second client changes the tree under it, as a
 * slow round trip or a paused process would have it. Other calls, and the client's own internal
 * calls, go straight through.
 */
export function gatedClient(zk: ZkClient, method: 'exists' | 'create'): GatedClient {
  let held = false;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const client = new Proxy(zk, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== method || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (held) await gate;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    client,
    hold: () => {
      held = true;
    },
    open: () => open(),
  };
}
