import { Command } from 'commander';
import { loadConfig } from '../../config';
import { builtinPipelines } from '../../pipelines';
import { createWorker } from '../../worker/worker';
import { loadPipelinesModule } from '../../api/load-pipelines';
import { int } from '../args';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a worker for the built-in pipelines (and yours, with --pipelines) against TEMPORAL_ADDRESS')
    .option('--concurrency <n>', 'activities at once', int('concurrency', 1, 1000))
    .option('--pipelines <module>', 'a module (.js, or .ts compiled on the fly) exporting `pipelines`, an array of pipeline definitions, to register too; their schemas are read from its project\'s schemas/ unless they set schemasDir (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action(async (opts: { concurrency?: number; pipelines: string[] }) => {
      const cfg = loadConfig();
      const extra = opts.pipelines.flatMap((m) => loadPipelinesModule(m));
      const { worker, connection, metrics } = await createWorker({ config: cfg, pipelines: [...builtinPipelines, ...extra], concurrency: opts.concurrency });
      process.on('SIGINT', () => worker.shutdown());
      process.on('SIGTERM', () => worker.shutdown());
      await worker.run();
      await connection.close();
      await metrics?.close();
    });
}
