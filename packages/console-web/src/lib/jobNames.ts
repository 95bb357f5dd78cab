import { useEffect, useState } from 'react';
import { api } from '../api/client';

let cache: { at: number; names: Map<string, string> } | null = null;
let pending: Promise<Map<string, string>> | null = null;
const TTL_MS = 15_000;

async function load(): Promise<Map<string, string>> {
  if (cache && Date.now() - cache.at < TTL_MS) return cache.names;
  pending ??= api
    .jobs({ limit: 500 })
    .then((page) => {
      const names = new Map(page.items.map((j) => [j.id, j.name] as const));
      cache = { at: Date.now(), names };
      return names;
    })
    .finally(() => {
      pending = null;
    });
  return pending;
}

/** Job id → name for tables that only carry ids (runs, failures); ids stay when unknown. */
export function useJobNames(): Map<string, string> {
  const [names, setNames] = useState<Map<string, string>>(() => cache?.names ?? new Map());
  useEffect(() => {
    let alive = true;
    load().then(
      (n) => alive && setNames(n),
      () => {},
    );
    return () => {
      alive = false;
    };
  }, []);
  return names;
}

export function forgetJobNames(): void {
  cache = null;
}
