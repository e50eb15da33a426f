import { WaitingForRetry } from '../client';
import { notRunCounts } from '../client/not-run';
import type { StageProgress } from '../../workflows/state';
import type { IngestSummary } from '../manifest/run';
import { isPackedFailure } from '../pipeline/packed-failures';
import { EMPTY_KEYS_IN_PLAN } from '../pipeline/plan';
import { describeVersionSkew } from '../manifest/version-skew';
import { counted } from '../log/shown';
import { bucketMissingMessage } from '../storage/objects';

/** "Workflow execution failed" alone says nothing: follow the causes down to the one that does. */
export function explainError(e: Error): string {
  // S3's own text, "The specified bucket does not exist", names neither the bucket nor the store.
  const s3 = e as Error & { BucketName?: string };
  if (s3.name === 'NoSuchBucket') {
    return bucketMissingMessage(s3.BucketName, process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL);
  }
  const parts: string[] = [];
  for (let c: unknown = e; c instanceof Error && parts.length < 5; c = (c as { cause?: unknown }).cause) {
    // Temporal's wrappers ("Workflow execution failed", "Activity task failed") say only where the
    // failure passed through: the cause beneath says what failed.
    if (TEMPORAL_WRAPPERS.has(c.name) && (c as { cause?: unknown }).cause instanceof Error) continue;
    // A cause whose words are already said (an S3 failure's, wrapped by the activity) is not said twice.
    const said = c.message;
    if (parts.length === 0 || (said && !parts.some((p) => p.includes(said)))) parts.push(said);
  }
  return parts.join(': ') || e.message;
}

/** Temporal's failures that only carry another (their `name`, which Temporal sets on each class). */
const TEMPORAL_WRAPPERS = new Set(['WorkflowFailedError', 'ActivityFailure', 'ChildWorkflowFailure']);

