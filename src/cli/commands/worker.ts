import { Command } from 'commander';
import os from 'node:os';
import { MAX_WORKER_PROCESSES, workerProcesses } from '../../config';
import { cliConfig } from '../config';
import { exitIfUserCodeHolds, runWorker } from '../../worker/run';
import { MAX_WORKER_CONCURRENCY } from '../../worker/worker';
import { loadPipelineModules } from '../../api/load-pipelines';
import { int } from '../args';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a worker for the built-in pipelines (and yours, with --pipelines) against TEMPORAL_ADDRESS: one process per core by default, each with its own activities')
    .option('--processes <n>', `worker processes (one of them also runs the workflow tasks); default PARTFLOW_WORKER_PROCESSES, else one per core (${os.availableParallelism()} here)`, int('processes', 1, MAX_WORKER_PROCESSES))
    .option('--concurrency <n>', 'activities at once, per process (default PARTFLOW_WORKER_CONCURRENCY, else 8)', int('concurrency', 1, MAX_WORKER_CONCURRENCY))
    .option('--pipelines <module>', 'a module (.js, or .ts compiled on the fly) exporting `pipelines`, an array of pipeline definitions, to register too; their schemas are read from its project\'s schemas/ unless they set schemasDir (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action(async (opts: { processes?: number; concurrency?: number; pipelines: string[] }) => {
      const cfg = cliConfig();
      const processes = opts.processes ?? workerProcesses();
      const pipelines = loadPipelineModules(opts.pipelines);
      await runWorker({ config: cfg, pipelines, concurrency: opts.concurrency, processes });
      exitIfUserCodeHolds();
    });
}
