import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { dataDirSettings, port, readSettings, secret, text } from '@clover/config';
import { ApiError } from '@clover/model/wire';
import type { Page } from '@clover/model/wire';

/** An answer from the console API that was not 2xx, with the API's own message: the one `ApiError` the console uses too. */
export { ApiError };

export interface ApiClientOptions {
  baseUrl: string;
  token: string;
}

/** Talks to console-api with a bearer token, so scripts need no session or CSRF dance. */
export class ApiClient {
  constructor(private readonly options: ApiClientOptions) {}

  async request<T>(method: string, route: string, body?: unknown): Promise<T> {
    const res = await fetch(new URL(route, this.options.baseUrl), {
      method,
      headers: {
        authorization: `Bearer ${this.options.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed: unknown = text ? safeJson(text) : undefined;
    if (!res.ok) throw ApiError.fromAnswer(res.status, res.statusText, parsed, res.headers.get('Retry-After'));
    return parsed as T;
  }

  /** Follows cursors until the listing ends or `max` items were read. */
  async listAll<T>(route: string, query: Record<string, string | undefined>, max = 10_000): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    do {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v);
      params.set('limit', String(Math.min(500, max - items.length)));
      if (cursor) params.set('cursor', cursor);
      const page = await this.request<Page<T>>('GET', `${route}?${params.toString()}`);
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor && items.length < max);
    return items;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}

export const tokenFileName = 'cli-token';

/** Where the CLI finds the console and its token: the environment, or the CLOVER_CONFIG file as every bin reads it. */
const cliSettings = {
  url: text('CLOVER_URL', { help: 'the console URL', fallback: '' }),
  httpPort: port('CLOVER_HTTP_PORT', { help: 'the console port on this host, when CLOVER_URL is unset', fallback: 8080 }),
  token: secret('CLOVER_TOKEN', { help: 'an API token (the console, or POST /api/auth/tokens)' }),
  ...dataDirSettings,
};

/** CLOVER_TOKEN wins; else the token `clover standalone` left in its data directory. */
export async function resolveApiClient(env: Record<string, string | undefined> = process.env): Promise<ApiClient> {
  const s = readSettings(cliSettings, env);
  const baseUrl = s.url || `http://127.0.0.1:${s.httpPort}`;
  let token = s.token;
  if (!token) {
    const file = path.join(path.resolve(s.dataDir), tokenFileName);
    token = (await readFile(file, 'utf8').catch(() => '')).trim();
    if (!token) {
      throw new Error(
        `no API token: set CLOVER_TOKEN (create one in the console or with POST /api/auth/tokens), or run 'clover standalone' here first (it writes ${file})`,
      );
    }
  }
  return new ApiClient({ baseUrl, token });
}
