import { createHash } from 'node:crypto';
import type { Job } from '@clover/model';
import type { AgentInfo } from './agents.js';
import { slotsTaken } from './agent-load.js';

/** Can this agent run this job at all: target and kind. */
export function matches(job: Job, agent: AgentInfo): boolean {
  const t = job.target;
  if (t.type === 'node' && agent.id !== t.nodeId) return false;
  if (t.type === 'group' && !agent.groups.has(t.group)) return false;
  if (t.type === 'tags' && !t.tags.every((tag) => agent.tags.has(tag))) return false;
  const k = job.kind;
  if (k.type === 'handler') return agent.handlers.has(k.name);
  if (k.type === 'shell') return agent.shell;
  return agent.http;
}

function hash32(s: string): number {
  return createHash('md5').update(s).digest().readUInt32BE(0);
}

const vnodes = 64;

/** The ring position order of agents for a key: moving an agent moves only its own keys. */
function ringOrder(key: string, agents: AgentInfo[]): AgentInfo[] {
  const points: Array<{ h: number; a: AgentInfo }> = [];
  for (const a of agents) for (let i = 0; i < vnodes; i++) points.push({ h: hash32(`${a.id}#${i}`), a });
  points.sort((x, y) => x.h - y.h);
  const k = hash32(key);
  let start = points.findIndex((p) => p.h >= k);
  if (start < 0) start = 0;
  const out: AgentInfo[] = [];
  // Clockwise from the key's position, wrapping round once.
  for (const { a } of [...points.slice(start), ...points.slice(0, start)]) {
    if (out.length >= agents.length) break;
    if (!out.includes(a)) out.push(a);
  }
  return out;
}

/**
 * Orders the agents that can take the job by its routing strategy: the first is tried first,
 * the rest are where a refused or unacknowledged execution goes next. Broadcast takes them all.
 */
export class Router {
  private readonly rr = new Map<string, number>();

  constructor(private readonly random: () => number = Math.random) {}

  order(job: Job, agents: AgentInfo[]): AgentInfo[] {
    const ok = agents.filter((a) => matches(job, a));
    if (ok.length <= 1) return ok;
    switch (job.routing) {
      case 'first':
      case 'failover':
      case 'broadcast':
        return ok;
      case 'round_robin': {
        const n = this.rr.get(job.id) ?? 0;
        this.rr.set(job.id, n + 1);
        const i = n % ok.length;
        return [...ok.slice(i), ...ok.slice(0, i)];
      }
      case 'random': {
        const i = Math.floor(this.random() * ok.length);
        return [...ok.slice(i), ...ok.slice(0, i)];
      }
      case 'least_busy':
        return [...ok].sort((a, b) => slotsTaken(a) / a.capacity - slotsTaken(b) / b.capacity || (a.id < b.id ? -1 : 1));
      case 'consistent_hash':
        return ringOrder(job.id, ok);
    }
  }

  forget(jobId: string): void {
    this.rr.delete(jobId);
  }
}
