// What making shell executions die with their agent costs, and how fast they die.
//
// 1. Per execution: shell executions of `true` through a real agent and ROUTER on 127.0.0.1
//    (in-process ZooKeeper tree), one at a time and 4 at a time, in three set-ups: no guard
//    (groupReaper: false), the agent's reaper (one `sh` per agent, a pipe write per start and
//    end), and the alternative weighed against it, a wrapper process per execution (a shell
//    that runs the command in the background and a watcher subshell polling the agent's pid).
// 2. From an agent process's SIGKILL to its shell job (`sh -c 'sleep 150; :'`) being gone.
//
//   cd bench && node --conditions=source --import tsx agent-orphans.bench.ts   (~1 min)
//   RUNS=400 KILLS=10 to change the counts.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RouterTransport, type Exec, type Message } from '@clover/protocol';
import { Agent } from '@clover/scheduler-client';
import { freePort, spawnProcess, waitFor } from '@clover/testkit';
import { LeaderElection, cloverPaths, createZkClient } from '@clover/zk-kit';

const runs = Number(process.env.RUNS ?? 300);
const kills = Number(process.env.KILLS ?? 8);
const here = path.dirname(fileURLToPath(import.meta.url));

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const fmt = (n: number) => n.toFixed(1);

const port = await freePort();
const endpoint = `tcp://127.0.0.1:${port}`;
const results = new Map<string, () => void>();
const acks = new Map<string, () => void>();
const hellos = new Set<string>();
const router = new RouterTransport({
  bind: endpoint,
  onMessage: (peer: string, m: Message) => {
    if (m.type === 'HELLO') hellos.add(peer);
    if (m.type === 'RESULT') results.get(m.body.execId)?.();
    if (m.type === 'ACK' && m.body.accepted) acks.get(m.body.execId)?.();
    if (m.type === 'RESULT') acks.get(m.body.execId)?.();
  },
});
await router.start();

const wrapper =
  '"$@" & c=$!; ( while kill -0 "$AGENT_PID" 2>/dev/null; do sleep 1; done; kill -9 0 ) </dev/null >/dev/null 2>&1 & w=$!; wait $c; r=$?; kill $w 2>/dev/null; exit $r';
let seq = 0;
function exec(agentId: string, kind: Exec['kind']): { body: Exec; done: Promise<void> } {
  const now = Date.now();
  const body: Exec = {
    execId: `${agentId}@${++seq}`,
    jobId: 'j',
    jobName: 'j',
    attempt: 1,
    kind,
    payload: {},
    timeoutMs: 60_000,
    deadline: now + 60_000,
    scheduledAt: now,
  };
  const done = new Promise<void>((resolve) => results.set(body.execId, resolve));
  return { body, done };
}

async function perExecution(label: string, groupReaper: boolean, wrapped: boolean): Promise<void> {
  const zk = createZkClient({ connect: `memory:bench-${label}` });
  await zk.connect();
  const paths = cloverPaths('/clover');
  const election = new LeaderElection(zk, { path: paths.electionDispatch, id: 'bench', data: { endpoint } });
  await election.start();
  const id = `agent-${label}`;
  const agent = new Agent({ zk, paths, id, shell: true, capacity: 4, groupReaper });
  await agent.start();
  await waitFor(() => hellos.has(id), { message: `HELLO from ${id}` });
  const kind: Exec['kind'] = wrapped
    ? { type: 'shell', command: 'sh', args: ['-c', wrapper, 'wrapper', 'true'], env: { AGENT_PID: String(process.pid) } }
    : { type: 'shell', command: 'true', args: [], env: {} };
  const latencies: number[] = [];
  for (let i = 0; i < 20; i++) {
    const e = exec(id, kind);
    await router.send(id, { type: 'EXEC', body: e.body });
    await e.done;
  }
  let t0 = performance.now();
  for (let i = 0; i < runs; i++) {
    const e = exec(id, kind);
    const start = performance.now();
    await router.send(id, { type: 'EXEC', body: e.body });
    await e.done;
    latencies.push(performance.now() - start);
  }
  const serial = runs / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < runs; i++) {
    if (inFlight.size >= 4) await Promise.race(inFlight);
    const e = exec(id, kind);
    const p = e.done.then(() => void inFlight.delete(p));
    inFlight.add(p);
    await router.send(id, { type: 'EXEC', body: e.body });
  }
  await Promise.all(inFlight);
  const parallel = runs / ((performance.now() - t0) / 1000);
  console.log(
    `${label.padEnd(26)} one at a time: p50 ${fmt(pct(latencies, 50))} ms, p99 ${fmt(pct(latencies, 99))} ms, ${serial.toFixed(0)}/s; 4 at a time: ${parallel.toFixed(0)}/s`,
  );
  await agent.close();
  await election.close();
  await zk.close();
}

console.log(`shell executions of \`true\`, ${runs} each way (after 20 warm-up), EXEC sent → RESULT received:`);
// Twice, interleaved: the machine is shared, and the order alone moves figures.
for (const round of [1, 2]) {
  await perExecution(`no guard ${round}`, false, false);
  await perExecution(`reaper (the agent's) ${round}`, true, false);
  await perExecution(`wrapper per execution ${round}`, false, true);
}

function groupAlive(pgid: number): boolean {
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid && f[0] !== 'Z') return true;
    } catch {
      /* gone */
    }
  }
  return false;
}

function findGroup(marker: string): number | null {
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      if (readFileSync(`/proc/${n}/cmdline`, 'utf8').includes(marker)) {
        const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      }
    } catch {
      /* gone */
    }
  }
  return null;
}

const gone: number[] = [];
for (let k = 0; k < kills; k++) {
  const id = `agent-kill-${k}`;
  const child = spawnProcess(process.execPath, ['--conditions=source', '--import', 'tsx', path.join(here, 'fixtures/orphan-agent.ts')], {
    name: id,
    env: { ENDPOINT: endpoint, NODE_ID: id },
  });
  await child.waitForOutput(/ready/, 30_000);
  await waitFor(() => hellos.has(id), { message: `HELLO from ${id}`, timeoutMs: 20_000 });
  const marker = `bench-orphan-${process.pid}-${k}`;
  const e = exec(id, { type: 'shell', command: 'sh', args: ['-c', `sleep 150; : ${marker}`], env: {} });
  const acked = new Promise<void>((resolve) => acks.set(e.body.execId, resolve));
  await router.send(id, { type: 'EXEC', body: e.body });
  await acked;
  const pgid = await waitFor(() => findGroup(marker), { message: 'the job running' });
  const t0 = performance.now();
  process.kill(child.pid, 'SIGKILL');
  while (groupAlive(pgid)) {
    if (performance.now() - t0 > 10_000) {
      process.kill(-pgid, 'SIGKILL');
      throw new Error('the job outlived its agent by 10 s');
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  gone.push(performance.now() - t0);
  await child.waitForExit(10_000);
}
console.log(`agent SIGKILLed → its shell job gone (${kills} kills): p50 ${fmt(pct(gone, 50))} ms, max ${fmt(Math.max(...gone))} ms`);
await router.close();
process.exit(0);
