// What one agent sustains, by kind, and so what its two limits should be (scheduler-client
// README, "Capacity"): executions through a real agent and ROUTER on 127.0.0.1 (in-process
// ZooKeeper tree), the "leader" keeping a fixed number in flight (a new EXEC as each RESULT
// comes), for a few seconds each:
//
// 1. the `noop` handler, 4 and 64 in flight: what an in-process execution costs the agent;
// 2. shell `true`, 1, 2, 4 and 8 in flight (processCapacity the same): where child processes
//    stop adding throughput on this host;
// 3. 256 `sleep` handlers (2 s) held at once: the heap each waiting execution takes; 8 shell
//    `sleep 2` held: the memory of each child process (its RSS, from /proc).
//
//   cd bench && node --conditions=source --import tsx agent-capacity.bench.ts   (~30 s)
//   SECONDS_EACH=5 to change the time per step.
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { RouterTransport, type Exec, type Message } from '@clover/protocol';
import { Agent, registerDemoHandlers } from '@clover/scheduler-client';
import { freePort, waitFor } from '@clover/testkit';
import { LeaderElection, cloverPaths, createZkClient } from '@clover/zk-kit';

const secondsEach = Number(process.env.SECONDS_EACH ?? 3);

const port = await freePort();
const endpoint = `tcp://127.0.0.1:${port}`;
const results = new Map<string, () => void>();
const accepted = new Map<string, () => void>();
const hellos = new Set<string>();
let refused = 0;
const router = new RouterTransport({
  bind: endpoint,
  onMessage: (peer: string, m: Message) => {
    if (m.type === 'HELLO') hellos.add(peer);
    if (m.type === 'ACK' && !m.body.accepted) refused += 1;
    if (m.type === 'ACK' && m.body.accepted) accepted.get(m.body.execId)?.();
    if (m.type === 'RESULT') {
      accepted.get(m.body.execId)?.();
      results.get(m.body.execId)?.();
    }
  },
});
await router.start();
const zk = createZkClient({ connect: 'memory:bench-capacity' });
await zk.connect();
const paths = cloverPaths('/clover');
const election = new LeaderElection(zk, { path: paths.electionDispatch, id: 'bench', data: { endpoint } });
await election.start();

/** This process's children (the shell executions) and their resident memory, from /proc. */
function childrenRssKiB(): { count: number; kib: number } {
  let count = 0;
  let kib = 0;
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== process.pid || !/^Name:\s+sleep$/m.test(status)) continue;
      count += 1;
      kib += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return { count, kib };
}

let seq = 0;
function exec(kind: Exec['kind'], payload: unknown = {}): { body: Exec; started: Promise<void>; done: Promise<void> } {
  const now = Date.now();
  const body: Exec = {
    execId: `x@${++seq}`,
    jobId: 'j',
    jobName: 'j',
    attempt: 1,
    kind,
    payload,
    timeoutMs: 60_000,
    deadline: now + 60_000,
    scheduledAt: now,
  };
  const started = new Promise<void>((resolve) => accepted.set(body.execId, resolve));
  const done = new Promise<void>((resolve) => results.set(body.execId, resolve));
  return { body, started, done };
}

async function agentUp(id: string, capacity: number, processCapacity: number): Promise<Agent> {
  const agent = registerDemoHandlers(new Agent({ zk, paths, id, shell: true, capacity, processCapacity }));
  await agent.start();
  await waitFor(() => hellos.has(id), { message: `HELLO from ${id}` });
  return agent;
}

/** Executions per second with `inFlight` kept running, and the CPU time of this process (agent and "leader") per execution. */
async function sustain(id: string, kind: Exec['kind'], inFlight: number): Promise<{ perSec: number; cpuUsPer: number }> {
  const one = async (until: number): Promise<number> => {
    let n = 0;
    while (performance.now() < until) {
      const e = exec(kind);
      await router.send(id, { type: 'EXEC', body: e.body });
      await e.done;
      n += 1;
    }
    return n;
  };
  await Promise.all(Array.from({ length: inFlight }, () => one(performance.now() + 500))); // warm-up
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const counts = await Promise.all(Array.from({ length: inFlight }, () => one(t0 + secondsEach * 1000)));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const n = counts.reduce((a, b) => a + b, 0);
  return { perSec: n / seconds, cpuUsPer: (cpu.user + cpu.system) / n };
}

console.log(
  `one agent, ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? '?'}), load ${os.loadavg()[0]?.toFixed(1)}, ${secondsEach} s a step`,
);
const noopAgent = await agentUp('noop', 64, 2);
for (const n of [4, 64]) {
  const r = await sustain('noop', { type: 'handler', name: 'noop' }, n);
  console.log(`noop handler, ${String(n).padStart(2)} in flight: ${r.perSec.toFixed(0)}/s, ${r.cpuUsPer.toFixed(0)} µs CPU each`);
}
for (const n of [1, 2, 4, 8]) {
  const agent = await agentUp(`shell-${n}`, 64, n);
  const r = await sustain(`shell-${n}`, { type: 'shell', command: 'true', args: [], env: {} }, n);
  console.log(
    `shell true,    ${String(n).padStart(2)} in flight: ${r.perSec.toFixed(0)}/s, ${r.cpuUsPer.toFixed(0)} µs CPU each in the agent's process (the child's own not counted)`,
  );
  await agent.close();
}

// Held at once: what a waiting in-process execution costs, and what a waiting child process does.
const holder = await agentUp('holder', 256 + 8, 8);
globalThis.gc?.();
const heap0 = process.memoryUsage().heapUsed;
const held = Array.from({ length: 256 }, () => exec({ type: 'handler', name: 'sleep' }, { ms: 2000 }));
for (const e of held) await router.send('holder', { type: 'EXEC', body: e.body });
await Promise.all(held.map((e) => e.started));
globalThis.gc?.();
const heapEach = (process.memoryUsage().heapUsed - heap0) / 256;
const sleeps = Array.from({ length: 8 }, () => exec({ type: 'shell', command: 'sleep', args: ['2'], env: {} }));
for (const e of sleeps) await router.send('holder', { type: 'EXEC', body: e.body });
await Promise.all(sleeps.map((e) => e.started));
const children = childrenRssKiB();
console.log(
  `256 sleep handlers held: heap +${(heapEach / 1024).toFixed(1)} KiB each (agent and "leader"); 8 shell \`sleep 2\` held: ${children.count} child processes, RSS ${(children.kib / Math.max(1, children.count)).toFixed(0)} KiB each; refusals during the bench: ${refused}`,
);
await Promise.all([...held, ...sleeps].map((e) => e.done));
await holder.close();
await Promise.all(held.map((e) => e.done));
await noopAgent.close();
await election.close();
await zk.close();
await router.close();
process.exit(0);
