import { durationMs, formatMs } from './duration';

/**
 * A setting partflow cannot use: an environment variable with a bad value, a Temporal profile or
 * config file that is not there. It is the person's to fix, not a failure of the work, so the CLI
 * prints it as one line and exits 2 (src/cli/exit.ts), as for a bad option.
 */
export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** `err` as a ConfigError (its message kept), for errors that only the setting they came from can cause. */
export function asConfigError(err: unknown): ConfigError {
  if (err instanceof ConfigError) return err;
  return new ConfigError(err instanceof Error ? err.message : String(err), { cause: err });
}

/**
 * An integer environment setting: `fallback` when unset or empty, otherwise a whole number from
 * `min` to `max` (Number("") is 0 and Number("2.5") a fraction: neither may slip through).
 */
export function envInteger(env: NodeJS.ProcessEnv, name: string, o: { min: number; max: number; fallback: number; what?: string }): number {
  const raw = env[name];
  const v = raw?.trim();
  if (v === undefined || v === '') return o.fallback;
  const n = Number(v);
  if (!/^[+-]?\d+$/.test(v) || !Number.isSafeInteger(n) || n < o.min || n > o.max) {
    throw new ConfigError(`${name} must be ${o.what ?? `an integer from ${o.min} to ${o.max}`}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/**
 * A yes/no environment setting: `fallback` when unset or empty, otherwise true, false, 1 or 0 (any
 * case). Anything else is refused rather than read as "no": `PARTFLOW_KAFKA_TLS=yes` meant
 * no TLS. `what` says what each value means (`true (…) or false (…)`).
 */
export function envBoolean(env: NodeJS.ProcessEnv, name: string, o: { fallback: boolean; what?: string }): boolean {
  const raw = env[name];
  const v = raw?.trim().toLowerCase();
  if (v === undefined || v === '') return o.fallback;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ConfigError(`${name} must be ${o.what ?? 'true, false, 1 or 0'}, got ${JSON.stringify(raw)}`);
}

/** 24 days: just below the longest timer node keeps (2^31-1 ms); a longer one fires at once. */
export const MAX_TIMER_MS = 24 * 86_400_000;

/**
 * A duration environment setting ("10m", "90s", "500ms", a number of seconds): `fallback` (ms)
 * when unset or empty, otherwise from `min` ms to `max` ms (a timer's limit by default: beyond it
 * the timer would fire at once).
 */
export function envDuration(env: NodeJS.ProcessEnv, name: string, o: { fallback: number; min?: number; max?: number; what?: string }): number {
  const raw = env[name];
  const v = raw?.trim();
  if (v === undefined || v === '') return o.fallback;
  const ms = durationMs(v);
  const max = o.max ?? MAX_TIMER_MS;
  if (ms !== undefined && ms > max) throw new ConfigError(`${name} must be at most ${formatMs(max)}, got ${JSON.stringify(raw)}`);
  if (ms === undefined || ms < (o.min ?? 0)) throw new ConfigError(`${name} must be ${o.what ?? 'a duration like "5s", "500ms" or "0"'}, got ${JSON.stringify(raw)}`);
  return ms;
}
