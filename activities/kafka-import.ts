import { DEFAULT_CODEC } from '../src/pipeline/dag';
import { RecordEncodeError } from '../src/io/avro-object-writer';
import { PartitionResult } from '../src/manifest/partition';
import { partitionKeys } from '../src/pipeline/layout';
import { Plan } from '../src/pipeline/plan';
import { RAW_STAGE } from '../src/pipeline/types';
import { openConsumer } from '../src/sources/kafka/client';
import { KAFKA_IMPORT_VERSION } from '../src/sources/kafka/plan';
import { isKafkaClientError, kafkaCause } from '../src/sources/kafka/errors';
import { OffsetsGoneError, readRange } from '../src/sources/kafka/reader';
import { valueDecoder, ValueError } from '../src/sources/kafka/values';
import { ActivityDeps, nonRetryable } from './deps';
import { PartitionRun } from './partition-run';

/** The reject's `record`: the message as it was, bytes in base64, so nothing is lost. */
function rawMessage(m: { offset: number; key: Buffer | null; value: Buffer | null }): string {
  return JSON.stringify({ offset: m.offset, key: m.key?.toString('base64') ?? null, value: m.value?.toString('base64') ?? null });
}

/**
 * Reads one planned offset range [start, end) of a topic partition into raw Avro. Checkpoints
 * hold the next offset to read, so a later attempt carries on inside the range; the output's
 * bytes depend on the records only, so a resumed attempt writes what a clean one would.
 */
export async function importKafkaPartition(deps: ActivityDeps, plan: Plan, index: number, fresh?: boolean): Promise<PartitionResult> {
  const k = plan.kafka!;
  const p = plan.partitions[index];
  const piece = p.pieces[0];
  const partition = Number(piece.key.slice(piece.key.lastIndexOf('/') + 1));
  const [start, end] = piece.range!;
  const schemaJson = plan.rawSchemas[0].json;
  const run = new PartitionRun(deps, plan, {
    stage: RAW_STAGE, codeVersion: KAFKA_IMPORT_VERSION, contentVersion: p.rawVersion, keys: partitionKeys(plan.targetPrefix, plan.dataset, RAW_STAGE, p.id, p.rawVersion),
    schemaRef: `kafka:${k.topic}`, schemaFingerprint: '', codec: DEFAULT_CODEC,
  }, index);
  const done = await run.committed(fresh);
  if (done) return done;

  const cp = run.previousCheckpoint();
  const resumed = cp !== null && (await run.resume(cp, schemaJson));
  if (!resumed) run.openOutput(schemaJson);
  const from = resumed ? cp!.position.blockOffset : start;
  const source = `kafka://${k.brokers.join(',')}/${k.topic}#${partition}`;
  // Gaps of the plan that end where this range starts (allowGaps), and any found while reading.
  const gaps: [number, number][] = plan.kafka!.gaps.filter((g) => g.partition === partition && g.to === start).map((g) => [g.from, g.to]);
  const decode = valueDecoder(k.value);
  const consumer = openConsumer(k.brokers);
  try {
    run.progress = { topic: k.topic, partition, start, end };
    for await (const { msg, next } of readRange(consumer, k.topic, partition, from, end, {
      onGap: k.allowGaps ? (a, b) => { gaps.push([a, b]); run.log.warn({ topic: k.topic, partition, from: a, to: b }, 'offsets no longer on the broker: skipped (allowGaps)'); } : undefined,
    })) {
      const turn = run.tick();
      if (turn) await turn;
      run.counts.in++;
      let value: unknown = null;
      let bad: string | undefined;
      if (msg.value !== null) {
        try {
          value = await decode(msg.value);
        } catch (err) {
          if (!(err instanceof ValueError)) throw err;
          bad = `topic ${k.topic} partition ${partition} offset ${msg.offset}: ${err.message}`;
        }
      }
      if (bad) await run.reject(source, msg.offset, bad, rawMessage(msg));
      else {
        try {
          const pending = run.out({ topic: k.topic, partition, offset: msg.offset, timestamp: msg.timestamp, key: msg.key, headers: msg.headers, value });
          if (pending) await pending;
        } catch (err) {
          if (!(err instanceof RecordEncodeError)) throw err;
          await run.reject(source, msg.offset, `topic ${k.topic} partition ${partition} offset ${msg.offset}: does not fit the raw schema: ${err.message}`, rawMessage(msg));
        }
      }
      if (run.partCompleted) await run.checkpoint({ input: 0, blockOffset: next, skip: 0, blockFirstIndex: 0 });
    }
  } catch (err) {
    let failure: unknown = err;
    if (err instanceof OffsetsGoneError) {
      failure = nonRetryable('OffsetsGone', `${run.where()}: ${err.message}. Records there were never ingested; set "allowGaps": true to skip them (the gap is then recorded in the partition manifest)`, err);
    } else if (isKafkaClientError(err)) failure = new Error(`reading topic ${k.topic} partition ${partition} from ${k.brokers.join(',')}: ${kafkaCause(err)}`, { cause: err });
    throw await run.failed(failure);
  } finally {
    await consumer.close().catch(() => undefined);
  }
  return run.commit([{ url: source, etag: '', size: end - start, range: [start, end], ...(gaps.length ? { gaps } : {}) }]);
}
