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
    }, pino.destination({ dest: process.env.PARTFLOW_LOG_FILE || 2, sync: false, mkdir: true }));
  }
  return root;
}

/** A child logger with the partition context bound on every line. */
export function partitionLogger(ctx: { workflowId?: string; runId?: string; stage?: string; partition?: string }): Logger {
  return logger().child(ctx);
}
