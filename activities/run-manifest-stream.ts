import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import pLimit from 'p-limit';
import { IngestSummary, RunPartition } from '../src/manifest/run';
import { PartitionManifest } from '../src/manifest/partition';
import { partitionKeys } from '../src/pipeline/layout';
import { Plan } from '../src/pipeline/plan';
import { getJson, listObjects, objectExists, putObject } from '../src/storage/objects';
import { formatS3Url, parseS3Url } from '../src/storage/s3url';
import type { SavedEntry } from '../src/manifest/window-results';
import { blockedByCancel } from '../src/pipeline/blocked';
import { ActivityDeps, loadPlan } from './deps';
import { logger } from '../src/log';
import { KafkaGapsSummary, summarizeGaps } from '../src/sources/kafka/gaps';
import { kafkaRunGaps } from './kafka-gaps';
import { codeVersionOf, VersionSkew, versionSkew } from '../src/manifest/version-skew';

export interface WindowResults {
  bucket: string;
  key: string;
  entries: SavedEntry[];
}

/** The run manifest by reference: the plan, and the prefix under which the run's windows wrote their results. */
export interface StreamManifestRequest {
  bucket: string;
  planKey: string;
  workflowId: string;
  runId: string;
  summary: IngestSummary;
  windowsPrefix: string;
  /** Bytes per multipart part: at least S3's minimum of 5 MiB (default 8 MiB). */
  partBytes?: number;
}

/** Heartbeat details: where a retried attempt picks the upload up again. */
export interface ManifestCheckpoint {
  uploadId: string;
  parts: { PartNumber: number; ETag: string }[];
  /** Units of the manifest text already uploaded. */
  next: number;
  writtenAt: string;
}

type Unit = string | { stage: string; first: boolean; e: SavedEntry };
const PART_BYTES = 8 * 1024 * 1024;
const MIN_PART_BYTES = 5 * 1024 * 1024;
const READ_AHEAD = 256;

/** The latest result of every (stage, partition) the run's windows ran: later windows supersede earlier ones. */
async function windowResults(deps: ActivityDeps, bucket: string, prefix: string): Promise<Map<string, SavedEntry>> {
  const keys = (await listObjects(deps.s3, bucket, prefix)).map((o) => o.key).sort();
  const latest = new Map<string, SavedEntry>();
  const limit = pLimit(8);
  const bodies = await Promise.all(keys.map((k) => limit(() => getJson<{ entries: SavedEntry[] }>(deps.s3, bucket, k, 256 * 1024 * 1024))));
  for (const b of bodies) for (const e of b.entries) latest.set(`${e.stage}/${e.index}`, e);
  return latest;
}

/** Per stage, the code versions that computed the committed partitions, when not all are the plan's (no partition manifest is read: a content version starts with its code version). */
function skewOf(plan: Plan, latest: Map<string, SavedEntry>, taskQueue: string): VersionSkew | undefined {
  const committed = [...latest.values()].filter((e) => (e.status === 'done' || e.status === 'skipped') && e.version)
    .map((e) => ({ stage: e.stage, codeVersion: e.output?.codeVersion ?? codeVersionOf(e.version!) }));
  return versionSkew(plan.stages ?? [], committed, taskQueue);
}

/** The manifest as a fixed sequence of text units; committed entries become text only when reached. */
function units(req: StreamManifestRequest, plan: Plan, latest: Map<string, SavedEntry>, writtenAt: string, kafkaGaps?: KafkaGapsSummary, skew?: VersionSkew): Unit[] {
  const head = { ...req.summary, ...(kafkaGaps ? { kafkaGaps } : {}), ...(skew ? { versionSkew: skew } : {}), kind: 'partflow.run', version: 2, workflowId: req.workflowId, runId: req.runId, writtenAt };
  const out: Unit[] = [`${JSON.stringify(head).slice(0, -1)},"committed":{`];
  const stages = Object.keys(req.summary.stages);
  const all = [...latest.values()].sort((a, b) => a.index - b.index);
  const named = (i: number) => ({ partition: plan.partitions[i].id, name: plan.partitions[i].name });
  stages.forEach((stage, k) => {
    out.push(`${k ? ',' : ''}${JSON.stringify(stage)}:[`);
    let first = true;
    for (const e of all) if (e.stage === stage && (e.status === 'done' || e.status === 'skipped') && e.version) {
      out.push({ stage, first, e });
      first = false;
    }
    out.push(']');
  });
  out.push('},"failures":[');
  let first = true;
  for (const e of all) if (e.status === 'failed') {
    out.push(`${first ? '' : ','}${JSON.stringify({ stage: e.stage, ...named(e.index), error: e.error ?? '', attempts: e.attempts, runs: e.runs })}`);
    first = false;
  }
  // Windows of before 'cancel-downstream' saved blocked for what stood behind cancelled stages: that was cancelled too.
  const cancelledToo = new Set<string>();
  if (req.summary.status === 'cancelled') {
    for (const i of new Set(all.filter((e) => e.status === 'blocked').map((e) => e.index))) {
      for (const stage of blockedByCancel(plan.stages ?? [], (st) => latest.get(`${st}/${i}`)?.status)) cancelledToo.add(`${stage}/${i}`);
    }
  }
  out.push('],"blocked":[');
  first = true;
  for (const e of all) if (e.status === 'blocked' && !cancelledToo.has(`${e.stage}/${e.index}`)) {
    out.push(`${first ? '' : ','}${JSON.stringify({ stage: e.stage, ...named(e.index) })}`);
    first = false;
  }
  out.push(']');
  // A cancelled run's windows save nothing for what they did not finish: that is every (stage,
  // partition) without a result.
  if (req.summary.status === 'cancelled') {
    out.push(',"cancelled":[');
    first = true;
    for (const stage of stages) {
      for (let i = 0; i < plan.partitions.length; i++) {
        if (latest.has(`${stage}/${i}`) && !cancelledToo.has(`${stage}/${i}`)) continue;
        out.push(`${first ? '' : ','}${JSON.stringify({ stage, ...named(i) })}`);
        first = false;
      }
    }
    out.push(']');
  }
  out.push('}');
  return out;
}

