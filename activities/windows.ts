import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/common';

/**
 * Which of these window workflows are no longer running, and how they ended. A parent that
 * continued as new cannot await the windows an earlier run started (an external handle has no
 * result), so it asks here; a window that ended without its last report gives its partitions back.
 */
export function makeClosedWindowsActivity() {
  return async function closedWindows(req: { ids: string[] }): Promise<{ id: string; status: string }[]> {
    const { client } = Context.current();
    const out: { id: string; status: string }[] = [];
    for (const id of req.ids) {
      try {
        const d = await client.workflow.getHandle(id).describe();
        if (d.status.name !== 'RUNNING') out.push({ id, status: d.status.name });
      } catch (err) {
        // Gone past the namespace's retention: it ended long ago.
        if (err instanceof WorkflowNotFoundError) out.push({ id, status: 'NOT_FOUND' });
        else throw err;
      }
    }
    return out;
  };
}