export function printSummary(s: IngestSummary, out = process.stdout): void {
  out.write(`\nIngest ${s.status}: ${counted(s.partitions, 'partition')} of ${s.dataset} (pipeline ${s.pipeline})\n`);
  for (const [name, st] of Object.entries(s.stages)) {
    const notRun = notRunCounts(st).map((c) => `, ${c}`).join('');
    out.write(`  ${name.padEnd(8)} ${String(st.succeeded).padStart(5)} ok ${String(st.failed).padStart(3)} failed ${String(st.skipped).padStart(4)} reused${notRun} | records in ${st.records.in}, out ${st.records.out}, rejected ${st.records.rejected}, dropped ${st.records.dropped}${st.skipped > 0 && st.skipped === st.succeeded ? ', all in reused outputs' : ''}\n`);
    out.write(`           ${st.output}\n`);
    // A partition whose every record was rejected still completes: say where those records are.
    if (st.records.rejected > 0) out.write(`           rejected records, each with its reason: <partition>/<version>.rejects.avro beside its output (\`partflow partitions\` counts them per partition, \`partflow cat\` reads one)\n`);
    for (const f of st.failures.slice(0, 5)) out.write(`           ! ${f.name ? `${f.name} (${f.partition})` : f.partition}: ${f.error}\n`);
    const unlisted = Math.max(st.failed, st.failures.length) - Math.min(5, st.failures.length);
    if (unlisted > 0) out.write(`           … and ${unlisted} more failed (the run manifest lists them all: ${s.manifest})\n`);
  }
  // Left out of the run, so said where it is read: a provider's empty export, or its "_late.csv", is not lost in silence.
  const leftOut = (e: { count: number; urls: string[] }, what: string, more: string) => {
    if (e.count === 1 && e.urls.length === 1) out.write(`  left out: ${what}: ${e.urls[0]}\n`);
    else {
      out.write(`  left out: ${what}:\n`);
      for (const u of e.urls.slice(0, 5)) out.write(`           ${u}\n`);
      if (e.count > 5) out.write(`           … and ${e.count - 5} more${more}\n`);
    }
  };
  const e = s.emptySources;
  if (e) leftOut(e, `${e.count} empty source object${e.count === 1 ? '' : 's'} (no records)`, ` (the plan names the first ${EMPTY_KEYS_IN_PLAN}: ${s.plan})`);
  const h = s.hiddenSources;
  if (h) leftOut(h, `${h.count} source object${h.count === 1 ? '' : 's'} whose name${h.count === 1 ? '' : 's'} or folder start${h.count === 1 ? 's' : ''} with "_" or "." (markers, temporary and hidden files; name one as the source to read it)`, ` (the run's result names the first ${h.urls.length}: partflow status --json)`);
  const g = s.kafkaGaps;
  if (g) {
    // Offsets never ingested: said where the run is read, not only in the committed offsets.
    out.write(`  gaps:     ${g.offsets} offset${g.offsets === 1 ? '' : 's'} in ${g.ranges} range${g.ranges === 1 ? '' : 's'} no longer on the broker, skipped (allowGaps):\n`);
    for (const r of g.first.slice(0, 5)) out.write(`           partition ${r.partition}: ${r.from}-${r.to - 1}\n`);
    if (g.ranges > 5) out.write(`           … and ${g.ranges - 5} more (the run manifest lists the first ${g.first.length}; the committed offsets all)\n`);
  }
  // Outputs of two definitions of one stage in one run: said loudly, where the run is read.
  if (s.versionSkew) for (const line of describeVersionSkew(s.versionSkew, s.pipeline)) out.write(`  WARNING:  ${line}\n`);
  out.write(`  outputs:  ${s.outputPrefix}\n  manifest: ${s.manifest}\n`);
  if (s.snapshot) out.write(`  snapshot: ${s.snapshot.number} (${s.snapshot.url})\n`);
  const by = s.snapshot?.supersededBy;
  if (by) {
    out.write(`  superseded: ${by.workflowId} started later (${by.startedAt}) and committed snapshot ${by.snapshot} first, so snapshot ${s.snapshot!.number}\n`
      + '           keeps its partitions and its failed ones (carried or missing), not this run\'s (which saw the source earlier);\n'
      + '           a new ingest reuses every unchanged output\n');
  }
  const kept = s.snapshot?.kept;
  if (kept) {
    // Without this a snapshot that keeps an old pack looks like one that lost the new objects only.
    out.write(`  carried forward: ${counted(kept.count, 'partition')} this run no longer plans, whose source objects now go to partitions that failed:\n`
      + `           snapshot ${s.snapshot!.number} keeps their last good output until those succeed\n`);
    for (const k of kept.first.slice(0, 5)) {
      out.write(`           ${k.stage} ${k.name} (${k.partition}), for ${k.failed.map((f) => `${f.name} (${f.partition})`).join(', ')}\n`);
    }
    if (kept.count > 5) out.write(`           … and ${kept.count - 5} more (the snapshot's head lists them: "keeps" of its failed partitions)\n`);
  }
  if (s.snapshotError) out.write(`  no snapshot: ${s.snapshotError}\n`);
}

/** A stage's line in `partflow status`: its progress, with the partitions that did not run when some did not. */
export function stageProgressLine(name: string, s: StageProgress, windowed = false): string {
  const ended = [`${s.failed} failed`, ...notRunCounts(s)].join(', ');
  // A run's windows report only ends: what they hold may still wait there for an activity slot.
  const running = windowed ? `${s.running} running or queued in windows` : `${s.running} running`;
  return `  ${name.padEnd(8)} ${s.done}/${s.total} done, ${running}, ${ended}; ${s.records.out} records out, ${s.records.rejected} rejected\n`;
}

