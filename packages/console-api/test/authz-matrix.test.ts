import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client, ifStarted, loggedIn, startHarness, type Harness } from './harness.js';

// The authorization matrix (issue 16): every operation of the OpenAPI document × no credentials,
// a viewer, an operator and an admin (sessions), an API token (an operator's), a revoked token and
// a session whose X-CSRF-Token is stale (its previous session's). Each answer is what
// docs/console-api.md allows: the role rank viewer < operator < admin, 401 `unauthenticated`
// without valid credentials, 403 `forbidden` below the role, 403 `csrf_failed` for a cookie write
// without the session's CSRF token; health and the OpenAPI document are served to anyone.

type Caller = 'none' | 'viewer' | 'operator' | 'admin' | 'token' | 'revoked' | 'staleCsrf';
const callers: Caller[] = ['none', 'viewer', 'operator', 'admin', 'token', 'revoked', 'staleCsrf'];
const rank = { viewer: 0, operator: 1, admin: 2 } as const;
type Role = keyof typeof rank;

interface OpenApiDocument {
  paths: Record<string, Record<string, { description?: string }>>;
}

/** A concrete request per operation: a path with its parameters filled in and a body that passes validation. */
const requests: Record<string, { path: string; body?: unknown }> = {
  'GET /api/health': { path: '/api/health' },
  'GET /api/openapi.json': { path: '/api/openapi.json' },
  'POST /api/auth/login': { path: '/api/auth/login', body: { username: 'vic', password: 'vic-password' } },
  'POST /api/auth/logout': { path: '/api/auth/logout' },
  'GET /api/auth/me': { path: '/api/auth/me' },
  'POST /api/auth/tokens': { path: '/api/auth/tokens', body: { name: 'matrix' } },
  'GET /api/stats': { path: '/api/stats' },
  'GET /api/nodes': { path: '/api/nodes' },
  'GET /api/nodes/data': { path: '/api/nodes/data?path=/clover' },
  'PUT /api/nodes/data': { path: '/api/nodes/data?path=/clover/matrix', body: { data: {}, version: 0 } },
  'DELETE /api/nodes/data': { path: '/api/nodes/data?path=/clover/matrix&confirm=/clover/matrix' },
  'GET /api/jobs': { path: '/api/jobs' },
  'POST /api/jobs': {
    path: '/api/jobs',
    body: {
      name: 'matrix',
      schedule: { type: 'cron', expr: '0 0 1 1 *' },
      kind: { type: 'handler', name: 'noop' },
      target: { type: 'any' },
    },
  },
  'GET /api/jobs/{id}': { path: '/api/jobs/no-such-job' },
  'PUT /api/jobs/{id}': { path: '/api/jobs/no-such-job', body: { description: 'x' } },
  'DELETE /api/jobs/{id}': { path: '/api/jobs/no-such-job' },
  'POST /api/jobs/{id}/enable': { path: '/api/jobs/no-such-job/enable' },
  'POST /api/jobs/{id}/disable': { path: '/api/jobs/no-such-job/disable' },
  'POST /api/jobs/{id}/trigger': { path: '/api/jobs/no-such-job/trigger' },
  'POST /api/cron/preview': { path: '/api/cron/preview', body: { schedule: { type: 'cron', expr: '* * * * *' } } },
  'GET /api/runs': { path: '/api/runs' },
  'GET /api/runs/{id}': { path: '/api/runs/no-such-run' },
  'GET /api/runs/{id}/output/stream': { path: '/api/runs/no-such-run/output/stream' },
  'GET /api/contacts': { path: '/api/contacts' },
  'POST /api/contacts': { path: '/api/contacts', body: { name: 'matrix', email: 'matrix@example.com' } },
  'PUT /api/contacts/{id}': { path: '/api/contacts/no-such-contact', body: { name: 'matrix', email: 'matrix@example.com' } },
  'DELETE /api/contacts/{id}': { path: '/api/contacts/no-such-contact' },
  'GET /api/logs': { path: '/api/logs' },
  'GET /api/incidents': { path: '/api/incidents' },
  'GET /api/outbox': { path: '/api/outbox' },
  'GET /api/users': { path: '/api/users' },
  'POST /api/users': {
    path: '/api/users',
    body: { name: `matrix-${randomUUID().slice(0, 8)}`, password: 'matrix-password-1', role: 'viewer' },
  },
  'PUT /api/users/{name}': { path: '/api/users/no-such-user', body: { role: 'viewer' } },
  'DELETE /api/users/{name}': { path: '/api/users/no-such-user' },
  'PUT /api/users/{name}/password': { path: '/api/users/no-such-user/password', body: { password: 'matrix-password-2' } },
  'POST /api/users/{name}/disable': { path: '/api/users/no-such-user/disable' },
  'POST /api/users/{name}/enable': { path: '/api/users/no-such-user/enable' },
  'GET /api/auth/tokens': { path: '/api/auth/tokens' },
  'DELETE /api/auth/tokens/{id}': { path: '/api/auth/tokens/no-such-token' },
  'GET /api/machines': { path: '/api/machines' },
  'POST /api/incidents/{id}/acknowledge': { path: '/api/incidents/no-such-incident/acknowledge' },
  'POST /api/incidents/{id}/close': { path: '/api/incidents/no-such-incident/close' },
  'GET /api/audit': { path: '/api/audit' },
  'GET /api/config': { path: '/api/config' },
  // Refused by validation (400) when the caller may write it: the cluster's settings stay as they are.
  'PUT /api/config': { path: '/api/config', body: { heartbeatIntervalMs: 'often' } },
};

