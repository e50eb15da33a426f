import { WorkflowHandle, WorkflowNotFoundError } from '@temporalio/client';
import type { Config } from '../config';

/**
 * Describes a run; one Temporal does not know is said with the namespace and address asked, and
 * the settings they came from (variables, or a profile of the config file), as a typo'd id and a
 * CLI pointed at another Temporal (or namespace) look the same from here.
 */
export async function describeRun(handle: WorkflowHandle, cfg: Pick<Config, 'temporal'>): ReturnType<WorkflowHandle['describe']> {
  try {
    return await handle.describe();
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    const t = cfg.temporal;
    throw new Error(`no workflow ${handle.workflowId} in namespace ${t.namespace} at ${t.address} (from ${t.source}): check the id, or point the CLI at the Temporal that runs it`);
  }
}
