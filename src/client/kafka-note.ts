import type { S3Client } from '@aws-sdk/client-s3';
import { IngestInput, InvalidInputError, ResolvedIngest } from '../pipeline/input';
import { datasetUrl } from '../pipeline/layout';
import { judgeValueSettings, recordedValue } from '../sources/kafka/dataset-value';
import { offsetsKey, readCommittedOffsets } from '../sources/kafka/offsets';
import type { Published } from '../sources/kafka/published';
import { formatS3Url } from '../storage/s3url';

/**
 * startOffsets is where a dataset's first Kafka run starts; once offsets are committed the plan
 * ignores it. Said before the run starts, so that `--start-offsets latest` on a later run is not
 * taken to skip anything. Undefined when startOffsets was not given or this is a first run.
 */
export async function ignoredStartOffsetsNote(s3: S3Client, r: ResolvedIngest, given: boolean, published: Published | null): Promise<string | undefined> {
  if (!r.kafka || !given) return undefined;
  const c = await readCommittedOffsets(s3, r.targetBucket, r.targetPrefix, r.dataset, r.kafka.topic);
  if (!c) {
    // A first run that ended partial committed no offsets, but its plan and ranges fix where the dataset starts.
    const earlier = published?.starts;
    if (!earlier) return undefined;
    return `startOffsets is ignored: an earlier run of dataset ${r.dataset} started topic ${r.kafka.topic} at ${JSON.stringify(earlier)} and ended partial `
      + '(no offsets committed yet); this run starts there too, reusing what that run committed. startOffsets applies to a dataset\'s first run only (ingest into a new dataset to start elsewhere)';
  }
  return `startOffsets is ignored: dataset ${r.dataset} already has committed offsets of topic ${r.kafka.topic} `
    + `(${formatS3Url({ bucket: r.targetBucket, key: offsetsKey(r.targetPrefix, r.dataset, r.kafka.topic, c.seq) })}), and this run goes on from them; `
    + 'startOffsets applies to a dataset\'s first run only (ingest into a new dataset to start elsewhere)';
}

/**
 * A Kafka ingest's value settings against those its dataset holds (src/sources/kafka/dataset-value.ts),
 * checked before the run starts as planning checks them: other settings are refused; none given
 * take the dataset's, which the returned input then names, with a note saying so.
 */
export function withDatasetValue(r: ResolvedIngest, input: IngestInput, published: Published | null): { input: IngestInput; note?: string } {
  if (!r.kafka) return { input };
  const verdict = judgeValueSettings(r.kafka, r.dataset, datasetUrl(r), recordedValue(published));
  if (verdict.refusal) throw new InvalidInputError([verdict.refusal]);
  if (!verdict.adopt) return { input };
  return { input: { ...input, value: verdict.adopt.value }, note: verdict.adopt.note };
}
