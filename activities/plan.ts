import { Context } from '@temporalio/activity';
import { defaultedNameProblem, ResolvedIngest } from '../src/pipeline/input';
import type { BlockWalk } from '../src/avro/block-walk';
import { ListedObject, partitionListing, PartitioningOptions, splitOf } from '../src/pipeline/partitioning';
import { listSource, sourceObjectsOf } from '../src/pipeline/source-listing';
import { EMPTY_KEYS_IN_PLAN, EMPTY_URLS_IN_SUMMARY, Plan, PlannedPartition, PlanSummary, RawSchema } from '../src/pipeline/plan';
import { partitionBytes, smallMask } from '../src/pipeline/small-partitions';
import { importVersion, sourceVersion } from '../src/pipeline/versions';
import { formatS3Url } from '../src/storage/s3url';
import { logger } from '../src/log';
import { RAW_STAGE } from '../src/pipeline/types';
import { ActivityDeps, loadPlan, nonRetryable, storageRefusal } from './deps';
import { checkDatasetSource, checkLookupParams, emptyStages, idsAndNames, resolveLookups, writePlan } from './plan-dataset';
import { planKafkaIngest } from './plan-kafka';
import { previousScans, previousWalks, scannerInfo, walkerInfo } from './plan-reuse';
import { walkSplitSources } from './plan-walks';
import { scanSources, Unreadable, unreadablePartitions, withoutOutputs } from './plan-sources';
import { someUrls, sourceFormatOf, UnsupportedSourceError } from '../src/pipeline/source-format';

