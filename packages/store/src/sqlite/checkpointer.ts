import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { settleWithin } from '@clover/lifecycle';

/**
 * Copies the write-ahead log back into the database file from a worker thread, on a connection
 * of its own, so the writer's thread never does. SQLite otherwise checkpoints inside whichever
 * commit pushes the log past 1,000 pages: on a dispatch-server recording thousands of runs a
 * second that was about half the cost of a job's run-state update, and every checkpoint syncs
 * the disk. A passive checkpoint never blocks a writer or a reader; one page written many times
 * between two checkpoints is copied once.
 *
 * The worker is plain CommonJS evaluated from this string: it loads the same better-sqlite3 as
 * the store, and works the same from source (tsx) and from the built package.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage({ error: String(err) });
  }
}, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export interface BackgroundCheckpointer {
  stop(): Promise<void>;
}

export function startBackgroundCheckpointer(file: string, everyMs: number, onError: (message: string) => void): BackgroundCheckpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(workerSource, { eval: true, workerData: { file, driver, everyMs } });
  worker.on('message', (m: { error?: string }) => m.error && onError(m.error));
  worker.on('error', (err) => onError(String(err)));
  worker.unref();
  let exited = false;
  worker.on('exit', () => (exited = true));
  let stopped: Promise<void> | null = null;
  return {
    stop() {
      stopped ??= (async () => {
        if (exited) return;
        // Held open until the worker has closed its connection: closing the store means done with the file.
        worker.ref();
        const gone = once(worker, 'exit');
        worker.postMessage('stop');
        if ((await settleWithin(gone, 2000)) === 'timeout') await worker.terminate();
      })();
      return stopped;
    },
  };
}
