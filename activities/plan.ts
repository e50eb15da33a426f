import { Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import { formatOf, isIgnoredKey } from '../src/formats/detect';
import { FlatFileError } from '../src/formats/flat';
import { scanFlatObject } from '../src/formats/scan-object';
import { ResolvedIngest, SourceFormat } from '../src/pipeline/input';
import { partitionId, planKey, stageDir } from '../src/pipeline/layout';
import { Plan, PlannedPartition, PlannedStage, PlanSummary, RawSchema, SourceObject } from '../src/pipeline/plan';
import { RAW_STAGE } from '../src/pipeline/types';
import { getObjectStream, headObject, listObjects, ObjectNotFoundError, putIfAbsent, PreconditionFailedError } from '../src/storage/objects';
import { formatS3Url, parseS3Url } from '../src/storage/s3url';
import { logger } from '../src/log';
import { ActivityDeps, nonRetryable } from './deps';

function sha(x: unknown, n = 12): string {
  return createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, n);
}

/**
 * Lists the source, cuts flat files into deterministic chunks, fixes every stage's output
 * version, and writes the plan. The same input always gives the same plan and the same keys.
 */
export function makePlanActivity(deps: ActivityDeps) {
  return async function planIngest(input: ResolvedIngest): Promise<PlanSummary> {
    const log = logger().child({ activity: 'planIngest', workflowId: Context.current().info.workflowExecution?.workflowId });
    const entry = deps.registry.get(input.pipeline);
    if (!entry) {
      throw nonRetryable('UnknownPipeline', `unknown pipeline "${input.pipeline}" (registered on this worker: ${deps.registry.names().join(', ')})`);
    }
    const { def, info } = entry;

    // An exact object key is a source of one object; otherwise everything under the prefix.
    let prefix = input.sourcePrefix;
    let listed = await listObjects(deps.s3, input.sourceBucket, prefix);
    if (prefix !== '' && !prefix.endsWith('/')) {
      const exact = listed.filter((o) => o.key === prefix);
      if (exact.length) {
        listed = exact;
        prefix = prefix.slice(0, prefix.lastIndexOf('/') + 1);
      } else {
        prefix += '/';
        listed = await listObjects(deps.s3, input.sourceBucket, prefix);
      }
    }
    const objects = listed.filter((o) => !isIgnoredKey(o.key, prefix));
    if (objects.length === 0) throw nonRetryable('SourceEmpty', `no source objects under ${input.source}`);

    let format: SourceFormat;
    if (input.format) format = input.format;
    else {
      const formats = new Map<string, string[]>();
      for (const o of objects) {
        const f = formatOf(o.key) ?? 'unsupported';
        formats.set(f, [...(formats.get(f) ?? []), o.key]);
      }
      const bad = formats.get('unsupported');
      if (bad) {
        throw nonRetryable('UnsupportedSource', `cannot tell the format of ${bad.slice(0, 5).map((k) => formatS3Url({ bucket: input.sourceBucket, key: k })).join(', ')}${bad.length > 5 ? ` and ${bad.length - 5} more` : ''} (known endings: .csv .jsonl .ndjson .json .avro; or set "format")`);
      }
      if (formats.size > 1) {
        throw nonRetryable('UnsupportedSource', `source ${input.source} mixes formats (${[...formats.keys()].join(', ')}); ingest each format from its own prefix or set "format"`);
      }
      format = [...formats.keys()][0] as SourceFormat;
    }
    const sources: SourceObject[] = objects.map((o) => ({ key: o.key, size: o.size, etag: o.etag }));

    const partitions: PlannedPartition[] = [];
    const rawSchemas: RawSchema[] = [];
    let scanned: number | null = null;
    if (format === 'avro') {
      sources.forEach((s, i) => partitions.push({ index: i, id: partitionId(i), source: s, format }));
    } else {
      scanned = 0;
      for (const s of sources) {
        const name = formatS3Url({ bucket: input.sourceBucket, key: s.key });
        Context.current().heartbeat({ scanning: name, partitions: partitions.length });
        let scan;
        try {
          scan = await scanFlatObject(deps.s3, input.sourceBucket, s, format, input.partitionRecords, input.dataset, Context.current());
        } catch (err) {
          if (err instanceof FlatFileError) throw nonRetryable('CorruptInput', err.message, err);
          if (err instanceof ObjectNotFoundError) throw nonRetryable('InputMissing', `source object ${name} disappeared while planning`);
          throw err;
        }
        rawSchemas.push({ json: JSON.stringify(scan.schema), fields: scan.fields, headerEnd: scan.headerEnd });
        for (const c of scan.chunks) {
          const index = partitions.length;
          partitions.push({ index, id: partitionId(index), source: s, format, schema: rawSchemas.length - 1, start: c.start, end: c.end, records: c.records });
        }
        scanned += scan.records;
        log.info({ object: name, records: scan.records, chunks: scan.chunks.length }, 'scanned source object');
      }
    }

    const lookups: Plan['lookups'] = {};
    for (const [name, l] of Object.entries(def.lookups ?? {})) {
      const override = input.params[`lookup.${name}`];
      const loc = override ? parseS3Url(override) : { bucket: input.sourceBucket, key: l.defaultKey };
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

    const rawVersion = `r-${sha({ sources, format, partitionRecords: input.partitionRecords, rawSchemas })}`;
    const rawDir = format === 'avro' ? null : stageDir(input.targetPrefix, input.dataset, RAW_STAGE, rawVersion);
    const versions = new Map<string, string>([[RAW_STAGE, format === 'avro' ? `a-${sha({ sources, input: info.input?.fingerprint })}` : rawVersion]]);
    const stages: PlannedStage[] = info.stages.map((s) => {
      const outputVersion = `${s.version}-${sha({
        stage: s.name, version: s.version, schema: s.schemaFingerprint, codec: s.codec,
        upstream: s.after.map((d) => [d, versions.get(d)]), lookups: Object.values(lookups).map((l) => l.etag), params: input.params,
      })}`;
      versions.set(s.name, outputVersion);
      return { ...s, outputVersion, dir: stageDir(input.targetPrefix, input.dataset, s.name, outputVersion) };
    });

    const body: Omit<Plan, 'id'> = {
      kind: 'partflow.plan', version: 1, pipeline: def.name, dataset: input.dataset, source: input.source,
      bucket: input.targetBucket, targetPrefix: input.targetPrefix, sourceBucket: input.sourceBucket, format,
      partitionRecords: input.partitionRecords, params: input.params, lookups, raw: { version: rawVersion, dir: rawDir },
      rawSchemas, partitions, stages,
    };
    const id = sha(body, 16);
    const key = planKey(input.targetPrefix, input.dataset, id);
    try {
      await putIfAbsent(deps.s3, input.targetBucket, key, JSON.stringify({ ...body, id }), 'application/json');
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err; // same id, same content
    }
    log.info({ plan: key, partitions: partitions.length, format }, 'planned ingest');
    return {
      planKey: key, bucket: input.targetBucket, dataset: input.dataset, format, partitions: partitions.length,
      sourceObjects: sources.length, scannedRecords: scanned, needsImport: format !== 'avro', rawDir,
      stages: stages.map((s) => ({ name: s.name, after: s.after, dir: s.dir, version: s.version, outputVersion: s.outputVersion })),
      retry: info.retry,
    };
  };
}
