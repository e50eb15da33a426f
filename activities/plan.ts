import { KafkaGap, KafkaGapsSummary, summarizeGaps } from '../src/sources/kafka/gaps';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import { formatOf, isIgnoredKey } from '../src/formats/detect';
import { ResolvedIngest, SourceFormat } from '../src/pipeline/input';
import { datasetUrl, markerKey, planKey, stagePrefix } from '../src/pipeline/layout';
import { datasetMarker, datasetOwnership, judgeSource } from '../src/pipeline/dataset-source';
import { enclosingDataset, nestedDatasetRefusal } from '../src/pipeline/nested-dataset';
import { ListedObject, partitionListing, PartitioningOptions } from '../src/pipeline/partitioning';
import { listSource } from '../src/pipeline/source-listing';
import { EMPTY_KEYS_IN_PLAN, EMPTY_URLS_IN_SUMMARY, Plan, PlannedPartition, PlanSummary, RawSchema } from '../src/pipeline/plan';
import { partitionBytes, smallMask } from '../src/pipeline/small-partitions';
import { importVersion, sourceVersion } from '../src/pipeline/versions';
import { headObject, ObjectNotFoundError, prefixIsEmpty, putIfAbsent, PreconditionFailedError } from '../src/storage/objects';
import { formatS3Url, parseS3Url } from '../src/storage/s3url';
import { logger } from '../src/log';
import { SchemaError } from '../src/avro/schemas';
import { KafkaPlanError, planKafka } from '../src/sources/kafka/plan';
import { judgeValueSettings, recordedValue } from '../src/sources/kafka/dataset-value';
import { Published, readPublished } from '../src/sources/kafka/published';
import type { KafkaSource } from '../src/sources/kafka/source';
import { RAW_STAGE } from '../src/pipeline/types';
import { ActivityDeps, FailureTypes, loadPlan, nonRetryable, storageRefusal } from './deps';
import { scanSources, someUrls, Unreadable, unreadablePartitions, withoutOutputs } from './plan-sources';

function sha(x: unknown, n = 12): string {
  return createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, n);
}

// Names travel to the workflow for activity summaries only while they stay a small payload.
const MAX_NAMES_BYTES = 256 * 1024;

type Entry = NonNullable<ReturnType<ActivityDeps['registry']['get']>>;

/** The pipeline's lookup tables, at their default place in `bucket` or where params put them. */
async function resolveLookups(deps: ActivityDeps, def: Entry['def'], input: ResolvedIngest, bucket: string): Promise<Plan['lookups']> {
  const lookups: Plan['lookups'] = {};
  for (const [name, l] of Object.entries(def.lookups ?? {})) {
    const override = input.params[`lookup.${name}`];
    const loc = override ? parseS3Url(override) : { bucket, key: l.defaultKey };
    try {
      const head = await headObject(deps.s3, loc.bucket, loc.key);
      lookups[name] = { bucket: loc.bucket, key: loc.key, etag: head.etag, format: l.format };
    } catch (err) {
      if (err instanceof ObjectNotFoundError) {
        throw nonRetryable('InputMissing', `lookup "${name}" of pipeline "${def.name}" not found at ${formatS3Url(loc)} (set params["lookup.${name}"] to its s3:// URL)`);
      }
      throw err;
    }
  }
  return lookups;
}

/** A misspelt lookup.<name> would leave the table at its default place with no word said. */
function checkLookupParams(def: Entry['def'], input: ResolvedIngest): void {
  const known = Object.keys(def.lookups ?? {});
  const unknown = Object.keys(input.params).filter((k) => k.startsWith('lookup.') && !known.includes(k.slice('lookup.'.length)));
  if (unknown.length) {
    throw nonRetryable('InvalidInput', `params ${unknown.map((k) => `"${k}"`).join(', ')}: pipeline "${def.name}" has ${known.length ? `the lookups ${known.join(', ')} (set params["lookup.<name>"] to move one)` : 'no lookup tables'}`);
  }
}

/**
 * Refuses an ingest whose dataset name was defaulted from its source into a dataset another
 * source created (src/pipeline/dataset-source.ts), before the source is scanned or anything is
 * written. `source` is the source as planning resolved it. Returns whether the marker exists.
 */
