import { InvalidInputError, resolveIngestInput } from '../../src/pipeline/input';

/** What resolveIngestInput refuses in `raw`: its problems, or none. */
export function inputProblems(raw: unknown): string[] {
  try {
    resolveIngestInput(raw);
  } catch (err) {
    if (err instanceof InvalidInputError) return err.problems;
    throw err;
  }
  return [];
}
