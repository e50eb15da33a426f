/** The CLI's commands. Registering them reads no configuration: a bad setting must not break `--help` and `--version`. */
import { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/paths';
import { DEFAULTS } from '../config';
import { registerUp } from './commands/up';
import { registerWorker } from './commands/worker';
import { registerIngest } from './commands/ingest';
import { registerStatus } from './commands/status';
import { registerRetry } from './commands/retry';
import { registerFinish } from './commands/finish';
import { registerCancel } from './commands/cancel';
import { registerPartitions } from './commands/partitions';
import { registerHistory } from './commands/history';
import { registerCat } from './commands/cat';
import { registerImport } from './commands/import';
import { registerUpload } from './commands/upload';
import { registerInspect } from './commands/inspect';
import { registerVerify } from './commands/verify';
import { registerGc } from './commands/gc';
import { registerSchemas } from './commands/schemas';
import { registerSnapshots } from './commands/snapshots';
import { registerChanges } from './commands/changes';
import { registerExport } from './commands/export';
import { registerDiff } from './commands/diff';
import { registerInit } from './commands/init';
import { registerSetup } from './commands/setup';
import { registerSchedule } from './commands/schedule';
import { logLevel } from '../log/level';
import { sayWhenS3IsSlow } from './slow-s3';

const ENV_HELP = `
Environment:
  TEMPORAL_ADDRESS       Temporal frontend host:port          (default ${DEFAULTS.temporalAddress})
  TEMPORAL_NAMESPACE     Temporal namespace                   (default ${DEFAULTS.temporalNamespace})
  TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_CLIENT_CERT_PATH,
  TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_NAME      TLS, mTLS and API keys, as the temporal CLI reads them
  TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE                      a profile of Temporal's TOML config file
  PARTFLOW_TASK_QUEUE    task queue of workers and ingests    (default ${DEFAULTS.taskQueue})
  AWS_ENDPOINT_URL_S3    S3 endpoint URL                      (default ${DEFAULTS.s3Endpoint}; with the chain, the profile's or AWS)
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION
                         static S3 credentials (embedded defaults, sent to this machine only: ${DEFAULTS.accessKeyId} / *** / ${DEFAULTS.s3Region})
  AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, container or web-identity credentials
                         the AWS SDK's own credential chain; also used for an endpoint elsewhere with no keys set
  PARTFLOW_S3_CREDENTIALS chain | embedded                    force the SDK's chain (an EC2 role) or the embedded keys
  PARTFLOW_METRICS_PORT  worker: serve Prometheus metrics on this port at /metrics
  PARTFLOW_BUCKET        bucket the embedded stack creates    (default ${DEFAULTS.bucket})
  PARTFLOW_LOG_LEVEL     log level: fatal, error, warn, info, debug, trace or silent (default info)
  PARTFLOW_KAFKA_*, PARTFLOW_WORKER_*, PARTFLOW_MAX_*, …      Kafka TLS and SASL, worker processes and slots, record and
                                                              block limits: every setting is in the README's Configuration

Exit codes: 0 done; 1 the command failed or was refused; 2 a setting to fix (the one line says
which). ingest, retry and finish --wait also exit 3 for a run that ended partial or waits for a
retry, and 4 for a run that completed but committed no snapshot.`;

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('partflow')
    .description('Durable batch data pipelines over immutable Avro objects in S3, run by Temporal.')
    .version((JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version, '-V, --version', 'print the partflow version')
    .addHelpText('after', ENV_HELP)
    .showHelpAfterError()
    // Read by every command that logs, even one that loads no other setting: checked before any runs.
    .hook('preAction', (_program, command) => {
      logLevel();
      sayWhenS3IsSlow(command.name());
    });

  registerUp(program);
  registerWorker(program);
  registerIngest(program);
  registerStatus(program);
  registerRetry(program);
  registerFinish(program);
  registerCancel(program);
  registerPartitions(program);
  registerHistory(program);
  registerCat(program);
  registerUpload(program);
  registerImport(program);
  registerInspect(program);
  registerVerify(program);
  registerGc(program);
  registerSchemas(program);
  registerSnapshots(program);
  registerChanges(program);
  registerExport(program);
  registerDiff(program);
  registerInit(program);
  registerSetup(program);
  registerSchedule(program);
  return program;
}