/**
 * Writes the run manifest streaming, from the results the run's windows saved under
 * `windowsPrefix` (the latest of each (stage, partition)). A committed entry's counts, versions
 * and output come from its saved result; only an entry saved without them (its activity ran on
 * an older worker) has its partition manifest read, 16 at a time, 256 entries ahead. The text goes
 * up in multipart parts; after every part the activity heartbeats a checkpoint, so a retried
 * attempt resumes the upload instead of starting over. Small manifests are one PUT.
 */
export function makeStreamRunManifestActivity(deps: ActivityDeps) {
  return async function streamRunManifest(req: StreamManifestRequest): Promise<StreamManifestResult> {
    const ctx = Context.current();
    const loc = parseS3Url(req.summary.manifest);
    // Kafka with allowGaps: gaps found while reading are only in the partition manifests.
    const gapsOf = async (plan: Plan) => (plan.kafka?.allowGaps ? summarizeGaps(await kafkaRunGaps(deps, plan, (read) => ctx.heartbeat({ phase: 'reading Kafka gaps', read }))) : undefined);
    // An object only when it has more to say than the URL (the result of runs recorded before was a string).
    const result = (plan: Plan | null, kafkaGaps?: KafkaGapsSummary, skew?: VersionSkew): StreamManifestResult => (plan?.kafka?.allowGaps || skew
      ? { manifest: req.summary.manifest, ...(kafkaGaps ? { kafkaGaps } : {}), ...(skew ? { versionSkew: skew } : {}) } : req.summary.manifest);
    if (await objectExists(deps.s3, loc.bucket, loc.key)) { // an earlier attempt completed it
      const plan = await loadPlan(deps, req.bucket, req.planKey);
      // The windows' results are still there unless that attempt had dropped them too.
      const skew = skewOf(plan, await windowResults(deps, req.bucket, req.windowsPrefix), ctx.info.taskQueue);
      await dropWindows(deps, req);
      return result(plan, await gapsOf(plan), skew);
    }
    const cp = (ctx.info.heartbeatDetails as ManifestCheckpoint | undefined) ?? undefined;
    // Before any part is written, heartbeats say which phase the attempt is in (and keep the
    // checkpoint a retried attempt brought with it).
    ctx.heartbeat({ ...cp, phase: 'reading the plan' });
    const plan = await loadPlan(deps, req.bucket, req.planKey);
    ctx.heartbeat({ ...cp, phase: `reading window results under s3://${req.bucket}/${req.windowsPrefix}` });
    const latest = await windowResults(deps, req.bucket, req.windowsPrefix);
    const partBytes = Math.max(MIN_PART_BYTES, req.partBytes ?? PART_BYTES);
    let ck: ManifestCheckpoint = cp?.uploadId ? cp : { uploadId: '', parts: [], next: 0, writtenAt: new Date().toISOString() };
    const kafkaGaps = await gapsOf(plan);
    const skew = skewOf(plan, latest, ctx.info.taskQueue);
    const list = units(req, plan, latest, ck.writtenAt, kafkaGaps, skew);
    const limit = pLimit(16);
    const text = async (u: Unit): Promise<string> => {
      if (typeof u === 'string') return u;
      const p = plan.partitions[u.e.index];
      const keys = partitionKeys(plan.targetPrefix, plan.dataset, u.stage, p.id, u.e.version!);
      const entry = (m: Pick<PartitionManifest, 'counts' | 'codeVersion' | 'contentVersion'>, output: { url: string; sha256: string }, by: { workflowId: string; runId: string }): RunPartition => ({
        partition: p.id, name: p.name, output: output.url, manifest: formatS3Url({ bucket: plan.bucket, key: keys.manifest }), sha256: output.sha256,
        counts: m.counts, codeVersion: m.codeVersion, contentVersion: m.contentVersion, result: u.e.status === 'done' ? 'computed' : 'reused',
        workflowId: by.workflowId, runId: by.runId, attempts: u.e.attempts,
      });
      let e: RunPartition;
      if (u.e.output && u.e.computedBy && u.e.counts) {
        // The window kept what the activity returned: no read of the partition manifest.
        e = entry({ counts: u.e.counts, codeVersion: u.e.output.codeVersion, contentVersion: u.e.version! }, u.e.output, u.e.computedBy);
      } else {
        const m = await getJson<PartitionManifest>(deps.s3, plan.bucket, keys.manifest);
        e = entry(m, m.output, m.run);
      }
      return `${u.first ? '' : ','}${JSON.stringify(e)}`;
    };
    let buf: string[] = [];
    let size = 0;
    const uploadPart = async (upTo: number) => {
      if (!ck.uploadId) {
        const created = await deps.s3.send(new CreateMultipartUploadCommand({ Bucket: loc.bucket, Key: loc.key, ContentType: 'application/json' }));
        ck = { ...ck, uploadId: created.UploadId! };
      }
      const PartNumber = ck.parts.length + 1;
      const r = await deps.s3.send(new UploadPartCommand({ Bucket: loc.bucket, Key: loc.key, UploadId: ck.uploadId, PartNumber, Body: Buffer.from(buf.join(''), 'utf8') }));
      ck = { ...ck, parts: [...ck.parts, { PartNumber, ETag: r.ETag! }], next: upTo };
      buf = [];
      size = 0;
      ctx.heartbeat(ck);
    };
    for (let i = ck.next; i < list.length; i += READ_AHEAD) {
      if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
      const chunk = list.slice(i, i + READ_AHEAD);
      const texts = await Promise.all(chunk.map((u) => limit(() => text(u))));
      for (let j = 0; j < texts.length; j++) {
        buf.push(texts[j]);
        size += Buffer.byteLength(texts[j]);
        if (size >= partBytes) await uploadPart(i + j + 1);
      }
      ctx.heartbeat({ ...ck, reading: i + chunk.length, of: list.length });
    }
    if (!ck.uploadId) {
      await putObject(deps.s3, loc.bucket, loc.key, buf.join(''), 'application/json');
    } else {
      if (size > 0) await uploadPart(list.length);
      await deps.s3.send(new CompleteMultipartUploadCommand({ Bucket: loc.bucket, Key: loc.key, UploadId: ck.uploadId, MultipartUpload: { Parts: ck.parts } }));
    }
    await dropWindows(deps, req);
    return result(plan, kafkaGaps, skew);
  };
}

