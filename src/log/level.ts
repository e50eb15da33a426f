import { ConfigError } from '../config/errors';

/** pino's levels, most severe first; silent logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/**
 * The log level: PARTFLOW_LOG_LEVEL, else LOG_LEVEL, else info. Checked like every other setting
 * (pino's own complaint, "default level:verbose must be included in custom levels", names neither
 * the variable nor the levels it takes), in any letter case.
 */
export function logLevel(env: NodeJS.ProcessEnv = process.env): LogLevelName {
  const name = env.PARTFLOW_LOG_LEVEL ? 'PARTFLOW_LOG_LEVEL' : env.LOG_LEVEL ? 'LOG_LEVEL' : undefined;
  if (!name) return 'info';
  const v = env[name]!.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(v)) throw new ConfigError(`${name} must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(env[name])}`);
  return v as LogLevelName;
}
