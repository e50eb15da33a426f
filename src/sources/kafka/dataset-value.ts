import type { Published } from './published';
import type { KafkaSource, KafkaValueSettings } from './source';

/**
 * A dataset's Kafka raw records hold the values as its runs decoded them: JSON text, or records of
 * the value schema. A run that read them another way would put records of another shape in the
 * same stage (or reject every message, with the offsets advancing past them), so a dataset keeps
 * the value settings of its last run: they are read from its latest snapshot's plan.
 */
export interface DatasetValue {
  value: KafkaValueSettings;
  /** Where they were read, for messages: "snapshot 3 (plan s3://…)". */
  where: string;
}

/** The value settings of the run that made the dataset's latest snapshot, or null (no snapshot yet, or it is not of a Kafka run). */
export function recordedValue(published: Published | null): DatasetValue | null {
  if (!published?.value) return null;
  // Only confluent values use a registry; runs from before others were refused one may name it.
  const { registry, ...rest } = published.value;
  const value = published.value.format === 'confluent' && registry ? { ...rest, registry } : rest;
  return { value, where: `snapshot ${published.snapshot} (plan ${published.plan})` };
}

const norm = (v: KafkaValueSettings) => ({ format: v.format, schema: v.schema ?? null, registry: v.registry?.replace(/\/+$/, '') ?? null });

export function sameValueSettings(a: KafkaValueSettings, b: KafkaValueSettings): boolean {
  const [x, y] = [norm(a), norm(b)];
  return x.format === y.format && x.schema === y.schema && x.registry === y.registry;
}

/** As the CLI flags that give them: "--value-format avro --value-schema orders@1". */
export function valueFlags(v: KafkaValueSettings): string {
  return [`--value-format ${v.format}`, ...(v.schema ? [`--value-schema ${v.schema}`] : []), ...(v.registry ? [`--registry ${v.registry}`] : [])].join(' ');
}

/** As the workflow input gives them: {"format": "avro", "schema": "orders@1"}. */
export function valueJson(v: KafkaValueSettings): string {
  return JSON.stringify({ format: v.format, ...(v.schema ? { schema: v.schema } : {}), ...(v.registry ? { registry: v.registry } : {}) });
}

export interface ValueVerdict {
  /** The ingest must not run: its value settings differ from the dataset's. */
  refusal?: string;
  /** The ingest gave no value settings: it takes the dataset's, and says so. */
  adopt?: { value: KafkaValueSettings; note: string };
}

/** Judges an ingest's value settings against those the dataset's last run used. */
export function judgeValueSettings(src: KafkaSource, dataset: string, datasetUrl: string, recorded: DatasetValue | null): ValueVerdict {
  if (!recorded || sameValueSettings(src.value, recorded.value)) return {};
  if (src.valueDefaulted) {
    return {
      adopt: {
        value: recorded.value,
        note: `no value settings were given: this run decodes the values of topic ${src.topic} as dataset ${dataset} holds them, ${valueJson(recorded.value)} (${valueFlags(recorded.value)}), from its ${recorded.where}`,
      },
    };
  }
  return {
    refusal: `value settings ${valueJson(src.value)} (${valueFlags(src.value)}) differ from those of dataset ${dataset} (${datasetUrl}), whose records were ingested with ${valueJson(recorded.value)} (${valueFlags(recorded.value)}, recorded in its ${recorded.where}). `
      + `One dataset holds one shape of values: give the dataset's settings (or no value settings at all, to use them), or ingest with these settings into a new dataset ("dataset": "${dataset}-${src.value.format}", --dataset ${dataset}-${src.value.format})`,
  };
}
