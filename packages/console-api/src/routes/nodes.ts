import { Router } from 'express';
import { z } from 'zod';
import { parseOrThrow, putNodeBodySchema, type NodeDeleted, type NodeList, type NodeView, type NodeViewKind } from '@clover/model';
import { NotEmptyError, joinPath, nodeKinds, structuralPath, type ZkStat } from '@clover/zk-kit';
import type { ApiDeps } from '../deps.js';
import { apiError, notFound } from '../errors.js';
import { principalOf, requireRole } from '../auth/principal.js';
import { booleanText, parseQuery } from '../query.js';

// The change feed and the election hold many short-lived children: listed as counts, not walked.
const maxNodes = 5000;
const pathQuery = z.object({ path: z.string().min(1, 'give the node path') });
// force=true: delete one of clover's structural znodes anyway (zk-kit's structuralPaths).
const deleteQuery = pathQuery.extend({ confirm: z.string().optional(), force: booleanText });

export function nodeRoutes(d: ApiDeps): Router {
  const r = Router();
  const root = d.paths.root;

  const inside = (path: string): string => {
    const clean = path.replace(/\/+$/, '') || '/';
    if (clean !== root && !clean.startsWith(`${root}/`))
      throw apiError('bad_request', `only nodes under ${root} can be read or changed here`, { path: `must start with ${root}` });
    if (clean.includes('//') || clean.split('/').some((s) => s === '.' || s === '..'))
      throw apiError('bad_request', 'invalid path', { path: 'invalid ZooKeeper path' });
    return clean;
  };

  const view = async (path: string): Promise<NodeView | null> => {
    const node = await d.zk.getRaw(path);
    if (!node) return null;
    return describe(path, node.data, node.stat, root, d.clock());
  };

  r.get('/nodes', requireRole('viewer'), async (_req, res) => {
    const items: NodeView[] = [];
    const walk = async (path: string): Promise<void> => {
      if (items.length >= maxNodes) return;
      const node = await view(path);
      if (!node) return;
      items.push(node);
      if (path === d.paths.jobChanges || path.startsWith(`${root}/election/`)) return;
      const kids = await d.zk.children(path).catch(() => [] as string[]);
      for (const child of kids.sort()) await walk(joinPath(path, child));
    };
    await walk(root);
    res.json({ items, truncated: items.length >= maxNodes } satisfies NodeList);
  });

  r.get('/nodes/data', requireRole('viewer'), async (req, res) => {
    const path = inside(parseQuery(pathQuery, req.query).path);
    const node = await view(path);
    if (!node) throw notFound(`node ${path}`);
    res.json(node satisfies NodeView);
  });

  r.put('/nodes/data', requireRole('admin'), async (req, res) => {
    const path = inside(parseQuery(pathQuery, req.query).path);
    const body = parseOrThrow(putNodeBodySchema, req.body);
    if (body.data === undefined)
      throw apiError('validation_failed', 'some fields are invalid', { data: 'give the new data (any JSON value)' });
    await d.zk.set(path, body.data, body.version);
    d.logger.info('node data changed from the console', { path, by: principalOf(res)?.name });
    res.json((await view(path)) satisfies NodeView | null);
  });

  r.delete('/nodes/data', requireRole('admin'), async (req, res) => {
    const q = parseQuery(deleteQuery, req.query);
    const path = inside(q.path);
    if (q.confirm !== q.path)
      throw apiError('bad_request', 'confirm the deletion: pass confirm=<the same path>', { confirm: 'must equal path' });
    if (!(await d.zk.exists(path))) throw notFound(`node ${path}`);
    // clover's own folders: a deletion disturbs the running cluster (each recipe heals, but work
    // in flight notices), so it takes a second, explicit decision that has read what follows.
    const structural = structuralPath(d.paths, path);
    if (structural && !q.force) {
      throw apiError(
        'structural_node',
        `${path} is clover's own structure (${structural.role}). Deleting it ${structural.onDelete}. Delete it anyway only if you mean to: repeat with force=true.`,
        { force: 'pass force=true to delete a structural node' },
      );
    }
    try {
      await d.zk.delete(path, { recursive: true });
    } catch (err) {
      // The running recipes write their nodes back as fast as they go (they heal themselves), so
      // a structural folder may never be empty for the last step: every node it held was deleted.
      if (!(structural && err instanceof NotEmptyError)) throw err;
    }
    const back = structural ? (await d.zk.exists(path)) !== null : false;
    d.logger.warn(structural ? 'structural node deleted from the console (forced)' : 'node deleted from the console', {
      path,
      by: principalOf(res)?.name,
      recreated: back,
    });
    res.json({ ok: true, recreated: back } satisfies NodeDeleted);
  });

  return r;
}

function describe(path: string, raw: Buffer, stat: ZkStat, root: string, now: number): NodeView {
  const text = raw.toString('utf8');
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (written by another tool): the raw text is still shown.
  }
  const rel = path.slice(root.length + 1).split('/');
  // A member registers at /nodes/<kind>/<id>; anything else is shown as 'other'.
  const member = rel[0] === 'nodes' && rel.length === 3 ? nodeKinds.find((k) => k === rel[1]) : undefined;
  const kind: NodeViewKind = member ?? 'other';
  const beat = data && typeof data === 'object' ? (data as { beatAt?: unknown }).beatAt : undefined;
  const beatAt = typeof beat === 'number' ? beat : typeof beat === 'string' ? Date.parse(beat) : NaN;
  return {
    path,
    kind,
    id: path.slice(path.lastIndexOf('/') + 1) || '/',
    data,
    raw: text,
    version: stat.version,
    ephemeral: stat.ephemeralOwner !== '0' && stat.ephemeralOwner !== '',
    ageMs: Number.isFinite(beatAt) ? Math.max(0, now - beatAt) : null,
    children: stat.numChildren,
    mtime: new Date(stat.mtime),
  };
}
