import { Command } from 'commander';
import path from 'node:path';
import { loadConfig } from '../../config';
import { builtinPipelines } from '../../pipelines';
import { createWorker } from '../../worker/worker';
import type { PipelineDefinition } from '../../pipeline/types';
import { int } from '../args';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a worker for the built-in pipelines (and yours, with --pipelines) against TEMPORAL_ADDRESS')
    .option('--concurrency <n>', 'activities at once', int('concurrency', 1, 1000))
    .option('--pipelines <module>', 'a JS module exporting `pipelines` (an array of pipeline definitions) to register too (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action(async (opts: { concurrency?: number; pipelines: string[] }) => {
      const cfg = loadConfig();
      const extra = opts.pipelines.flatMap((m) => {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const mod = require(path.resolve(m)) as { pipelines?: PipelineDefinition[]; default?: PipelineDefinition[] };
        const list = mod.pipelines ?? mod.default;
        if (!Array.isArray(list)) throw new Error(`${m} does not export a \`pipelines\` array`);
        return list;
      });
      const { worker, connection, metrics } = await createWorker({ config: cfg, pipelines: [...builtinPipelines, ...extra], concurrency: opts.concurrency });
      process.on('SIGINT', () => worker.shutdown());
      process.on('SIGTERM', () => worker.shutdown());
      await worker.run();
      await connection.close();
      await metrics?.close();
    });
}