/**
 * Lists the source, scans flat files for record boundaries (walks the blocks of Avro objects it
 * splits), partitions the listing into stable,
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
    const run = Context.current().info.workflowExecution;
    const log = logger().child({ activity: 'planIngest', workflowId: run?.workflowId, runId: run?.runId });
    const entry = deps.registry.get(input.pipeline);
    if (!entry) {
      // Workers that share a task queue share its tasks: one that lacks the pipeline takes its plan too.
      throw nonRetryable('UnknownPipeline', `unknown pipeline "${input.pipeline}" (registered on this worker: ${deps.registry.names().join(', ')}): every worker polling task queue "${Context.current().info.taskQueue}" must register it `
        + '(`partflow up --pipelines <module>`, `partflow worker --pipelines <module>`), or run its workers on a task queue of their own (PARTFLOW_TASK_QUEUE)');
    }
    checkLookupParams(entry.def, input);
    const nameProblem = defaultedNameProblem(input);
    if (nameProblem) throw nonRetryable('InvalidInput', nameProblem);
    if (input.kafka) return planKafkaIngest(deps, input, entry, log, opts.maxIds);
    const { def, info } = entry;

    // An exact object key is a source of one object; otherwise everything under the prefix.
    const { listed, prefix, source, exact } = await listSource(deps.s3, input.sourceBucket, input.sourcePrefix);
    Context.current().heartbeat({ listed: listed.length });
    const { objects, hidden } = sourceObjectsOf(withoutOutputs(listed, input, prefix), prefix, exact);
    const hiddenUrls = hidden.slice(0, EMPTY_URLS_IN_SUMMARY).map((o) => formatS3Url({ bucket: input.sourceBucket, key: o.key }));
    // Skipped as Spark skips them, but never in silence: a provider's "_late.csv" would be lost unsaid.
    if (hidden.length) log.warn({ hiddenSources: hidden.length, first: hiddenUrls }, `left out ${hidden.length} source object(s) whose names start with "_" or "." (markers, temporary and hidden files)`);
    // Before the dataset's owner is checked: a typo'd source is empty, and its refusal would
    // send the person to rename the dataset instead (the client's check asks in this order too).
    if (objects.length === 0) throw nonRetryable('SourceEmpty', `no source objects under ${input.source}${hidden.length ? ` (only ${hidden.length} whose names start with "_" or ".", which are skipped: ${hiddenUrls.join(', ')}; name one such object as the source to read it)` : ''}`);
    const marker = await checkDatasetSource(deps, input, source, log);

    const format = input.format ?? sourceFormatOf(input.sourceBucket, input.source, objects.map((o) => o.key));
    if (format instanceof UnsupportedSourceError) throw nonRetryable('UnsupportedSource', format.message);
    // An object of 0 bytes holds no records whatever its format (a 0-byte .gz is not even a gzip
    // stream): it is not read. Scans find the other empty ones.
    let sources: ListedObject[] = objects.filter((o) => o.size > 0).map((o) => ({ key: o.key, size: o.size, etag: o.etag }));
    const empty: string[] = objects.filter((o) => o.size === 0).map((o) => o.key);

    const rawSchemas: RawSchema[] = [];
    const schemaIndex = new Map<string, number>();
    let scans: PartitioningOptions['scans'];
    let walks: PartitioningOptions['walks'];
    let walked: { walked: number; reused: number } | undefined;
    let scanned: number | null = null;
    let reusedScans = 0;
    const unreadable: (ListedObject & Unreadable)[] = [];
    if (format !== 'avro') {
      scanned = 0;
      scans = new Map();
      // Objects unchanged since the plan behind the latest snapshot keep its scans (same ETag, same settings).
      const reused = await previousScans(deps, input, sources, format);
      const toScan = sources.filter((s) => !reused.has(s.key));
      const fresh = await scanSources(deps, input.sourceBucket, toScan, format, input.partitionRecords, input.dataset);
      const scannedNow = new Map(toScan.map((s, k) => [s.key, fresh[k]]));
      const results = sources.map((s) => reused.get(s.key) ?? scannedNow.get(s.key)!);
      reusedScans = reused.size;
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
        scans!.set(s.key, { schema: schemaIndex.get(sk)!, chunks: scan.chunks, headerEnd: scan.headerEnd, delimiter: scan.delimiter });
        scanned! += scan.records;
      });
      sources = sources.filter((s) => scans!.has(s.key));
      log.info({ objects: sources.length, records: scanned, schemas: rawSchemas.length, reusedScans }, 'scanned source objects');
    } else {
      // Split objects' pieces start where their blocks do, which only a walk from the header finds.
      walks = new Map();
      const toSplit = sources.flatMap((o) => {
        const ranges = splitOf(o, { format, partitionBytes: input.partitionBytes, splitBytes: input.splitBytes });
        return ranges ? [{ ...o, ranges }] : [];
      });
      // Objects unchanged since the plan behind the latest snapshot keep its walks (same ETag, ranges and limits).
      const reused = await previousWalks(deps, input, toSplit);
      const toWalk = toSplit.filter((o) => !reused.has(o.key));
      const fresh = await walkSplitSources(deps, input.sourceBucket, toWalk);
      const results = new Map<string, BlockWalk | Unreadable>([...reused, ...toWalk.map((o, k) => [o.key, fresh[k]] as const)]);
      for (const o of toSplit) {
        const walk = results.get(o.key)!;
        if ('unreadable' in walk) unreadable.push({ key: o.key, size: o.size, etag: o.etag, ...walk });
        else walks.set(o.key, walk);
      }
      const bad = new Set(unreadable.map((u) => u.key));
      sources = sources.filter((s) => !bad.has(s.key));
      if (toSplit.length) walked = { walked: toWalk.length, reused: reused.size };
      if (walked) log.info({ split: toSplit.length, walked: toWalk.length, reusedWalks: reused.size, unreadable: unreadable.length }, 'walked the blocks of split source objects');
    }
    if (unreadable.length && sources.length === 0) {
      throw nonRetryable('CorruptInput', `no source object under ${input.source} can be read: ${unreadable.slice(0, 5).map((u) => u.unreadable).join('; ')}${unreadable.length > 5 ? `; and ${unreadable.length - 5} more` : ''}`);
    }
    if (unreadable.length) log.warn({ unreadable: unreadable.length, first: unreadable.slice(0, 5).map((u) => u.unreadable) }, `${unreadable.length} source object(s) cannot be read: each becomes a partition that fails`);
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
      parts = partitionListing(sources, { format, partitionBytes: input.partitionBytes, splitBytes: input.splitBytes, pack: input.pack, prefix, scans, walks });
    } catch (err) {
      throw nonRetryable('InvalidInput', `cannot partition ${input.source}: ${(err as Error).message}`);
    }
    const reader = info.input?.fingerprint ?? null;
    const readerExtras = info.input?.extras;
    const partitions: PlannedPartition[] = [
      ...parts.map((p) => ({
        ...p,
        rawVersion: format === 'avro' ? sourceVersion(p.pieces, reader, readerExtras) : importVersion(p.pieces, format, rawSchemas[p.schema!].json),
      })),
      ...unreadablePartitions(unreadable, prefix, (pieces) => (format === 'avro' ? sourceVersion(pieces, reader, readerExtras) : importVersion(pieces, format, ''))),
    ];

    const lookups = await resolveLookups(deps, def, input, input.sourceBucket);

    const body: Omit<Plan, 'id'> = {
      kind: 'partflow.plan', version: 2, pipeline: def.name, dataset: input.dataset, source: input.source,
      bucket: input.targetBucket, targetPrefix: input.targetPrefix, sourceBucket: input.sourceBucket, sourcePrefix: prefix, format,
      partitionRecords: input.partitionRecords, partitionBytes: input.partitionBytes, splitBytes: input.splitBytes, pack: input.pack, params: input.params, lookups,
      input: info.input ?? null, rawSchemas, partitions, stages: info.stages,
      // Only when there are some, so that the id of a plan without any stays what it was.
      ...(empty.length ? { emptySources: { count: empty.length, keys: empty.slice(0, EMPTY_KEYS_IN_PLAN) } } : {}),
      ...(format === 'avro' ? (walked ? { walker: walkerInfo() } : {}) : { scanner: scannerInfo() }),
    };
    const key = await writePlan(deps, input, body, { url: source, marker, log });
    log.info({ plan: key, partitions: partitions.length, objects: sources.length, format, ...(empty.length ? { emptySources: empty.length } : {}) }, 'planned ingest');
    return {
      planKey: key, bucket: input.targetBucket, dataset: input.dataset, targetPrefix: input.targetPrefix, format, partitions: partitions.length,
      ...idsAndNames(partitions, opts.maxIds),
      sourceObjects: sources.length + unreadable.length, scannedRecords: scanned, ...(format === 'avro' ? (walked ? { walks: walked } : {}) : { reusedScans }), needsImport: format !== 'avro',
      stages: info.stages.map((s) => ({ name: s.name, after: s.after, version: s.version })),
      retry: info.retry,
      small: smallMask(partitions.map((p) => partitionBytes(p.pieces))),
      ...(empty.length ? { emptySources: { count: empty.length, urls: empty.slice(0, EMPTY_URLS_IN_SUMMARY).map((k) => formatS3Url({ bucket: input.sourceBucket, key: k })) } } : {}),
      ...(hidden.length ? { hiddenSources: { count: hidden.length, urls: hiddenUrls } } : {}),
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
