// Tests print only errors unless PARTFLOW_LOG_LEVEL says otherwise; the SDK's expected retry warnings are noise here.
process.env.PARTFLOW_LOG_LEVEL ??= 'error';

import { Client } from '@temporalio/client';
import { connectTemporal } from '../../src/temporal/connect';
import { Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import fs from 'node:fs';
import { Config, loadConfig } from '../../src/config';
import { ensureBucket } from '../../src/stack/embedded';
import { s3Client } from '../../src/storage/client';
import { PipelineDefinition } from '../../src/pipeline/types';
import { bundleWorkflows, createWorker } from '../../src/worker/worker';
import { STACK_FILE, TestStackInfo } from './stack-file';

export function stackInfo(): TestStackInfo {
  return JSON.parse(fs.readFileSync(STACK_FILE, 'utf8')) as TestStackInfo;
}

/** Configuration pointing at the test stack, with a task queue of the test's own. */
export function testConfig(taskQueue: string, bucket = 'partflow'): Config {
  const info = stackInfo();
  return loadConfig({
    TEMPORAL_ADDRESS: info.temporalAddress, AWS_ENDPOINT_URL_S3: info.s3Endpoint, PARTFLOW_TASK_QUEUE: taskQueue, PARTFLOW_BUCKET: bucket,
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

export interface TestHarness {
  cfg: Config;
  client: Client;
  worker: Worker;
  stop(): Promise<void>;
}

/** A running worker with the given pipelines on a fresh task queue, a client, and the bucket. */
export async function startHarness(name: string, pipelines: PipelineDefinition[], opts: { bucket?: string; concurrency?: number } = {}): Promise<TestHarness> {
  const cfg = testConfig(`test-${name}-${process.pid}`, opts.bucket);
  await ensureBucket(s3Client(cfg.s3), cfg.bucket);
  bundle ??= bundleWorkflows();
  const { worker, connection } = await createWorker({ config: cfg, pipelines, workflowBundle: await bundle, concurrency: opts.concurrency });
  const running = worker.run();
  const clientConn = await connectTemporal(cfg.temporal);
  const client = new Client({ connection: clientConn, namespace: cfg.temporalNamespace });
  return {
    cfg, client, worker,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
      await clientConn.close();
    },
  };
}
