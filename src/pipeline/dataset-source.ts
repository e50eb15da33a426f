import type { S3Client } from '@aws-sdk/client-s3';
import { latestListedSnapshot } from '../snapshots/store';
import { snapshotKey } from '../snapshots/layout';
import { getObjectStream, getJson, listObjects, ObjectNotFoundError } from '../storage/objects';
import { formatS3Url, parseS3Url } from '../storage/s3url';
import { isKafkaUrl, parseKafkaUrl } from '../sources/kafka/source';
import { DATASET_MARKER, datasetPrefix, markerKey } from './layout';

/**
 * Which source a dataset belongs to. With no "dataset" given, an ingest names its dataset after
 * the source's last path segment, so `s3://b/2024/orders/` and `s3://b/2025/orders/` would share
 * the dataset `orders`; each run's snapshot holds its own source's partitions only, so the two
 * would take turns dropping each other's data. The dataset marker records the source that
 * created the dataset, and an ingest whose dataset name was defaulted from another source is
 * refused. A dataset named explicitly may take any source: that is a person's decision.
 */
export interface DatasetMarker {
  kind: 'partflow.dataset';
  version: 2;
  dataset: string;
  /** The source that created the dataset, as planning read it (absent in markers written before it was recorded). */
  source?: string;
}

export function datasetMarker(dataset: string, source: string): DatasetMarker {
  return { kind: 'partflow.dataset', version: 2, dataset, source };
}

/** The source a dataset belongs to, and where that was read (for messages). */
export interface RecordedSource {
  source: string;
  where: string;
  /** The marker holds the source as planning resolved it (an object, or a prefix ending in "/"). */
  resolved: boolean;
}

export interface DatasetOwnership {
  /** The dataset marker exists (so planning does not write it). */
  marker: boolean;
  recorded: RecordedSource | null;
}

/**
 * The source of the dataset `<targetPrefix><dataset>/`: the marker's, or for a dataset whose
 * marker predates recording it, the source of its latest snapshot's plan, else of its newest
 * plan. Null when nothing records one (no dataset yet, or one with neither snapshot nor plan).
 */
export async function datasetOwnership(s3: S3Client, bucket: string, targetPrefix: string, dataset: string): Promise<DatasetOwnership> {
  let marker: DatasetMarker;
  try {
    marker = await getJson<DatasetMarker>(s3, bucket, markerKey(targetPrefix, dataset), 64 * 1024);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return { marker: false, recorded: null };
    throw err;
  }
  if (typeof marker?.source === 'string') return { marker: true, recorded: { source: marker.source, where: `its ${DATASET_MARKER}`, resolved: true } };
  return { marker: true, recorded: await legacySource(s3, bucket, `${datasetPrefix(targetPrefix, dataset)}/`) };
}

async function legacySource(s3: S3Client, bucket: string, prefix: string): Promise<RecordedSource | null> {
  const d = { bucket, prefix };
  const n = await latestListedSnapshot(s3, d);
  if (n > 0) {
    const plan = await leadingString(s3, bucket, snapshotKey(d, n), 'plan');
    const loc = plan ? safeParse(plan) : null;
    const source = loc && loc.bucket === bucket ? await leadingString(s3, bucket, loc.key, 'source') : null;
    if (source) return { source, where: `snapshot ${n}, its latest`, resolved: false };
  }
  const plans = (await listObjects(s3, bucket, `${prefix}_plans/`)).filter((o) => o.key.endsWith('.json'));
  plans.sort((a, b) => (a.lastModified?.getTime() ?? 0) - (b.lastModified?.getTime() ?? 0));
  const newest = plans[plans.length - 1];
  const source = newest ? await leadingString(s3, bucket, newest.key, 'source') : null;
  return source ? { source, where: `${formatS3Url({ bucket, key: newest.key })}, its newest plan`, resolved: false } : null;
}

function safeParse(url: string): { bucket: string; key: string } | null {
  try {
    return parseS3Url(url);
  } catch {
    return null;
  }
}

/**
 * The first string field `name` in the first 64 KiB of a JSON object. Plans and snapshot heads
 * put `source` and `run.plan` near their start, and a large plan runs to megabytes: only its
 * start is read.
 */