async function checkDatasetSource(deps: ActivityDeps, input: ResolvedIngest, source: string, log: ReturnType<typeof logger>): Promise<boolean> {
  const owner = await datasetOwnership(deps.s3, input.targetBucket, input.targetPrefix, input.dataset);
  const url = datasetUrl(input);
  const verdict = judgeSource(input, source, owner.recorded, url, true);
  if (verdict.refusal) throw nonRetryable('DatasetConflict', verdict.refusal);
  if (verdict.note) log.warn({ dataset: url, source, recorded: owner.recorded?.source }, verdict.note);
  // Only a dataset about to be created: one made inside another before this check keeps working.
  const outer = owner.marker ? null : await enclosingDataset(deps.s3, input.targetBucket, input.targetPrefix, input.dataset);
  if (outer !== null) throw nonRetryable('DatasetConflict', nestedDatasetRefusal(input.targetBucket, input.targetPrefix, input.dataset, outer));
  return owner.marker;
}

/**
 * Writes the dataset marker (unless it exists) and the plan, both create-only; returns the
 * plan's key. The marker records the source that created the dataset; a marker that another
 * ingest wrote since the check is checked again, as that ingest may have read another source.
 */
async function writePlan(deps: ActivityDeps, input: ResolvedIngest, body: Omit<Plan, 'id'>, source: { url: string; marker: boolean; log: ReturnType<typeof logger> }): Promise<string> {
  const id = sha(body, 16);
  const key = planKey(input.targetPrefix, input.dataset, id);
  if (!source.marker) {
    try {
      await putIfAbsent(deps.s3, input.targetBucket, markerKey(input.targetPrefix, input.dataset), JSON.stringify(datasetMarker(input.dataset, source.url)), 'application/json');
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      await checkDatasetSource(deps, input, source.url, source.log);
    }
  }
  try {
    await putIfAbsent(deps.s3, input.targetBucket, key, JSON.stringify({ ...body, id }), 'application/json');
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err; // already there: same content
  }
  return key;
}

/**
 * The stages (raw too, when sources are imported) under whose prefix the target holds nothing
 * yet: one LIST of one key each. It is not part of the plan (whose id is its content) but of
 * the summary the workflow runs from.
 */
async function emptyStages(deps: ActivityDeps, input: ResolvedIngest, stages: string[]): Promise<string[]> {
  const empty = await Promise.all(stages.map((s) => prefixIsEmpty(deps.s3, input.targetBucket, stagePrefix(input.targetPrefix, input.dataset, s))));
  return stages.filter((_, k) => empty[k]);
}

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
async function planKafkaIngest(deps: ActivityDeps, input: ResolvedIngest, entry: Entry, log: ReturnType<typeof logger>, maxIds?: number): Promise<PlanSummary> {
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
  const names = partitions.map((p) => p.name);
  const byIndex = maxIds !== undefined && partitions.length > maxIds;
  return {
    planKey: key, bucket: input.targetBucket, dataset: input.dataset, targetPrefix: input.targetPrefix, format: 'kafka', partitions: partitions.length,
    ids: byIndex ? [] : partitions.map((p) => p.id), names: !byIndex && names.reduce((n, s) => n + s.length + 3, 0) <= MAX_NAMES_BYTES ? names : null,
    sourceObjects: 0, scannedRecords: null, needsImport: true,
    stages: info.stages.map((s) => ({ name: s.name, after: s.after, version: s.version })),
    retry: info.retry, kafka: { topic: planned.info.topic, ...kafkaGapsOf(planned.info.gaps) },
    emptyStages: await emptyStages(deps, input, [RAW_STAGE, ...info.stages.map((s) => s.name)]),
  };
}

/**
 * Lists the source, scans flat files for record boundaries, partitions the listing into stable,
 * content-addressed pieces, and writes the plan. The same source always gives the same plan.
 */
export function makePlanActivity(deps: ActivityDeps) {
  const plan = makePlan(deps);
  return async function planIngest(input: ResolvedIngest, opts: { maxIds?: number } = {}): Promise<PlanSummary> {
    try {
      return await plan(input, opts);
    } catch (err) {
      throw storageRefusal(err, `planning ${input.kafka ? input.source : `${input.source} into ${formatS3Url({ bucket: input.targetBucket, key: input.targetPrefix })}`}`, deps.config.s3.endpoint) ?? err;
    }
  };
}