/** The run manifest's URL; for Kafka with allowGaps, with every gap of the run; with the run's version skew if any (which the workflow's summary then shows). */
export type StreamManifestResult = string | { manifest: string; kafkaGaps?: KafkaGapsSummary; versionSkew?: VersionSkew };

/**
 * The windows' results exist only for the run manifest: once it is written, nothing reads them,
 * and gc (which keeps to what snapshots reference) would leave them for ever. Best effort: a
 * failure here costs storage, not the run.
 */
async function dropWindows(deps: ActivityDeps, req: StreamManifestRequest): Promise<void> {
  // Only ever a run's own folder of window results (never a prefix that could hold anything else).
  if (!/(^|\/)_windows\/[^/]+\/[^/]+\/$/.test(req.windowsPrefix)) return;
  try {
    const limit = pLimit(16);
    const objects = await listObjects(deps.s3, req.bucket, req.windowsPrefix);
    await Promise.all(objects.map((o) => limit(() => deps.s3.send(new DeleteObjectCommand({ Bucket: req.bucket, Key: o.key })))));
  } catch (err) {
    logger().warn({ windows: `s3://${req.bucket}/${req.windowsPrefix}`, err: (err as Error).message }, 'could not delete the window results after writing the run manifest; they are no longer needed');
  }
}

/** A window's results, for the run manifest: one object per window. */
export function makeSaveWindowActivity(deps: ActivityDeps) {
  return async function saveWindowResults(req: WindowResults): Promise<string> {
    await putObject(deps.s3, req.bucket, req.key, JSON.stringify({ kind: 'partflow.window', entries: req.entries }), 'application/json');
    return req.key;
  };
}