// What the source objects themselves cause (the messages of CorruptInput, InputChanged, InputMissing, SchemaMismatch).
// OffsetsGoneError's message, as the Kafka import reports it.
const GONE_FROM_KAFKA = /are no longer on the broker/;
const IN_THE_SOURCE = /was deleted and created again|corrupt input|changed since planning|does not exist|cannot be read with the expected schema|output schema|not valid UTF-8/;

/** Failed partitions listed one per line; the rest are counted and `partitions` named. */
const LISTED = 20;

export function printWaiting(w: WaitingForRetry, out = process.stdout): void {
  const total = Math.max(w.total, w.failed.length);
  out.write(`\n${w.workflowId} has ${counted(total, 'failed partition')} and waits for a retry:\n`);
  for (const f of w.failed.slice(0, LISTED)) out.write(`  ! ${f}\n`);
  const shown = Math.min(LISTED, w.failed.length);
  if (total > shown) out.write(`  … and ${total - shown} more: partflow partitions ${w.workflowId} --status failed\n`);
  if (w.failed.length > 0 && w.failed.every((f) => GONE_FROM_KAFKA.test(f))) {
    // The run's plan fixed allowGaps; a retry asks the broker again for offsets it no longer has.
    out.write(`The broker no longer holds these offsets, so a retry of this run would fail the same way. To go on past them:\n`
      + `  partflow finish ${w.workflowId}   (publishes what succeeded; the dataset's Kafka offsets are not advanced), then\n`
      + `  start a new ingest of the topic with "allowGaps": true: it plans from the committed offsets again, reuses what is\n`
      + `  already stored, and records the offsets it skips as a gap\n`);
    return;
  }
  if (w.failed.length > 0 && w.failed.every((f) => IN_THE_SOURCE.test(f))) {
    // A retry of this run would read the same objects and fail the same way: lead with what works.
    out.write(`Every failure is in the source objects, so a retry of this run would fail the same way. Fix the objects, then:\n`
      + `  partflow finish ${w.workflowId}   (publishes what succeeded), and start a new ingest of the source: it reuses every committed partition\n`);
    if (w.failed.some(isPackedFailure)) {
      out.write('Objects packed into one partition fail together, and must share a schema: start that ingest with --no-pack ("pack": false)\n'
        + 'to give each object its own partition, so that one object\'s failure is its own.\n');
    }
    return;
  }
  out.write(`Fix the cause, then: partflow retry ${w.workflowId}   (or: partflow partitions ${w.workflowId} --status failed)\n`);
  // A retry reads the objects this run planned: after a corrupt, changed, missing or mismatched source it fails the same way.
  out.write('A retry reads the same source objects and lookup tables (as they were when the run was planned). If the cause is\n'
    + 'in them (corrupt, changed, missing, other schemas, a bad lookup table), fix them and start a new ingest of the\n'
    + 'source instead: it reuses every committed partition.\n');
  out.write(`To publish what succeeded now instead of waiting: partflow finish ${w.workflowId}\n`);
}

/** Cells are cut to this many characters, ending with "…", except URLs and the last column. */
const MAX_CELL = 80;
const URL_IN_CELL = /[a-z][a-z0-9+.-]*:\/\/\S/i;

/** A cell as the table shows it: a URL whole (a cut one copied from the table would name another object), anything else cut visibly. */
function cellText(text: string, whole: boolean): string {
  return whole || text.length <= MAX_CELL || URL_IN_CELL.test(text) ? text : `${text.slice(0, MAX_CELL - 1)}…`;
}

export function table(rows: Record<string, unknown>[], out = process.stdout): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]);
  const cell = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  // The last column is not cut: it is where errors go, and their cause is at their end.
  const last = cols.length - 1;
  const cells = rows.map((r) => cols.map((c, i) => cellText(cell(r[c]), i === last)));
  const width = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  out.write(cols.map((c, i) => c.padEnd(width[i])).join('  ').trimEnd() + '\n');
  for (const r of cells) out.write(r.map((v, i) => v.padEnd(width[i])).join('  ').trimEnd() + '\n');
}
