import { Context } from '@temporalio/activity';
import { logger } from '../src/log';
import { OffsetsCommit, OffsetsConflictError, writeOffsets } from '../src/sources/kafka/offsets';
import { formatS3Url } from '../src/storage/s3url';
import { ActivityDeps, loadPlan, nonRetryable } from './deps';
import { kafkaRunGaps } from './kafka-gaps';

export interface KafkaOffsetsRequest {
  bucket: string;
  planKey: string;
  workflowId: string;
  runId: string;
}

/**
 * Advances a dataset's Kafka offsets to the ends its plan covered. The workflow calls it only
 * after every partition of the run is committed, so offsets never run ahead of stored data;
 * a run that fails or ends partial never gets here, and the next run plans the same ranges.
 */
export function makeKafkaOffsetsActivity(deps: ActivityDeps) {
  return async function commitKafkaOffsets(req: KafkaOffsetsRequest): Promise<{ key: string; offsets: Record<string, number> }> {
    const plan = await loadPlan(deps, req.bucket, req.planKey);
    const k = plan.kafka;
    if (!k) throw nonRetryable('InvalidInput', `plan ${formatS3Url({ bucket: req.bucket, key: req.planKey })} is not a Kafka plan`);
    // The plan's gaps and those the imports found while reading (deleteRecords during the run).
    const gaps = await kafkaRunGaps(deps, plan, (read) => Context.current().heartbeat({ read }));
    const commit: OffsetsCommit = {
      kind: 'partflow.kafka-offsets', version: 1, seq: k.baseSeq + 1, topic: k.topic, ...(k.topicId ? { topicId: k.topicId } : {}), offsets: k.ends, gaps,
      plan: plan.id, run: { workflowId: req.workflowId, runId: req.runId }, committedAt: new Date().toISOString(),
    };
    let key: string;
    try {
      key = await writeOffsets(deps.s3, plan.bucket, plan.targetPrefix, plan.dataset, commit);
    } catch (err) {
      if (err instanceof OffsetsConflictError) throw nonRetryable('OffsetsConflict', err.message, err);
      throw err;
    }
    logger().info({ activity: 'commitKafkaOffsets', workflowId: Context.current().info.workflowExecution?.workflowId, key, offsets: k.ends }, 'committed Kafka offsets');
    return { key, offsets: k.ends };
  };
}
