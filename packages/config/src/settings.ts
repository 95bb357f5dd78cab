import { readFileSync } from 'node:fs';

/** A setting the operator got wrong; the message names the variable and what it wants. */
export class SettingError extends Error {
  constructor(
    readonly setting: string,
    detail: string,
  ) {
    super(`${setting}: ${detail}`);
    this.name = 'SettingError';
  }
}

export interface Setting<T> {
  env: string;
  help: string;
  parse(raw: string, name: string): T;
  /** Used when the variable is unset or empty; a function is called at read time. */
  fallback?: T | (() => T);
  required?: boolean;
}

export type Spec = Record<string, Setting<unknown>>;
export type SettingsOf<S extends Spec> = { [K in keyof S]: S[K] extends Setting<infer T> ? T : never };
type Env = Record<string, string | undefined>;

/**
 * Reads every setting of the spec from the environment, or from the JSON file named by
 * CLOVER_CONFIG (keys are the variable names; the environment wins), and validates all of them
 * before anything starts, so a bad value fails fast with its name in the message.
 */
export function readSettings<S extends Spec>(spec: S, env: Env = process.env): SettingsOf<S> {
  const file = env.CLOVER_CONFIG ? readConfigFile(env.CLOVER_CONFIG) : {};
  const out: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(spec)) {
    const raw = env[setting.env] ?? file[setting.env];
    if (raw === undefined || raw === '') {
      if (setting.required) throw new SettingError(setting.env, `is required (${setting.help})`);
      out[key] = typeof setting.fallback === 'function' ? (setting.fallback as () => unknown)() : setting.fallback;
      continue;
    }
    out[key] = setting.parse(raw, setting.env);
  }
  return out as SettingsOf<S>;
}

function readConfigFile(file: string): Record<string, string> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SettingError('CLOVER_CONFIG', `cannot read ${file} as JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new SettingError('CLOVER_CONFIG', `${file} must hold a JSON object`);
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

export function helpFor(spec: Spec): string {
  const rows = Object.values(spec).map((s) => {
    const def =
      typeof s.fallback === 'function'
        ? '(computed)'
        : s.fallback === undefined
          ? s.required
            ? '(required)'
            : '(unset)'
          : JSON.stringify(s.fallback);
    return `  ${s.env.padEnd(26)} ${s.help} [default: ${def}]`;
  });
  return `Settings (environment variables, or a JSON file named by CLOVER_CONFIG):\n${rows.join('\n')}`;
}
