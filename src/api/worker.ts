import fs from 'node:fs';
import path from 'node:path';
import { Config, loadConfig, workerProcesses } from '../config';
import type { PipelineDefinition } from '../pipeline/types';
import { createWorker as createPartflowWorker, WorkerOptions } from '../worker/worker';
import { runWorker as runPartflowWorker } from '../worker/run';

export interface RunWorkerOptions extends Omit<WorkerOptions, 'config'> {
  /** Default: from the environment (loadConfig). */
  config?: Config;
  /** runWorker only: processes to run (see README, "One worker, every core"); default PARTFLOW_WORKER_PROCESSES, else 1. */
  processes?: number;
}

/**
 * A pipeline without a schemasDir reads its schemas from `dir` (when it has a schemas/ folder):
 * a user's pipelines live in their project, not in partflow's package.
 */
export function withSchemasDir(pipelines: PipelineDefinition[], dir: string): PipelineDefinition[] {
  const schemas = path.join(dir, 'schemas');
  if (!fs.existsSync(schemas)) return pipelines;
  return pipelines.map((p) => (p.schemasDir ? p : { ...p, schemasDir: schemas }));
}

/**
 * Creates a worker for your pipelines (and the ingest workflows). Pipelines without a
 * schemasDir take ./schemas of the current directory. Call `worker.run()`, and close the
 * connection after it returns; or use runWorker.
 */
export function createWorker(opts: RunWorkerOptions): ReturnType<typeof createPartflowWorker> {
  return createPartflowWorker({ ...opts, config: opts.config ?? loadConfig(), pipelines: withSchemasDir(opts.pipelines, process.cwd()) });
}

/**
 * Creates a worker and runs it until SIGINT or SIGTERM, then lets running partitions finish or
 * checkpoint, and closes. With `processes` > 1 (default: PARTFLOW_WORKER_PROCESSES, else 1) this
 * process supervises that many copies of itself: your script is run again in each (with the same
 * arguments, as node's cluster does), so call runWorker the same way on every run.
 */
export async function runWorker(opts: RunWorkerOptions): Promise<void> {
  const config = opts.config ?? loadConfig();
  await runPartflowWorker({ ...opts, config, pipelines: withSchemasDir(opts.pipelines, process.cwd()), processes: opts.processes ?? workerProcesses(process.env, 1) });
}
