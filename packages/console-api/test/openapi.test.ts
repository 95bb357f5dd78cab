import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openApiDocument } from '../src/index.js';

// The OpenAPI document (served at /api/openapi.json, fuzzed by Schemathesis) and the endpoint
// table of docs/console-api.md say the same: the same operations, each with the same role.
const docsFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/console-api.md');

interface Document {
  paths: Record<string, Record<string, { description?: string }>>;
}

/**
 * `METHOD /path role` for each row of the docs' endpoint table (`:id` as `{id}`, the query left
 * out); a row `POST /api/jobs/:id/enable` / `disable` is two operations.
 */
async function documentedOperations(): Promise<string[]> {
  const text = await readFile(docsFile, 'utf8');
  const ops: string[] = [];
  for (const m of text.matchAll(/^\| `(GET|POST|PUT|DELETE) ([^`?]+)[^`]*`(?: \/ `(\w+)`)? \| (\w+) \|/gm)) {
    const [, method = '', route = '', alias, role = ''] = m;
    const openApiPath = route.trim().replace(/:(\w+)/g, '{$1}');
    ops.push(`${method} ${openApiPath} ${role}`);
    if (alias) ops.push(`${method} ${openApiPath.replace(/[^/]+$/, alias)} ${role}`);
  }
  return ops.sort();
}

test('the OpenAPI document and docs/console-api.md list the same operations with the same roles', async () => {
  const doc = openApiDocument('test') as Document;
  const fromDocument = Object.entries(doc.paths)
    .flatMap(([route, methods]) =>
      Object.entries(methods).map(
        ([method, op]) => `${method.toUpperCase()} ${route} ${/role: (\w+)/.exec(op.description ?? '')?.[1] ?? 'none'}`,
      ),
    )
    .concat('GET /api/openapi.json none')
    .sort();
  assert.deepEqual(fromDocument, await documentedOperations());
});