function makePlan(deps: ActivityDeps) {
  return async (input: ResolvedIngest, opts: { maxIds?: number }): Promise<PlanSummary> => {
    const log = logger().child({ activity: 'planIngest', workflowId: Context.current().info.workflowExecution?.workflowId });
    const entry = deps.registry.get(input.pipeline);
    if (!entry) {
      // Workers that share a task queue share its tasks: one that lacks the pipeline takes its plan too.
      throw nonRetryable('UnknownPipeline', `unknown pipeline "${input.pipeline}" (registered on this worker: ${deps.registry.names().join(', ')}): every worker polling task queue "${Context.current().info.taskQueue}" must register it `
        + '(`partflow up --pipelines <module>`, `partflow worker --pipelines <module>`), or run its workers on a task queue of their own (PARTFLOW_TASK_QUEUE)');
    }
    checkLookupParams(entry.def, input);
    if (input.kafka) return planKafkaIngest(deps, input, entry, log, opts.maxIds);
    const { def, info } = entry;

    // An exact object key is a source of one object; otherwise everything under the prefix.
    const { listed, prefix, source } = await listSource(deps.s3, input.sourceBucket, input.sourcePrefix);
    Context.current().heartbeat({ listed: listed.length });
    const objects = withoutOutputs(listed, input, prefix).filter((o) => !isIgnoredKey(o.key, prefix));
    // Before the dataset's owner is checked: a typo'd source is empty, and its refusal would
    // send the person to rename the dataset instead (the client's check asks in this order too).
    if (objects.length === 0) throw nonRetryable('SourceEmpty', `no source objects under ${input.source}`);
    const marker = await checkDatasetSource(deps, input, source, log);

    let format: SourceFormat;
    if (input.format) format = input.format;
    else {
      const formats = new Map<string, string[]>();
      for (const o of objects) {
        const f = formatOf(o.key) ?? 'unsupported';
        const keys = formats.get(f);
        if (keys) keys.push(o.key); // not a spread copy: that was quadratic, minutes at 100k objects
        else formats.set(f, [o.key]);
      }
      const bad = formats.get('unsupported');
      if (bad) {
        throw nonRetryable('UnsupportedSource', `cannot tell the format of ${someUrls(input.sourceBucket, bad)} (known endings: .csv .jsonl .ndjson .json .avro; or set "format")`);
      }
      if (formats.size > 1) {
        throw nonRetryable('UnsupportedSource', `source ${input.source} mixes formats (${[...formats.keys()].join(', ')}); ingest each format from its own prefix or set "format"`);
      }
      format = [...formats.keys()][0] as SourceFormat;
    }
    // An object of 0 bytes holds no records whatever its format (a 0-byte .gz is not even a gzip
    // stream): it is not read. Scans find the other empty ones.
    let sources: ListedObject[] = objects.filter((o) => o.size > 0).map((o) => ({ key: o.key, size: o.size, etag: o.etag }));
    const empty: string[] = objects.filter((o) => o.size === 0).map((o) => o.key);

    const rawSchemas: RawSchema[] = [];
    const schemaIndex = new Map<string, number>();
    let scans: PartitioningOptions['scans'];
    let scanned: number | null = null;
    const unreadable: (ListedObject & Unreadable)[] = [];
    if (format !== 'avro') {
      scanned = 0;
      scans = new Map();
      const results = await scanSources(deps, input.sourceBucket, sources, format, input.partitionRecords, input.dataset);
      // Schemas are numbered in source order, whatever order the scans finished in.
      sources.forEach((s, k) => {
        const scan = results[k];
        if ('unreadable' in scan) {
          unreadable.push({ ...s, ...scan });
          return;
        }
        if (scan.empty) {
          empty.push(s.key);
          return;
        }
        const raw: RawSchema = { json: JSON.stringify(scan.schema), fields: scan.fields };
        const sk = JSON.stringify(raw);
        if (!schemaIndex.has(sk)) {
          schemaIndex.set(sk, rawSchemas.length);
          rawSchemas.push(raw);
        }
        scans!.set(s.key, { schema: schemaIndex.get(sk)!, chunks: scan.chunks, headerEnd: scan.headerEnd });
        scanned! += scan.records;
      });
      sources = sources.filter((s) => scans!.has(s.key));
      log.info({ objects: sources.length, records: scanned, schemas: rawSchemas.length }, 'scanned source objects');
      if (unreadable.length && sources.length === 0) {
        throw nonRetryable('CorruptInput', `no source object under ${input.source} can be read: ${unreadable.slice(0, 5).map((u) => u.unreadable).join('; ')}${unreadable.length > 5 ? `; and ${unreadable.length - 5} more` : ''}`);
      }
      if (unreadable.length) log.warn({ unreadable: unreadable.length, first: unreadable.slice(0, 5).map((u) => u.unreadable) }, `${unreadable.length} source object(s) cannot be read: each becomes a partition that fails`);
    }
    // Left out of the partitions, as if absent, but never silently: the plan, the log and the run's summary name them.
    empty.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (sources.length === 0) {
      throw nonRetryable('SourceEmpty', `no records under ${input.source}: ${empty.length === 1 ? 'its one source object is' : `all ${empty.length} source objects are`} empty (${someUrls(input.sourceBucket, empty)})`);
    }
    if (empty.length) {
      log.warn({ emptySources: empty.length, first: empty.slice(0, EMPTY_URLS_IN_SUMMARY).map((k) => formatS3Url({ bucket: input.sourceBucket, key: k })) }, `left out ${empty.length} empty source object(s) (no records)`);
    }

    let parts;
    try {
      parts = partitionListing(sources, { format, partitionBytes: input.partitionBytes, splitBytes: input.splitBytes, pack: input.pack, prefix, scans });
    } catch (err) {
      throw nonRetryable('InvalidInput', `cannot partition ${input.source}: ${(err as Error).message}`);
    }
    const reader = info.input?.fingerprint ?? null;
    const partitions: PlannedPartition[] = [
      ...parts.map((p) => ({
        ...p,
        rawVersion: format === 'avro' ? sourceVersion(p.pieces, reader) : importVersion(p.pieces, format, rawSchemas[p.schema!].json),
      })),
      ...(format === 'avro' ? [] : unreadablePartitions(unreadable, format, prefix)),
    ];

    const lookups = await resolveLookups(deps, def, input, input.sourceBucket);

    const body: Omit<Plan, 'id'> = {
      kind: 'partflow.plan', version: 2, pipeline: def.name, dataset: input.dataset, source: input.source,
      bucket: input.targetBucket, targetPrefix: input.targetPrefix, sourceBucket: input.sourceBucket, sourcePrefix: prefix, format,
      partitionRecords: input.partitionRecords, partitionBytes: input.partitionBytes, splitBytes: input.splitBytes, pack: input.pack, params: input.params, lookups,
      input: info.input ?? null, rawSchemas, partitions, stages: info.stages,
      // Only when there are some, so that the id of a plan without any stays what it was.
      ...(empty.length ? { emptySources: { count: empty.length, keys: empty.slice(0, EMPTY_KEYS_IN_PLAN) } } : {}),
    };
    const key = await writePlan(deps, input, body, { url: source, marker, log });
    log.info({ plan: key, partitions: partitions.length, objects: sources.length, format, ...(empty.length ? { emptySources: empty.length } : {}) }, 'planned ingest');
    const names = partitions.map((p) => p.name);
    // Large plans go by reference: activities read ids and names from the plan by index.
    const byIndex = opts.maxIds !== undefined && partitions.length > opts.maxIds;
    return {
      planKey: key, bucket: input.targetBucket, dataset: input.dataset, targetPrefix: input.targetPrefix, format, partitions: partitions.length,
      ids: byIndex ? [] : partitions.map((p) => p.id), names: !byIndex && names.reduce((n, s) => n + s.length + 3, 0) <= MAX_NAMES_BYTES ? names : null,
      sourceObjects: sources.length + unreadable.length, scannedRecords: scanned, needsImport: format !== 'avro',
      stages: info.stages.map((s) => ({ name: s.name, after: s.after, version: s.version })),
      retry: info.retry,
      small: smallMask(partitions.map((p) => partitionBytes(p.pieces, format))),
      ...(empty.length ? { emptySources: { count: empty.length, urls: empty.slice(0, EMPTY_URLS_IN_SUMMARY).map((k) => formatS3Url({ bucket: input.sourceBucket, key: k })) } } : {}),
      emptyStages: await emptyStages(deps, input, [...(format === 'avro' ? [] : [RAW_STAGE]), ...info.stages.map((s) => s.name)]),
    };
  };
}

/** Ids and names of some partitions of a plan: a window of a large ingest asks for its own. */
export function makeDescribePartitionsActivity(deps: ActivityDeps) {
  return async function describePartitions(req: { bucket: string; planKey: string; indices: number[] }): Promise<{ ids: string[]; names: string[] }> {
    const plan = await loadPlan(deps, req.bucket, req.planKey);
    const bad = req.indices.find((i) => !plan.partitions[i]);
    if (bad !== undefined) throw nonRetryable('InvalidInput', `plan ${formatS3Url({ bucket: req.bucket, key: req.planKey })} has no partition #${bad} (it has ${plan.partitions.length})`);
    return { ids: req.indices.map((i) => plan.partitions[i].id), names: req.indices.map((i) => plan.partitions[i].name) };
  };
}
