import { DEFAULT_CODEC } from '../src/pipeline/dag';
import { RecordEncodeError } from '../src/io/avro-object-writer';
import { PartitionResult } from '../src/manifest/partition';
import { partitionKeys } from '../src/pipeline/layout';
import { Plan } from '../src/pipeline/plan';
import { RAW_STAGE } from '../src/pipeline/types';
import { openConsumer } from '../src/sources/kafka/client';
import { KAFKA_IMPORT_VERSION } from '../src/sources/kafka/plan';
import { isKafkaClientError, kafkaCause } from '../src/sources/kafka/errors';
import { emptyTally, OffsetsGoneError, OffsetTally, readRange, TopicRecreatedError } from '../src/sources/kafka/reader';
import { messageBytes, messageLimit, rawHeaders, rejectRecord } from '../src/sources/kafka/message';
import { RegistryMisconfiguredError, valueDecoder, ValueError } from '../src/sources/kafka/values';
import { ZeroByteBudget } from '../src/sources/kafka/zero-byte-budget';
import { ActivityDeps, nonRetryable } from './deps';
import { PartitionRun } from './partition-run';

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
  // What reading found beside records: kept in checkpoints, so that a resumed attempt still
  // records the gaps and offset counts of the part an earlier attempt read.
  const state = resumed ? (cp!.source as KafkaReadState | undefined) : { gaps: [], offsets: emptyTally() };
  // A checkpoint from before these were kept: the manifest then leaves out what it cannot know.
  const known = state !== undefined;
  const found: KafkaReadState = { gaps: [...(state?.gaps ?? [])], offsets: { ...(state?.offsets ?? emptyTally()) } };
  // Gaps of the plan that end where this range starts (allowGaps, before the range), then those found while reading (inside it).
  const gaps = (): [number, number][] => [...plan.kafka!.gaps.filter((g) => g.partition === partition && g.to === start).map((g): [number, number] => [g.from, g.to]), ...found.gaps];
  // The output's zero-byte array items so far, also those of earlier attempts: the budget is per object.
  const budget = new ZeroByteBudget(resumed ? cp!.position.zeroByteItems ?? 0 : 0);
  const decode = valueDecoder(k.value, budget);
  const limit = messageLimit();
  const consumer = openConsumer(k.brokers);
  try {
    run.progress = { topic: k.topic, partition, start, end };
    for await (const { msg, next } of readRange(consumer, k.topic, partition, from, end, {
      tally: found.offsets, topicId: k.topicId,
      onGap: k.allowGaps ? (a, b) => { found.gaps.push([a, b]); run.log.warn({ topic: k.topic, partition, from: a, to: b }, 'offsets no longer on the broker: skipped (allowGaps)'); } : undefined,
    })) {
      const turn = run.tick();
      if (turn) await turn;
      run.counts.in++;
      let value: unknown = null;
      let headers: ReturnType<typeof rawHeaders> = [];
      let bad: string | undefined;
      const size = messageBytes(msg);
      try {
        // Never into the output: its block would be more than partflow's reader accepts.
        if (size > limit) throw new ValueError(`key, value and headers are ${size} bytes, over the limit of ${limit} bytes (PARTFLOW_MAX_RECORD_BYTES, and below PARTFLOW_MAX_BLOCK_BYTES)`);
        headers = rawHeaders(msg);
        if (msg.value !== null) value = await decode(msg.value);
      } catch (err) {
        if (!(err instanceof ValueError)) throw err;
        bad = `topic ${k.topic} partition ${partition} offset ${msg.offset}: ${err.message}`;
      }
      if (bad) await run.reject(source, msg.offset, bad, rejectRecord(msg, limit));
      else {
        try {
          const pending = run.out({ topic: k.topic, partition, offset: msg.offset, timestamp: msg.timestamp, key: msg.key, headers, value });
          if (pending) await pending;
        } catch (err) {
          if (!(err instanceof RecordEncodeError)) throw err;
          await run.reject(source, msg.offset, `topic ${k.topic} partition ${partition} offset ${msg.offset}: does not fit the raw schema: ${err.message}`, rejectRecord(msg, limit));
        }
      }
      if (run.partCompleted) await run.checkpoint({ input: 0, blockOffset: next, skip: 0, blockFirstIndex: 0, zeroByteItems: budget.spent }, { gaps: [...found.gaps], offsets: { ...found.offsets } });
    }
  } catch (err) {
    let failure: unknown = err;
    if (err instanceof OffsetsGoneError) {
      failure = nonRetryable('OffsetsGone', `${run.where()}: ${err.message}. Records there were never ingested; set "allowGaps": true to skip them (the gap is then recorded in the partition manifest)`, err);
    } else if (err instanceof TopicRecreatedError) {
      failure = nonRetryable('TopicRecreated', `${run.where()}: ${err.message}. Nothing of this range was committed. Finish this run, then ingest the new topic into a new dataset ("dataset": "${k.topic}-${err.currentId.slice(0, 8)}", or --dataset)`, err);
    } else if (err instanceof RegistryMisconfiguredError) {
      // A wrong registry stays wrong: retrying, or rejecting every message, would not help.
      failure = nonRetryable('InvalidInput', `${run.where()}: topic ${k.topic} partition ${partition}: ${err.message}`, err);
    } else if (isKafkaClientError(err)) failure = new Error(`reading topic ${k.topic} partition ${partition} from ${k.brokers.join(',')}: ${kafkaCause(err)}`, { cause: err });
    throw await run.failed(failure);
  } finally {
    await consumer.close().catch(() => undefined);
  }
  const g = gaps();
  return run.commit([{ url: source, etag: '', size: end - start, range: [start, end], ...(g.length ? { gaps: g } : {}) }], known ? { offsets: found.offsets } : {});
}

/** Checkpointed with the position: gaps found inside the range so far, and the offsets passed over without a record. */
interface KafkaReadState {
  gaps: [number, number][];
  offsets: OffsetTally;
}
