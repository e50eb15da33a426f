import { Command } from 'commander';
import { DEFAULTS } from '../config';
import { registerUp } from './commands/up';
import { registerWorker } from './commands/worker';
import { registerIngest } from './commands/ingest';
import { registerStatus } from './commands/status';
import { registerRetry } from './commands/retry';
import { registerPartitions } from './commands/partitions';
import { registerHistory } from './commands/history';
import { registerCat } from './commands/cat';
import { registerImport } from './commands/import';
import { registerInspect } from './commands/inspect';
import { registerVerify } from './commands/verify';
import { registerGc } from './commands/gc';
import { registerSchemas } from './commands/schemas';
import { registerSchedule } from './commands/schedule';

const ENV_HELP = `
Environment:
  TEMPORAL_ADDRESS       Temporal frontend host:port          (default ${DEFAULTS.temporalAddress})
  TEMPORAL_NAMESPACE     Temporal namespace                   (default ${DEFAULTS.temporalNamespace})
  PARTFLOW_TASK_QUEUE    task queue of workers and ingests    (default ${DEFAULTS.taskQueue})
  AWS_ENDPOINT_URL_S3    S3 endpoint URL                      (default ${DEFAULTS.s3Endpoint})
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION        (embedded defaults: ${DEFAULTS.accessKeyId} / *** / ${DEFAULTS.s3Region})
  PARTFLOW_BUCKET        bucket the embedded stack creates    (default ${DEFAULTS.bucket})
  PARTFLOW_LOG_LEVEL     pino log level                       (default info)`;

const program = new Command();
program
  .name('partflow')
  .description('Durable batch data pipelines over immutable Avro objects in S3, run by Temporal.')
  .addHelpText('after', ENV_HELP)
  .showHelpAfterError();

registerUp(program);
registerWorker(program);
registerIngest(program);
registerStatus(program);
registerRetry(program);
registerPartitions(program);
registerHistory(program);
registerCat(program);
registerImport(program);
registerInspect(program);
registerVerify(program);
registerGc(program);
registerSchemas(program);
registerSchedule(program);

program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`partflow: ${e.message}\n`);
  process.exit(1);
});
