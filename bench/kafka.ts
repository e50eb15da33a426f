/**
 * Kafka source benchmark (`npm run bench -- kafka`): messages per second from a local broker
 * into committed raw Avro through a real ingest (plan, import with read_committed, commit of
 * every partition and of the offsets), against a plain loop over the same client's fetches that
 * only counts what it reads. Both read the same 3-partition topic.
 */
import { Client } from '@temporalio/client';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Config } from '../src/config';
import { IngestSummary } from '../src/manifest/run';
import { builtinPipelines } from '../src/pipelines';
import { openConsumer } from '../src/sources/kafka/client';
import { Admin, Producer } from '../src/sources/kafka/lib';
import { readRange } from '../src/sources/kafka/reader';
import { startKafka } from '../src/stack/kafka';
import { freePort } from '../src/stack/process';
import { createWorker } from '../src/worker/worker';

const MESSAGES = 300_000;
const PARTITIONS = 3;

export async function kafkaBench(cfg: Config, client: Client): Promise<Record<string, number>> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-bench-kafka-'));
  const broker = await startKafka({ port: await freePort(), controllerPort: await freePort(), dataDir });
  const { worker, connection } = await createWorker({ config: cfg, pipelines: builtinPipelines });
  const running = worker.run();
  try {
    const admin = new Admin({ clientId: 'bench', bootstrapBrokers: [broker.bootstrap] });
    await admin.createTopics({ topics: ['bench'], partitions: PARTITIONS, replicas: 1 });
    await admin.close();
    const producer = new Producer({ clientId: 'bench', bootstrapBrokers: [broker.bootstrap], acks: -1 });
    const t0 = Date.now();
    for (let i = 0; i < MESSAGES; i += 5000) {
      await producer.send({
        messages: Array.from({ length: 5000 }, (_, j) => ({
          topic: 'bench', partition: (i + j) % PARTITIONS, key: Buffer.from(`k${i + j}`),
          value: Buffer.from(JSON.stringify({ id: i + j, user: `u${(i + j) % 997}`, amount: ((i + j) % 10007) / 100, note: 'x'.repeat(40) })),
        })),
      });
    }
    await producer.close();
    const produceS = (Date.now() - t0) / 1000;

    // A plain loop over the client's fetches: no decoding, no Avro, no S3.
    const consumer = openConsumer([broker.bootstrap]);
    const ends = (await consumer.listOffsets({ topics: ['bench'], timestamp: -1n, isolationLevel: 1 })).get('bench')!;
    const t1 = Date.now();
    let plain = 0;
    for (let p = 0; p < PARTITIONS; p++) for await (const _ of readRange(consumer, 'bench', p, 0, Number(ends[p]))) plain++;
    const plainS = (Date.now() - t1) / 1000;
    await consumer.close();

    const t2 = Date.now();
    const summary = (await client.workflow.execute('ingest', {
      taskQueue: cfg.taskQueue, workflowId: `bench-kafka-${Date.now()}`,
      args: [{ pipeline: 'copy', source: `kafka://${broker.bootstrap}/bench`, target: `s3://${cfg.bucket}/bench-kafka/`, partitionRecords: 50_000, maxParallel: 4 }],
    })) as IngestSummary;
    const ingestS = (Date.now() - t2) / 1000;
    if (summary.stages.raw.records.out !== MESSAGES || plain !== MESSAGES) throw new Error(`bench read ${plain} (plain) and ${summary.stages.raw.records.out} (ingest) of ${MESSAGES}`);
    const r = {
      messages: MESSAGES, partitions: summary.partitions, produceSeconds: produceS,
      plainLoopSeconds: plainS, plainLoopMsgsPerSec: Math.round(MESSAGES / plainS),
      ingestSeconds: ingestS, ingestMsgsPerSec: Math.round(MESSAGES / ingestS),
    };
    console.log('\nkafka: %d messages over %d partitions (JSON values, ~90 B)', MESSAGES, PARTITIONS);
    console.log('  plain fetch loop (same client, count only):      %s s  %s msgs/s', plainS.toFixed(2), r.plainLoopMsgsPerSec);
    console.log('  ingest into committed raw Avro (+ copy stage):   %s s  %s msgs/s  (%d partitions)', ingestS.toFixed(2), r.ingestMsgsPerSec, summary.partitions);
    return r;
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await broker.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
