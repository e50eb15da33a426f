/** How the CLI ends on an error: the one line it prints and its exit code. */
import { ConfigError } from '../config/errors';
import { loadTemporalConnection } from '../temporal/connection';
import { isNamespaceNotFound, namespaceNotFoundError } from '../temporal/connect';
import { explainError } from './print';

/** Exit codes besides 0: 1 a command that failed or was refused, 2 a setting to fix, 3 (ingest --wait and co.) a run that ended partial. */
export const EXIT_FAILED = 1;
export const EXIT_CONFIG = 2;

export function failureOf(e: unknown, env: NodeJS.ProcessEnv = process.env): { code: number; message: string } {
  if (e instanceof ConfigError) return { code: EXIT_CONFIG, message: e.message };
  if (isNamespaceNotFound(e)) {
    // The command connected with these settings already, so they load.
    try {
      return { code: EXIT_FAILED, message: namespaceNotFoundError(loadTemporalConnection(env)).message };
    } catch {
      // fall through to the error as it is
    }
  }
  return { code: EXIT_FAILED, message: e instanceof Error ? explainError(e) : String(e) };
}
