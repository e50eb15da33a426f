import { isCancellation, log, proxyActivities, RetryPolicy, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { IngestSummary } from '../../src/manifest/run';
import type { PlanSummary } from '../../src/pipeline/plan';
import { describeFailure } from './activity-options';

const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 };
const { commitSnapshot, commitKafkaOffsets } = proxyActivities<Activities>({ startToCloseTimeout: '1h', heartbeatTimeout: '2m', retry });
const { streamRunManifest } = proxyActivities<Activities>({ startToCloseTimeout: '6h', heartbeatTimeout: '2m', retry: { ...retry, maximumAttempts: 20 } });

/**
 * What a windowed run does once its partitions are settled, in the old path's order: the run
 * manifest, then the dataset snapshot, then Kafka offsets (only when every partition is committed
 * and the snapshot lists them: otherwise the next run covers the same ranges). A cancelled run stops after its manifest: the user asked it to stop, so it publishes
 * no new snapshot for consumers, as a cancel of the old path did not either.
 */
export async function commitRun(plan: PlanSummary, summary: IngestSummary, runId: string, windowsPrefix: string, cancelled: boolean): Promise<IngestSummary> {
  const { workflowId } = workflowInfo();
  const written = await streamRunManifest({ bucket: plan.bucket, planKey: plan.planKey, workflowId, runId, summary, windowsPrefix });
  // Kafka with allowGaps: the gaps found while reading too; stages computed by other versions than
  // planned (runs recorded before these got a string).
  if (typeof written === 'object' && written) {
    if (written.kafkaGaps) summary.kafkaGaps = written.kafkaGaps;
    else delete summary.kafkaGaps;
    // Outputs of other code versions than the plan's (no new command: replays of older runs, whose
    // result has none, take the same path).
    if (written.versionSkew) summary.versionSkew = written.versionSkew;
  }
  if (cancelled) return summary;
  try {
    const snap = await commitSnapshot({ manifest: summary.manifest });
    // No new command: a recorded result without `kept` takes the same path.
    summary.snapshot = { number: snap.snapshot, url: snap.url, ...(snap.supersededBy ? { supersededBy: snap.supersededBy } : {}), ...(snap.kept ? { kept: snap.kept } : {}) };
  } catch (err) {
    if (isCancellation(err)) throw err;
    // The outputs and run manifest are committed; the next run's snapshot will include them.
    summary.snapshotError = describeFailure(err, retry.maximumAttempts!).error;
    log.warn('no dataset snapshot was committed', { error: summary.snapshotError });
  }
  if (plan.kafka && summary.status === 'completed' && !summary.snapshotError) {
    await commitKafkaOffsets({ bucket: plan.bucket, planKey: plan.planKey, workflowId, runId });
  }
  return summary;
}