export async function leadingString(s3: S3Client, bucket: string, key: string, name: string): Promise<string | null> {
  let text = '';
  try {
    const stream = await getObjectStream(s3, bucket, key, { start: 0, end: 64 * 1024 });
    for await (const c of stream) text += (c as Buffer).toString('utf8');
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return null;
    throw err;
  }
  const m = new RegExp(`"${name}"\\s*:\\s*("(?:[^"\\\\]|\\\\.)*")`).exec(text);
  if (!m) return null;
  try {
    return JSON.parse(m[1]) as string;
  } catch {
    return null;
  }
}

const trimmed = (url: string) => url.replace(/\/+$/, '');

/**
 * Whether two sources are one. S3 URLs compare as written, less a trailing "/" (`s3://b/x/orders`
 * lists the prefix `x/orders/` unless an object has that exact key); with `exact`, both being as
 * planning resolved them, the "/" tells an object from a prefix. An object and the prefix that
 * holds it are different sources. Kafka sources are one when they name the same topic on broker
 * lists that share a broker (a cluster is often given by different bootstrap brokers).
 */
export function sameSource(a: string, b: string, exact = false): boolean {
  if (isKafkaUrl(a) || isKafkaUrl(b)) {
    if (!isKafkaUrl(a) || !isKafkaUrl(b)) return false;
    try {
      const [x, y] = [parseKafkaUrl(a), parseKafkaUrl(b)];
      const brokers = new Set(y.brokers.map((h) => h.toLowerCase()));
      return x.topic === y.topic && x.brokers.some((h) => brokers.has(h.toLowerCase()));
    } catch {
      return a === b;
    }
  }
  return exact ? a === b : trimmed(a) === trimmed(b);
}

/** What goes wrong when two sources share a dataset, by their kinds. */
function whyOneSource(recorded: string, current: string): string {
  const kafka = [recorded, current].filter(isKafkaUrl).length;
  // Kafka runs add to the snapshot, but keep their offsets per topic name: two clusters' topics of
  // one name would each be read from the other's offsets.
  if (kafka === 2) return 'Both topics in one dataset would share its committed offsets, so each would be read from where the other stopped.';
  if (kafka === 1) return 'Both sources in one dataset would make each S3 run\'s snapshot drop the topic\'s partitions.';
  return 'Both sources in one dataset would make each run\'s snapshot drop the other\'s partitions.';
}

/** A dataset name the default would not give: "2025-orders" for s3://b/2025/orders/, "kafka2-orders" for kafka://kafka2:9092/orders. */
function suggestedName(source: string, dataset: string): string {
  let parent: string;
  if (isKafkaUrl(source)) parent = source.slice('kafka://'.length).split(/[,:/]/)[0];
  else {
    const loc = safeParse(source);
    if (!loc) return `${dataset}-2`;
    const segs = loc.key.split('/').filter((s) => s !== '');
    parent = segs.length >= 2 ? segs[segs.length - 2] : loc.bucket;
  }
  const name = `${parent}-${dataset}`.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[^A-Za-z0-9]+/, '').slice(0, 128);
  return name || `${dataset}-2`;
}

export interface SourceVerdict {
  /** The ingest must not run: the dataset belongs to another source and its name was only defaulted. */
  refusal?: string;
  /** The ingest runs, into a dataset that another source created, as its dataset was named explicitly. */
  note?: string;
}

/**
 * Judges an ingest of `current` into a dataset that `recorded` says belongs to a source.
 * `datasetDefaulted` is true when the dataset name came from the source's last segment.
 */
export function judgeSource(
  ingest: { dataset: string; datasetDefaulted?: boolean }, current: string, recorded: RecordedSource | null, datasetUrl: string, exact = false,
): SourceVerdict {
  if (!recorded || sameSource(recorded.source, current, exact && recorded.resolved)) return {};
  const holds = `dataset ${datasetUrl} already holds data of ${recorded.source} (recorded in ${recorded.where})`;
  if (!ingest.datasetDefaulted) return { note: `${holds}; this ingest writes ${current} into it, as its "dataset" was given` };
  const name = suggestedName(current, ingest.dataset);
  return {
    refusal: `refusing to ingest ${current}: its dataset name "${ingest.dataset}" comes from the source's ${isKafkaUrl(current) ? 'topic' : 'last path segment'} (no "dataset" was given), and ${holds}. `
      + `${whyOneSource(recorded.source, current)} `
      + `Give this source a dataset of its own ("dataset": "${name}", or --dataset ${name}), or give "dataset": "${ingest.dataset}" (--dataset ${ingest.dataset}) to ingest it into that dataset on purpose`,
  };
}

/** Thrown where an ingest is refused before it starts (the CLI, the client library). */
export class DatasetSourceConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetSourceConflictError';
  }
}
