import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Config, DEFAULTS, loadConfig } from '../config';
import { freePort } from '../stack/process';
import { startEmbeddedStack } from '../stack/embedded';
import { s3Client } from '../storage/client';
import type { S3Client } from '@aws-sdk/client-s3';

export interface TestStack {
  /** Configuration pointing at the stack (pass it to createWorker and connect). */
  config: Config;
  /** The same as environment variables, for a worker or CLI in a child process. */
  env: Record<string, string>;
  /** An S3 client for the stack's versitygw, to put sources and read outputs. */
  s3: S3Client;
  /** Where the servers keep their state and logs. */
  dataDir: string;
  stop(): Promise<void>;
}

export interface StartStackOptions {
  /** Bucket to create (default "partflow"). */
  bucket?: string;
  /** Task queue the config names (default "partflow"). */
  taskQueue?: string;
  /** State directory; default a fresh temporary one, removed by stop(). */
  dataDir?: string;
}

/**
 * Starts the embedded stack (Temporal dev server and versitygw, installed by
 * `npx partflow setup`) on free local ports, for integration tests. Call stop() when done
 * (e.g. in afterAll): it ends both servers.
 */
export async function startStack(opts: StartStackOptions = {}): Promise<TestStack> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'partflow-stack-'));
  const [temporalPort, uiPort, s3Port] = [await freePort(), await freePort(), await freePort()];
  const env: Record<string, string> = {
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${s3Port}`,
    PARTFLOW_BUCKET: opts.bucket ?? 'partflow',
    PARTFLOW_TASK_QUEUE: opts.taskQueue ?? 'partflow',
  };
  const config = loadConfig(env);
  // Credentials are the embedded defaults: give them to child processes too.
  env.AWS_ACCESS_KEY_ID = config.s3.accessKeyId ?? DEFAULTS.accessKeyId;
  env.AWS_SECRET_ACCESS_KEY = config.s3.secretAccessKey ?? DEFAULTS.secretAccessKey;
  env.AWS_REGION = config.s3.region ?? DEFAULTS.s3Region;
  const stack = await startEmbeddedStack(config, { dataDir, uiPort });
  return {
    config, env, s3: s3Client(config.s3), dataDir,
    async stop() {
      await stack.stop();
      if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
