/** How the CLI ends on an error: the one line it prints and its exit code. */
import { ConfigError } from '../config/errors';
import { loadTemporalConnection } from '../temporal/connection';
import { isNamespaceNotFound, namespaceNotFoundError } from '../temporal/connect';
import { explainError } from './print';
import { withoutEmptyResolutionNote } from '../temporal/unreachable';

/**
 * Exit codes besides 0: 1 a command that failed or was refused, 2 a setting to fix; for a run
 * waited on (ingest, retry, finish --wait), 3 it ended partial or waits for a retry, 4 it
 * completed but committed no snapshot (snapshotError), so consumers do not see it.
 */
export const EXIT_FAILED = 1;
export const EXIT_CONFIG = 2;
export const EXIT_PARTIAL = 3;
export const EXIT_NO_SNAPSHOT = 4;

/** How a command that waited on a run ends: 0 only for a run that completed and committed its snapshot. */
export function runExitCode(r: { status: string; snapshotError?: string }): number {
  if (r.status !== 'completed') return EXIT_PARTIAL;
  return r.snapshotError ? EXIT_NO_SNAPSHOT : 0;
}

/** For --help: the exit codes of the commands that wait on a run. */
export const RUN_EXIT_HELP = `
Exit codes (with --wait): 0 the run completed and committed its snapshot; 3 it ended partial or
waits for a retry (the failed partitions are printed); 4 it completed but committed no snapshot
(the cause is printed after "no snapshot:"); 1 it failed or was refused; 2 a setting to fix.
Temporal out of reach is none of these: the run goes on, and so does the wait (with backoff).`;

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
  return { code: EXIT_FAILED, message: withoutEmptyResolutionNote(e instanceof Error ? explainError(e) : String(e)) };
}
