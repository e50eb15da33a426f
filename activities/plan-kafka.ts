import { ApplicationFailure, Context } from '@temporalio/activity';
import { ResolvedIngest } from '../src/pipeline/input';
import { datasetUrl } from '../src/pipeline/layout';
import { Plan, PlanSummary } from '../src/pipeline/plan';
import { RAW_STAGE } from '../src/pipeline/types';
import { logger } from '../src/log';
import { SchemaError } from '../src/avro/schemas';
import { KafkaGap, KafkaGapsSummary, summarizeGaps } from '../src/sources/kafka/gaps';
import { KafkaPlanError, planKafka } from '../src/sources/kafka/plan';
import { judgeValueSettings, recordedValue } from '../src/sources/kafka/dataset-value';
import { Published, readPublished } from '../src/sources/kafka/published';
import type { KafkaSource } from '../src/sources/kafka/source';
import { ActivityDeps, FailureTypes, nonRetryable } from './deps';
import { checkDatasetSource, emptyStages, Entry, idsAndNames, resolveLookups, writePlan } from './plan-dataset';

function kafkaGapsOf(gaps: KafkaGap[]): { gaps?: KafkaGapsSummary } {
  const s = summarizeGaps(gaps);
  return s ? { gaps: s } : {};
}

/**
 * The Kafka source with the value settings the dataset holds: an ingest that gave none takes
 * them (said in the log; the CLI says it before starting), one that gave others is refused
 * (src/sources/kafka/dataset-value.ts), whoever started it.
 */
function datasetValueOf(input: ResolvedIngest, published: Published | null, log: ReturnType<typeof logger>): KafkaSource {
  const src = input.kafka!;
  const verdict = judgeValueSettings(src, input.dataset, datasetUrl(input), recordedValue(published));
  if (verdict.refusal) throw nonRetryable('InvalidInput', verdict.refusal);
  if (!verdict.adopt) return src;
  log.warn({ dataset: datasetUrl(input), value: verdict.adopt.value }, verdict.adopt.note);
  return { ...src, value: verdict.adopt.value };
}

/** A kafka:// source: offset ranges instead of a listing (src/sources/kafka/plan.ts). */
export async function planKafkaIngest(deps: ActivityDeps, input: ResolvedIngest, entry: Entry, log: ReturnType<typeof logger>, maxIds?: number): Promise<PlanSummary> {
  const { def, info } = entry;
  const marker = await checkDatasetSource(deps, input, input.source, log);
  // What the dataset holds of the topic, read once: its value settings and its published ranges.
  const published = await readPublished(deps.s3, input.targetBucket, input.targetPrefix, input.dataset, input.kafka!.topic);
  const kafka = datasetValueOf(input, published, log);
  let planned;
  try {
    planned = await planKafka(deps.s3, kafka, { bucket: input.targetBucket, targetPrefix: input.targetPrefix, dataset: input.dataset, partitionRecords: input.partitionRecords, source: input.source }, published);
  } catch (err) {
    // Without the client's error as the cause: its "metadata failed 2 times." counts its own tries
    // within one attempt, and the failure that ends the run would say 2 after five attempts.
    // The message already names the root causes; the attempt is counted here instead.
    if (err instanceof KafkaPlanError && err.retryable) {
      throw ApplicationFailure.create({ type: err.type, message: `${err.message} (planning attempt ${Context.current().info.attempt})`, nonRetryable: false });
    }
    if (err instanceof KafkaPlanError) throw nonRetryable(err.type as keyof typeof FailureTypes, err.message, err);
    if (err instanceof SchemaError) throw nonRetryable('InvalidInput', `value.schema: ${err.message}`, err);
    throw err;
  }
  const { partitions, rawSchema } = planned;
  // Lookups have no source bucket to default to: they default to the target's.
  const lookups = await resolveLookups(deps, def, input, input.targetBucket);
  const body: Omit<Plan, 'id'> = {
    kind: 'partflow.plan', version: 2, pipeline: def.name, dataset: input.dataset, source: input.source,
    bucket: input.targetBucket, targetPrefix: input.targetPrefix, sourceBucket: '', sourcePrefix: '', format: 'kafka',
    partitionRecords: input.partitionRecords, partitionBytes: input.partitionBytes, splitBytes: input.splitBytes, pack: input.pack, params: input.params, lookups,
    input: info.input ?? null, rawSchemas: [{ json: rawSchema, fields: [] }], partitions, stages: info.stages, kafka: planned.info,
  };
  const key = await writePlan(deps, input, body, { url: input.source, marker, log });
  log.info({ plan: key, partitions: partitions.length, topic: planned.info.topic, starts: planned.info.starts, ends: planned.info.ends, gaps: planned.info.gaps }, 'planned Kafka ingest');
  return {
    planKey: key, bucket: input.targetBucket, dataset: input.dataset, targetPrefix: input.targetPrefix, format: 'kafka', partitions: partitions.length,
    ...idsAndNames(partitions, maxIds),
    sourceObjects: 0, scannedRecords: null, needsImport: true,
    stages: info.stages.map((s) => ({ name: s.name, after: s.after, version: s.version })),
    retry: info.retry, kafka: { topic: planned.info.topic, ...kafkaGapsOf(planned.info.gaps) },
    emptyStages: await emptyStages(deps, input, [RAW_STAGE, ...info.stages.map((s) => s.name)]),
  };
}
