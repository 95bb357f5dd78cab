import { ConnectionLossError, type ZkClient } from '../src/index.js';

/**
 * `zk` with each call of `method` made through `around(call)`, where `call()` makes the real call;
 * every other property, and the client's own internal calls, untouched.
 */
function intercepting(zk: ZkClient, method: keyof ZkClient, around: (call: () => unknown) => unknown): ZkClient {
  return new Proxy(zk, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== method || typeof value !== 'function') return value;
      return (...args: unknown[]) => around(() => (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
}

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
  const client = intercepting(zk, method, async (call) => {
    if (held) await gate;
    return call();
  });
  return {
    client,
    hold: () => {
      held = true;
    },
    open: () => open(),
  };
}

/** A client whose calls of one method fail, while `refuse(true)` holds, as a lost connection's do. */
export interface RefusingClient {
  client: ZkClient;
  refuse(on: boolean): void;
  /** How many calls were refused so far. */
  readonly refused: number;
}

/**
 * Wraps `zk` so that, while refusing, each call of `method` rejects with ConnectionLossError
 * before it goes out: a request caught by a connection loss (a ZooKeeper restart) while the
 * session itself lives on. Other calls go straight through.
 */
export function refusingClient(zk: ZkClient, method: 'set' | 'create'): RefusingClient {
  let on = false;
  let refused = 0;
  const client = intercepting(zk, method, (call) => {
    if (!on) return call();
    refused++;
    return Promise.reject(new ConnectionLossError());
  });
  return {
    client,
    refuse: (v) => {
      on = v;
    },
    get refused() {
      return refused;
    },
  };
}
