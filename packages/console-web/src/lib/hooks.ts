import { useCallback, useEffect, useRef, useState, type SyntheticEvent } from 'react';

/**
 * True in the render in which `inputs` differ (Object.is, item by item) from the previous render's.
 * State that belongs to the old inputs is reset right there, during render, rather than by an
 * effect that would first paint the stale state (react.dev: "You Might Not Need an Effect",
 * adjusting state when a prop changes).
 */
export function useInputsChanged(inputs: readonly unknown[]): boolean {
  const [seen, setSeen] = useState(inputs);
  const changed = seen.length !== inputs.length || seen.some((v, i) => !Object.is(v, inputs[i]));
  if (changed) setSeen(inputs);
  return changed;
}

/** A ref holding the latest `value`, written after each render (never during one), for callbacks that keep their identity. */
export function useLatest<T>(value: T): { readonly current: T } {
  const ref = useRef(value);
  useEffect(() => {
    ref.current = value;
  });
  return ref;
}

export interface AsyncState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => Promise<void>;
  setData: (data: T) => void;
}

/**
 * Loads `fn()` when `deps` change; `reload()` loads again keeping the old data on screen.
 * With `pollMs`, reloads on that period (the dashboard's 5 s refresh).
 */
export function useAsync<T>(fn: () => Promise<T>, deps: readonly unknown[], pollMs?: number): AsyncState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const fnRef = useLatest(fn);
  const seq = useRef(0);
  const alive = useRef(true);
  const inputsChanged = useInputsChanged([...deps, pollMs]);
  if (inputsChanged) {
    setData(undefined);
    setLoading(true);
  }

  // Sets state only once the answer is in; `loading` is set by whoever starts it.
  const fetchValue = useCallback(async () => {
    const mine = ++seq.current;
    try {
      const value = await fnRef.current();
      if (alive.current && mine === seq.current) {
        setData(value);
        setError(null);
      }
    } catch (err) {
      if (alive.current && mine === seq.current) setError(err);
    } finally {
      if (alive.current && mine === seq.current) setLoading(false);
    }
  }, [fnRef]);

  const reload = useCallback(() => {
    setLoading(true);
    return fetchValue();
  }, [fetchValue]);

  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);

  useEffect(() => {
    void fetchValue(); // `loading` is already true: from the first render, or set when the inputs changed
    if (!pollMs) return;
    const timer = setInterval(() => void reload(), pollMs);
    return () => clearInterval(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the caller names the inputs (`deps`), as with useEffect itself
  }, [...deps, pollMs]);

  return { data, error, loading, reload, setData };
}

export interface PagedState<T> {
  items: T[];
  nextCursor: string | null;
  error: unknown;
  loading: boolean;
  loaded: boolean;
  loadMore: () => Promise<void>;
  /** Re-reads from the top, keeping as many rows as are on screen. */
  refresh: () => Promise<void>;
}

const PAGE = 50;

/** A cursor-paginated list (`{ items, nextCursor }`), reset when `deps` change. */
export function usePaged<T>(
  fetchPage: (cursor: string | null, limit: number) => Promise<{ items: T[]; nextCursor: string | null }>,
  deps: readonly unknown[],
  pollMs?: number,
): PagedState<T> {
  const [items, setItems] = useState<T[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [loaded, setLoaded] = useState(false);
  const fetchRef = useLatest(fetchPage);
  const inputsChanged = useInputsChanged([...deps, pollMs]);
  if (inputsChanged) {
    setItems([]);
    setLoaded(false);
    setLoading(true);
  }
  const seq = useRef(0);
  const count = useRef(0);
  const cursorRef = useRef<string | null>(null);

  // Sets state only once the page is in; `loading` is set by whoever starts it.
  const fetchMode = useCallback(
    async (mode: 'reset' | 'more' | 'refresh') => {
      const mine = ++seq.current;
      try {
        const limit = mode === 'refresh' ? Math.min(500, Math.max(PAGE, count.current)) : PAGE;
        const page = await fetchRef.current(mode === 'more' ? cursorRef.current : null, limit);
        if (mine !== seq.current) return;
        setItems((old) => {
          const next = mode === 'more' ? [...old, ...page.items] : page.items;
          count.current = next.length;
          return next;
        });
        cursorRef.current = page.nextCursor;
        setNextCursor(page.nextCursor);
        setError(null);
        setLoaded(true);
      } catch (err) {
        if (mine === seq.current) setError(err);
      } finally {
        if (mine === seq.current) setLoading(false);
      }
    },
    [fetchRef],
  );

  const load = useCallback(
    (mode: 'reset' | 'more' | 'refresh') => {
      setLoading(true);
      return fetchMode(mode);
    },
    [fetchMode],
  );

  useEffect(() => {
    count.current = 0;
    cursorRef.current = null;
    void fetchMode('reset'); // `loading` is already true: from the first render, or set when the inputs changed
    if (!pollMs) return;
    const timer = setInterval(() => void load('refresh'), pollMs);
    return () => clearInterval(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the caller names the inputs (`deps`), as with useEffect itself
  }, [...deps, pollMs]);

  return {
    items,
    nextCursor,
    error,
    loading,
    loaded,
    loadMore: useCallback(() => load('more'), [load]),
    refresh: useCallback(() => load('refresh'), [load]),
  };
}

/** `value`, once it has stopped changing for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [current, setCurrent] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setCurrent(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return current;
}

/** A clock that ticks every `ms`, for "x seconds ago" labels. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

export interface SubmitState {
  /** Runs the action once at a time (a second click while it runs does nothing); a form's submit event is kept from reloading the page. */
  submit: (e?: SyntheticEvent) => Promise<void>;
  busy: boolean;
  /** What the last run threw; null before a run and while one runs. */
  error: unknown;
}

/**
 * A dialog's save button: `action` runs on submit, `busy` while it does; a failure is kept in
 * `error` for the fields and banner to show, and the dialog stays open to be corrected.
 */
export function useSubmit(action: () => Promise<void>): SubmitState {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const actionRef = useLatest(action);
  const running = useRef(false);
  const submit = useCallback(
    async (e?: SyntheticEvent) => {
      e?.preventDefault();
      if (running.current) return;
      running.current = true;
      setBusy(true);
      setError(null);
      try {
        await actionRef.current();
      } catch (err) {
        setError(err);
      } finally {
        running.current = false;
        setBusy(false);
      }
    },
    [actionRef],
  );
  return { submit, busy, error };
}
