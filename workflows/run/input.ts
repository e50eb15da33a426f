import { ApplicationFailure } from '@temporalio/workflow';
import { IngestInput, InvalidInputError, ResolvedIngest, resolveIngestInput } from '../../src/pipeline/input';
import type { IngestCarry, ScaleOptions } from './carry';
import { shown, unknownFields } from '../../src/log/shown';

/** The ingest's input with defaults applied; bad input fails the run at once, not retried. */
export function resolveOrFail(input: IngestInput): ResolvedIngest {
  try {
    return resolveIngestInput(input);
  } catch (err) {
    if (err instanceof InvalidInputError) throw ApplicationFailure.nonRetryable(err.message, 'InvalidInput');
    throw err;
  }
}

const SCALE_OPTIONS = ['continueAsNewEvents', 'windowActivities', 'summaryIdsMax', 'windowCheckSeconds'] as const;

/**
 * The ingest's optional second argument: what a run hands the next across continue-as-new, or
 * scale settings (tests and benchmarks). Anything else, from the Temporal UI or CLI, fails the run
 * at once: read as settings it would fail every workflow task and hang the run.
 */
export function carriedOrFail(carried: unknown): IngestCarry | ScaleOptions | undefined {
  if (carried === undefined || carried === null) return undefined;
  const refuse = (why: string) => ApplicationFailure.nonRetryable(`the ingest's second argument ${why}; it is for partflow's own continue-as-new and for tests: start an ingest with its input alone`, 'InvalidInput');
  if (typeof carried !== 'object' || Array.isArray(carried)) throw refuse(`must be an object, got ${shown(carried, 100)}`);
  if ('state' in carried) return carried as IngestCarry;
  const o = carried as Record<string, unknown>;
  const unknown = unknownFields(o, SCALE_OPTIONS);
  if (unknown) throw refuse(`has ${unknown} (fields: ${SCALE_OPTIONS.join(', ')})`);
  for (const k of SCALE_OPTIONS) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)) throw refuse(`has ${k} ${shown(v, 50)}, not a whole number of at least 1`);
  }
  return o as ScaleOptions;
}
