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
  /**
   * A secret (a password, a key, a URL with credentials): it may also come from the file named
   * by `<env>_FILE` (Docker's and Kubernetes' secret files; one trailing newline dropped), and
   * no error message or help line ever shows its value.
   */
  secret?: boolean;
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
    const raw = env[setting.env] ?? file[setting.env] ?? (setting.secret ? readSecretFile(setting.env, env) : undefined);
    if (raw === undefined || raw === '') {
      if (setting.required) throw new SettingError(setting.env, `is required (${setting.help})`);
      out[key] = typeof setting.fallback === 'function' ? (setting.fallback as () => unknown)() : setting.fallback;
      continue;
    }
    try {
      out[key] = setting.parse(raw, setting.env);
    } catch (err) {
      if (!setting.secret) throw err;
      // A parser's message may quote the value it refused: for a secret, only a message without it.
      const said = err instanceof Error && !err.message.includes(raw) ? err.message.replace(`${setting.env}: `, '') : setting.help;
      throw new SettingError(setting.env, `is not valid: ${said}`);
    }
  }
  return out as SettingsOf<S>;
}

/** The secret in the file `<name>_FILE` names, if it is set; its contents are never in an error. */
function readSecretFile(name: string, env: Env): string | undefined {
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new SettingError(`${name}_FILE`, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
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
    const env = s.secret ? `${s.env} (or ${s.env}_FILE)` : s.env;
    return `  ${env.padEnd(26)} ${s.help} [default: ${s.secret && s.fallback ? '(set)' : def}]`;
  });
  return `Settings (environment variables, or a JSON file named by CLOVER_CONFIG):\n${rows.join('\n')}`;
}
