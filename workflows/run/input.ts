import { ApplicationFailure } from '@temporalio/workflow';
import { IngestInput, InvalidInputError, ResolvedIngest, resolveIngestInput } from '../../src/pipeline/input';

/** The ingest's input with defaults applied; bad input fails the run at once, not retried. */
export function resolveOrFail(input: IngestInput): ResolvedIngest {
  try {
    return resolveIngestInput(input);
  } catch (err) {
    if (err instanceof InvalidInputError) throw ApplicationFailure.nonRetryable(err.message, 'InvalidInput');
    throw err;
  }
}
