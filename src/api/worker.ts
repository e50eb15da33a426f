import { Config, loadConfig, MAX_WORKER_PROCESSES, workerProcesses } from '../config';
import { ConfigError } from '../config/errors';
import { createWorker as createPartflowWorker, MAX_WORKER_CONCURRENCY, WorkerOptions } from '../worker/worker';
import { runWorker as runPartflowWorker } from '../worker/run';
import { assertPipelineArray } from '../pipeline/definition-shape';
import { defaultSchemasPlaces, withSchemasDir } from './schemas-dirs';

export interface RunWorkerOptions extends Omit<WorkerOptions, 'config'> {
  /** Default: from the environment (loadConfig). */
  config?: Config;
  /** runWorker only: processes to run (see README, "One worker, every core"); default PARTFLOW_WORKER_PROCESSES, else 1. */
  processes?: number;
}

/**
 * Refuses a count the environment and the CLI would refuse, naming the option: a NaN from
 * `Number(process.env.X)` started a supervisor that forked nothing and exited 0, and 0 or 2.5
 * reached the SDK (or ran one process) without a word.
 */
function checkCount(caller: string, option: string, value: unknown, max: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new ConfigError(`${caller}: ${option} must be an integer from 1 to ${max}, got ${typeof value === 'number' ? String(value) : JSON.stringify(value) ?? String(value)}`);
  }
}

/**
 * Creates a worker for your pipelines (and the ingest workflows). Pipelines without a schemasDir
 * read the schemas/ folder of the project of the script node runs (the nearest package.json
 * above it), else ./schemas of the current directory. Call `worker.run()`, and close the
 * connection after it returns; or use runWorker. Every refusal (a bad setting, an invalid
 * pipeline, S3 refusing the worker) is a rejection, never a throw.
 */
export async function createWorker(opts: RunWorkerOptions): ReturnType<typeof createPartflowWorker> {
  // Elements that are no pipeline definition are named with the other invalid pipelines, in the
  // registry's PipelineDefinitionError.
  assertPipelineArray(opts.pipelines, 'createWorker');
  checkCount('createWorker', 'concurrency', opts.concurrency, MAX_WORKER_CONCURRENCY);
  return createPartflowWorker({ ...opts, config: opts.config ?? loadConfig(), pipelines: withSchemasDir(opts.pipelines, defaultSchemasPlaces()) });
}

/**
 * Creates a worker and runs it until SIGINT or SIGTERM, then lets running partitions finish or
 * checkpoint, and closes. With `processes` > 1 (default: PARTFLOW_WORKER_PROCESSES, else 1) this
 * process supervises that many copies of itself: your script is run again in each (with the same
 * arguments, as node's cluster does), so call runWorker the same way on every run.
 */
export async function runWorker(opts: RunWorkerOptions): Promise<void> {
  assertPipelineArray(opts.pipelines, 'runWorker');
  checkCount('runWorker', 'concurrency', opts.concurrency, MAX_WORKER_CONCURRENCY);
  checkCount('runWorker', 'processes', opts.processes, MAX_WORKER_PROCESSES);
  const config = opts.config ?? loadConfig();
  await runPartflowWorker({ ...opts, config, pipelines: withSchemasDir(opts.pipelines, defaultSchemasPlaces()), processes: opts.processes ?? workerProcesses(process.env, 1) });
}
