import { SettingError, type Setting } from './settings.js';

type Opts<T> = { help: string; fallback?: T | (() => T); required?: boolean };

export function text(env: string, opts: Opts<string>): Setting<string> {
  return { env, ...opts, parse: (raw) => raw };
}

export function optionalText(env: string, help: string): Setting<string | undefined> {
  return { env, help, parse: (raw) => raw };
}

/**
 * A secret: unset is undefined; it may come from `<env>_FILE`; its value is never shown in an
 * error or in --help (see Setting.secret). `parse` may check or convert it; its errors are
 * replaced by one that names the setting only.
 */
export function secret<T = string>(env: string, opts: { help: string; parse?: (raw: string) => T }): Setting<T | undefined> {
  return { env, help: opts.help, secret: true, parse: (raw) => (opts.parse ? opts.parse(raw) : (raw as T)) };
}

export function integer(env: string, opts: Opts<number> & { min?: number; max?: number }): Setting<number> {
  return {
    env,
    ...opts,
    parse: (raw, name) => {
      const n = Number(raw);
      const min = opts.min ?? Number.MIN_SAFE_INTEGER;
      const max = opts.max ?? Number.MAX_SAFE_INTEGER;
      if (!/^-?\d+$/.test(raw.trim()) || n < min || n > max)
        throw new SettingError(name, `expected a whole number from ${min} to ${max}, got "${raw}"`);
      return n;
    },
  };
}

const truthy = new Set(['true', '1', 'yes', 'on']);
const falsy = new Set(['false', '0', 'no', 'off']);

export function boolean(env: string, opts: Opts<boolean>): Setting<boolean> {
  return {
    env,
    ...opts,
    parse: (raw, name) => {
      const v = raw.trim().toLowerCase();
      if (truthy.has(v)) return true;
      if (falsy.has(v)) return false;
      throw new SettingError(name, `expected true or false, got "${raw}"`);
    },
  };
}

export function port(env: string, opts: Opts<number>): Setting<number> {
  return integer(env, { ...opts, min: 0, max: 65535 });
}

export function endpoint(env: string, opts: Opts<string>): Setting<string> {
  return {
    env,
    ...opts,
    parse: (raw, name) => {
      if (!/^tcp:\/\/[^\s:/]+:\d{1,5}$/.test(raw) && !/^tcp:\/\/\*:\d{1,5}$/.test(raw))
        throw new SettingError(name, `expected tcp://host:port, got "${raw}"`);
      return raw;
    },
  };
}

/** A URL of one of `schemes`; `secret` for one that may carry credentials (see Setting.secret). */
export function url(env: string, opts: Opts<string | undefined> & { schemes: string[]; secret?: boolean }): Setting<string | undefined> {
  return {
    env,
    secret: opts.secret,
    help: opts.help,
    fallback: opts.fallback,
    required: opts.required,
    parse: (raw, name) => {
      let u: URL;
      try {
        u = new URL(raw);
      } catch {
        throw new SettingError(name, `expected a URL, got "${raw}"`);
      }
      if (!opts.schemes.includes(u.protocol.slice(0, -1)))
        throw new SettingError(name, `expected a ${opts.schemes.join(' or ')} URL, got "${raw}"`);
      return raw;
    },
  };
}

export function list(env: string, opts: Opts<string[]>): Setting<string[]> {
  return {
    env,
    ...opts,
    parse: (raw) =>
      raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
  };
}

export function zkConnect(env: string, opts: Opts<string>): Setting<string> {
  return {
    env,
    ...opts,
    parse: (raw, name) => {
      if (raw === 'memory' || raw.startsWith('memory:')) return raw;
      if (!/^[^\s,]+:\d+(,[^\s,]+:\d+)*(\/\S*)?$/.test(raw)) throw new SettingError(name, `expected host:port[,host:port], got "${raw}"`);
      return raw;
    },
  };
}

export function zkRoot(env: string, opts: Opts<string>): Setting<string> {
  return {
    env,
    ...opts,
    parse: (raw, name) => {
      if (!/^(\/[\w.-]+)+$/.test(raw)) throw new SettingError(name, `expected a path like /clover, got "${raw}"`);
      return raw;
    },
  };
}
