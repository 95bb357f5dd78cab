import type { Logger } from '@clover/logging';
import type { Store } from '@clover/store';
import type { CloverPaths, ZkClient } from '@clover/zk-kit';
import type { LoginThrottle } from './auth/throttle.js';
import type { ConsoleMetrics } from './metrics.js';

/** What every route module works with. */
export interface ApiDeps {
  store: Store;
  zk: ZkClient;
  paths: CloverPaths;
  logger: Logger;
  throttle: LoginThrottle;
  metrics: ConsoleMetrics;
  version: string;
  startedAt: number;
  clock: () => number;
}
