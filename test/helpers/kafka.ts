import { Admin, type KafkaAdmin, Producer } from '../../src/sources/kafka/lib';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { KafkaBroker, startKafka } from '../../src/stack/kafka';
import { freePort } from '../../src/stack/process';

/** A broker of the test file's own (not in global setup: suites without Kafka do not pay for it). */
export async function startTestBroker(name: string): Promise<{ broker: KafkaBroker; admin: KafkaAdmin; dataDir: string; stop(): Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `partflow-kafka-${name}-`));
  const broker = await startKafka({ port: await freePort(), controllerPort: await freePort(), dataDir });
  const admin = new Admin({ clientId: 'partflow-test', bootstrapBrokers: [broker.bootstrap] });
  return {
    broker, admin, dataDir,
    async stop() {
      await admin.close().catch(() => undefined);
      await broker.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function createTopic(admin: KafkaAdmin, topic: string, partitions: number): Promise<void> {
  await admin.createTopics({ topics: [topic], partitions, replicas: 1 });
}

export interface TestMessage {
  partition: number;
  value: Buffer | string | null;
  key?: string;
  headers?: Record<string, string>;
}

/** Produces in batches; returns when every message is acknowledged. */
/**
 * The Map the Kafka library sees. It is loaded outside jest's sandbox (src/sources/kafka/lib.ts),
 * where a Map of the sandbox is not `instanceof Map`: it would read such headers as a plain
 * object, i.e. none.
 */
export const LibMap = vm.runInThisContext('Map') as MapConstructor;

export async function produce(bootstrap: string, topic: string, messages: TestMessage[], batch = 2000): Promise<void> {
  // Idempotent: a send retried under load must not write a message twice, or exact counts break.
  const producer = new Producer({ clientId: 'partflow-test-producer', bootstrapBrokers: [bootstrap], acks: -1, idempotent: true });
  try {
    for (let i = 0; i < messages.length; i += batch) {
      await producer.send({
        messages: messages.slice(i, i + batch).map((m) => ({
          topic, partition: m.partition, key: m.key === undefined ? undefined : Buffer.from(m.key),
          value: (m.value === null ? null : Buffer.isBuffer(m.value) ? m.value : Buffer.from(m.value)) as Buffer,
          headers: m.headers ? new LibMap(Object.entries(m.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])) : undefined,
        })),
      });
    }
  } finally {
    await producer.close();
  }
}

/** One transaction of a transactional producer, committed or aborted. */
export async function produceTransaction(bootstrap: string, topic: string, messages: TestMessage[], outcome: 'commit' | 'abort'): Promise<void> {
  const producer = new Producer({ clientId: 'partflow-test-tx', bootstrapBrokers: [bootstrap], idempotent: true, transactionalId: `partflow-test-${outcome}-${Date.now()}`, acks: -1 });
  try {
    const tx = await producer.beginTransaction();
    await tx.send({ messages: messages.map((m) => ({ topic, partition: m.partition, value: Buffer.from(m.value as string) })) });
    if (outcome === 'commit') await tx.commit();
    else await tx.abort();
  } finally {
    await producer.close();
  }
}
