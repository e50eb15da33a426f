/**
 * The ingest a workflow id belongs to. An ingest's windows are child workflows
 * `<ingest id>/w-000001` (a reset run's `<ingest id>/<its run id>/w-000001`) and an unwindowed
 * run's batches `<ingest id>/batch-00000`; an ingest's own id may hold "/" itself, so only those
 * endings are taken off.
 */
export function ingestOf(workflowId: string): string {
  return workflowId.replace(/\/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/)?w-\d+$|\/batch-[^/]+$/, '');
}
