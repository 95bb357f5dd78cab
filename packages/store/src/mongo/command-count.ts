import { writeFileSync } from 'node:fs';
import type { Connection } from 'mongoose';

/**
 * Counts the commands a connection sends (the driver's command monitoring, `commandStarted`) and
 * keeps the count in `file` as JSON, `{ "total": n, "byName": { "insert": n, ... } }`, rewritten
 * every second and once more at `stop()`: a benchmark in another process reads it to tell how
 * many round trips a recorded execution costs. The connection must be made with
 * `monitorCommands: true`.
 */
export function countCommands(conn: Connection, file: string): { stop(): void } {
  const byName: Record<string, number> = {};
  let total = 0;
  let written = -1;
  const write = () => {
    if (written === total) return;
    written = total;
    writeFileSync(file, JSON.stringify({ total, byName }));
  };
  conn.getClient().on('commandStarted', (e: { commandName: string }) => {
    total++;
    byName[e.commandName] = (byName[e.commandName] ?? 0) + 1;
  });
  write();
  const timer = setInterval(write, 1000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      write();
    },
  };
}
