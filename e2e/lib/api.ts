/**
 * fetch with a deadline: undici waits up to 5 minutes for the headers of a server that accepted
 * the connection and never answers (a process starting up or hung).
 */
async function fetchWithin(url: URL, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    if (err instanceof Error && err.name === 'TimeoutError')
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${init.method ?? 'GET'} ${url.href} to answer`);
    throw err;
  }
}

/** A console-api session the way the browser holds one: the session cookie plus the CSRF header. */
export class ConsoleSession {
  private cookies = new Map<string, string>();

  constructor(readonly baseUrl: string) {}

  static async login(baseUrl: string, username: string, password: string): Promise<ConsoleSession> {
    const session = new ConsoleSession(baseUrl);
    await session.call('POST', '/api/auth/login', { username, password });
    return session;
  }

  async call<T = unknown>(method: string, route: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const csrf = this.cookies.get('clover_csrf');
    if (csrf && method !== 'GET') headers['x-csrf-token'] = decodeURIComponent(csrf);
    const res = await fetchWithin(
      new URL(route, this.baseUrl),
      { method, headers, body: body === undefined ? undefined : JSON.stringify(body) },
      15_000,
    );
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${route} → ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

export async function waitForHealth(baseUrl: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      // Each try ends by the deadline too: one hung request must not outlast it.
      const res = await fetchWithin(new URL('/api/health', baseUrl), {}, Math.max(1, Math.min(5_000, deadline - Date.now())));
      await res.body?.cancel();
      if (res.ok) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`console at ${baseUrl} not healthy within ${timeoutMs} ms (${last})`);
}
