import fs from 'node:fs';
import path from 'node:path';
import pino, { Logger } from 'pino';
import { logLevel } from './level';

/**
 * One pino root logger per process. Secrets are redacted by path so that an accidental
 * `log.info({ cfg })` cannot leak them.
 */
let root: Logger | undefined;

export function logger(): Logger {
  if (!root) {
    root = pino({
      name: 'partflow',
      level: logLevel(),
      redact: {
        paths: [
          '*.secretAccessKey', '*.accessKeyId', '*.*.secretAccessKey', '*.*.accessKeyId',
          '*.sessionToken', '*.*.sessionToken', 'secretAccessKey', 'accessKeyId', 'sessionToken', '*.authorization', '*.Authorization',
        ],
        censor: '***',
      },
      base: { pid: process.pid },
    }, destination());
  }
  return root;
}

/**
 * Writes stay asynchronous, but a log file is opened here, not by sonic-boom in the background: a
 * process that exits at once (a worker process that cannot reach Temporal) ran pino's exit-time
 * flush before the file was open, which threw "sonic boom is not ready yet" and left it hanging.
 */
function destination(): ReturnType<typeof pino.destination> {
  const file = process.env.PARTFLOW_LOG_FILE;
  if (!file) return pino.destination({ dest: 2, sync: false });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return pino.destination({ dest: fs.openSync(file, 'a'), sync: false });
}

/** A child logger with the partition context bound on every line. */
export function partitionLogger(ctx: { workflowId?: string; runId?: string; stage?: string; partition?: string }): Logger {
  return logger().child(ctx);
}
