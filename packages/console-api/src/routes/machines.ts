import { Router } from 'express';
import type { Incident, Machine, MachineList, Ok } from '@clover/model';
import { joinPath, nodeKinds, type NodeKind } from '@clover/zk-kit';
import type { ApiDeps } from '../deps.js';
import { notFound } from '../errors.js';
import { principalOf, requireRole } from '../auth/principal.js';

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const date = (v: unknown): Date | null => (typeof v === 'number' ? new Date(v) : null);

/** A machine from its heartbeat znode's data (HeartbeatData of @clover/heartbeat plus each role's `info`). */
export function machineOf(kind: NodeKind, id: string, data: Record<string, unknown>, now: number): Machine {
  const beatAt = num(data.beatAt);
  return {
    kind,
    id,
    state: data.status === 'leaving' ? 'leaving' : 'up',
    host: str(data.host),
    pid: num(data.pid),
    version: str(data.version),
    endpoint: str(data.endpoint),
    startedAt: date(data.startedAt),
    beatAt: date(beatAt),
    ageMs: beatAt === null ? null : Math.max(0, now - beatAt),
    running: num(data.running),
    capacity: num(data.capacity),
    groups: strings(data.groups),
    tags: strings(data.tags),
    handlers: strings(data.handlers),
    leader: typeof data.leader === 'boolean' ? data.leader : typeof data.active === 'boolean' ? data.active : null,
    lateness:
      data.execLatenessMs !== null && typeof data.execLatenessMs === 'object' ? (data.execLatenessMs as Record<string, unknown>) : null,
    jobs: kind === 'servers' ? num(data.jobs) : null,
    share: kind === 'servers' ? shareOf(data.shares) : null,
    incident: null,
  };
}

/** A sharing server's `shares: { partitions, of }` (dispatch-server's heartbeat), else null. */
function shareOf(v: unknown): Machine['share'] {
  if (v === null || typeof v !== 'object') return null;
  const { partitions, of } = v as Record<string, unknown>;
  const p = num(partitions);
  const n = num(of);
  return p !== null && n !== null ? { partitions: p, of: n } : null;
}

/** A machine that died: what its open node_dead incident kept of it (the monitor copies the last beat's facts in). */
export function deadMachineOf(incident: Incident, now: number): Machine | null {
  const kind = nodeKinds.find((k) => k === incident.nodeKind);
  if (!kind) return null;
  const d = incident.details;
  return {
    ...machineOf(kind, incident.subject, { ...d, beatAt: d.lastBeatAt, status: 'up' }, now),
    state: 'dead',
    ageMs: null,
    incident,
  };
}

/**
 * The cluster as machines (docs/console-api.md): every live server, agent and monitor from its
 * heartbeat znode, then the dead ones that an open incident still names; a dead machine leaves the
 * list when it comes back (its znode returns and the monitor closes the incident) or when someone
 * dismisses it (POST /api/incidents/:id/close).
 */
export function machineRoutes(d: ApiDeps): Router {
  const r = Router();
  r.get('/machines', requireRole('viewer'), async (_req, res) => {
    const now = d.clock();
    const live: Machine[] = [];
    await Promise.all(
      nodeKinds.map(async (kind) => {
        const ids = await d.zk.children(d.paths.nodesOf(kind)).catch(() => [] as string[]);
        await Promise.all(
          ids.map(async (id) => {
            const node = await d.zk.get(joinPath(d.paths.nodesOf(kind), id)).catch(() => null);
            if (!node) return; // gone since the listing
            // A znode another tool wrote may hold anything: a machine still, with what is known.
            const beat = node.data !== null && typeof node.data === 'object' ? (node.data as Record<string, unknown>) : {};
            live.push(machineOf(kind, id, beat, now));
          }),
        );
      }),
    );
    const alive = new Set(live.map((m) => `${m.kind}/${m.id}`));
    const open = await d.store.incidents.list({ kind: 'node_dead', open: true, limit: 500 });
    const dead = open.items.map((i) => deadMachineOf(i, now)).filter((m): m is Machine => m !== null && !alive.has(`${m.kind}/${m.id}`));
    const order = (m: Machine) => nodeKinds.indexOf(m.kind);
    live.sort((a, b) => order(a) - order(b) || a.id.localeCompare(b.id));
    res.json({ items: [...live, ...dead] } satisfies MachineList);
  });

  // Closing by hand: the machine will not come back (decommissioned), or the failure was dealt with.
  r.post('/incidents/:id/close', requireRole('operator'), async (req, res) => {
    const id = String(req.params.id);
    const incident = await d.store.incidents.get(id);
    if (!incident) throw notFound(`incident ${id}`);
    if (!incident.closedAt) await d.store.incidents.close(id, new Date(d.clock()), principalOf(res)?.name);
    d.logger.info('incident closed by hand', { incident: id, subject: incident.subject, by: principalOf(res)?.name });
    res.json({ ok: true } satisfies Ok);
  });

  // Taken on: who deals with it, for the others looking at the same list. It stays open.
  r.post('/incidents/:id/acknowledge', requireRole('operator'), async (req, res) => {
    const id = String(req.params.id);
    const by = principalOf(res)?.name ?? 'unknown';
    const incident = await d.store.incidents.acknowledge(id, by, new Date(d.clock()));
    if (!incident) throw notFound(`incident ${id}`);
    res.json(incident satisfies Incident);
  });
  return r;
}