let h: Harness;
let doc: OpenApiDocument;
const clients = new Map<Caller, Client>();

before(async () => {
  h = await startHarness(`memory:authz-${randomUUID()}`);
  doc = (await new Client(h.url).call<OpenApiDocument>('GET', '/api/openapi.json')).body;
  await fillClients();
});
after(() => ifStarted(h)?.close());

/** One client per caller; called again after a logout ended a session. */
async function fillClients(): Promise<void> {
  clients.set('none', new Client(h.url));
  clients.set('viewer', await loggedIn(h.url, 'vic'));
  clients.set('operator', await loggedIn(h.url, 'olga'));
  clients.set('admin', await loggedIn(h.url, 'admin'));
  const admin = await loggedIn(h.url, 'admin');
  for (const [caller, user] of [
    ['token', 'olga'],
    ['revoked', 'olga'],
  ] as const) {
    const made = await admin.call<{ token: string }>('POST', '/api/auth/tokens', { name: `${caller}-${randomUUID()}`, user });
    assert.equal(made.status, 201);
    const client = new Client(h.url);
    client.bearer = made.body.token;
    clients.set(caller, client);
  }
  const tokens = await h.store.tokens.list();
  const newest = tokens.reduce((a, b) => (a.createdAt > b.createdAt ? a : b));
  assert.ok(await h.store.tokens.delete(newest.id), 'the revoked token is gone from the store');
  // The stale CSRF token: an admin's, from the session before this one.
  const stale = await loggedIn(h.url, 'admin');
  const staleCsrf = stale.cookie('clover_csrf');
  const fresh = await loggedIn(h.url, 'admin');
  const staleClient = new Client(h.url);
  Object.assign(staleClient, fresh);
  clients.set('staleCsrf', staleClient);
  staleClient.call = (method: string, route: string, body?: unknown) =>
    fresh.call(method, route, body, { csrf: false, headers: { 'x-csrf-token': staleCsrf ?? 'none' } });
}

/** What the rules allow `caller` on an operation that needs `role` ('none': served to anyone; 'any': any login). */
function expected(
  caller: Caller,
  method: string,
  role: string,
  beforeAuth: boolean,
): 'allowed' | 'unauthenticated' | 'forbidden' | 'csrf_failed' {
  if (beforeAuth) return 'allowed';
  if (caller === 'revoked') return 'unauthenticated';
  if (caller === 'staleCsrf' && method !== 'GET') return 'csrf_failed';
  if (role === 'none') return 'allowed';
  if (caller === 'none') return 'unauthenticated';
  if (role === 'any') return 'allowed';
  const callerRole: Role = caller === 'token' ? 'operator' : caller === 'staleCsrf' ? 'admin' : caller;
  return rank[callerRole] >= rank[role as Role] ? 'allowed' : 'forbidden';
}

test('every operation of the OpenAPI document has a request in this matrix', () => {
  const documented = Object.entries(doc.paths).flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`));
  assert.deepEqual([...documented, 'GET /api/openapi.json'].sort(), Object.keys(requests).sort());
});

test('every operation × every caller answers what the roles allow', async () => {
  const wrong: string[] = [];
  for (const [op, { path, body }] of Object.entries(requests)) {
    const [method = 'GET', docPath = ''] = op.split(' ');
    const description = doc.paths[docPath]?.[method.toLowerCase()]?.description ?? '';
    const role = /role: (\w+)/.exec(description)?.[1] ?? 'none';
    // Health and the OpenAPI document are mounted before authentication (app.ts).
    const beforeAuth = docPath === '/api/health' || docPath === '/api/openapi.json';
    for (const caller of callers) {
      const want = expected(caller, method, role, beforeAuth);
      const client = clients.get(caller);
      assert.ok(client);
      const r = await client.call<{ error?: string }>(method, path, body);
      const got =
        r.status === 401
          ? 'unauthenticated'
          : r.status === 403
            ? r.body.error === 'csrf_failed'
              ? 'csrf_failed'
              : 'forbidden'
            : r.status >= 500
              ? `server error ${r.status}`
              : 'allowed';
      if (got !== want)
        wrong.push(`${op} as ${caller} (role ${role}): ${want} expected, got ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
      if (r.status === 401) assert.equal(r.body.error, 'unauthenticated', `${op} as ${caller}`);
      if (r.status === 403) assert.ok(r.body.error === 'forbidden' || r.body.error === 'csrf_failed', `${op} as ${caller}`);
      // A logout ends the session it was sent with: the next caller rows need theirs back.
      if (op === 'POST /api/auth/logout' && r.status === 200) await fillClients();
    }
  }
  assert.deepEqual(wrong, []);
});
