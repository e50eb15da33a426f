/**
 * A Kafka source as the ingest input names it. Pure code: the workflow validates with it.
 *
 *   "source": "kafka://broker1:9092,broker2:9092/orders",
 *   "startOffsets": "earliest" | "latest" | {"0": 1200, "2": 0},
 *   "allowGaps": false,
 *   "value": {"format": "json" | "avro" | "avro-single-object" | "confluent", "schema": "orders@1", "registry": "http://…"}
 */

import { shown } from '../../log/shown';

export type ValueFormat = 'json' | 'avro' | 'avro-single-object' | 'confluent';
export const VALUE_FORMATS: readonly ValueFormat[] = ['json', 'avro', 'avro-single-object', 'confluent'];

export interface KafkaValueSettings {
  format: ValueFormat;
  /** A schema of schemas/ ("orders@1"): the value's schema (avro), or the reader schema the others resolve to. */
  schema?: string;
  /** A Schema-Registry-compatible HTTP API (confluent values). */
  registry?: string;
}

export type StartOffsets = 'earliest' | 'latest' | Record<string, number>;

export interface KafkaSource {
  brokers: string[];
  topic: string;
  startOffsets: StartOffsets;
  allowGaps: boolean;
  value: KafkaValueSettings;
  /** No "value" was given: planning takes the dataset's settings (src/sources/kafka/dataset-value.ts) rather than the default. */
  valueDefaulted?: true;
}

export const KAFKA_SCHEME = 'kafka://';

export function isKafkaUrl(s: unknown): s is string {
  return typeof s === 'string' && s.startsWith(KAFKA_SCHEME);
}

// Kafka's own rule for topic names (kafka.common.Topic): 1-249 of [a-zA-Z0-9._-].
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
const HOST_PORT = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/;

/** `kafka://host:port[,host:port…]/topic` → brokers and topic; throws with what is wrong. */
export function parseKafkaUrl(url: string): { brokers: string[]; topic: string } {
  if (!isKafkaUrl(url)) throw new Error(`expected kafka://host:port/topic, got ${shown(url)}`);
  const rest = url.slice(KAFKA_SCHEME.length);
  const slash = rest.indexOf('/');
  if (slash < 0) throw new Error(`${shown(url)} names no topic (expected kafka://host:port/topic)`);
  const brokers = rest.slice(0, slash).split(',').filter((b) => b !== '');
  const topic = rest.slice(slash + 1);
  if (brokers.length === 0) throw new Error(`${shown(url)} names no broker (expected kafka://host:port/topic)`);
  for (const b of brokers) {
    const m = HOST_PORT.exec(b);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw new Error(`${shown(url)}: broker ${shown(b)} is not host:port`);
  }
  if (!TOPIC.test(topic) || topic === '.' || topic === '..') throw new Error(`${shown(url)}: ${shown(topic)} is not a Kafka topic name (1-249 letters, digits, ".", "_", "-")`);
  return { brokers, topic };
}

/** Validates the Kafka-only input fields; problems are appended to `problems`. */
export function resolveKafkaSource(url: string, input: Record<string, unknown>, problems: string[]): KafkaSource | undefined {
  let parsed: { brokers: string[]; topic: string } | undefined;
  try {
    parsed = parseKafkaUrl(url);
  } catch (err) {
    problems.push(`source: ${(err as Error).message}`);
  }
  let startOffsets: StartOffsets = 'earliest';
  const so = input.startOffsets;
  if (so !== undefined) {
    if (so === 'earliest' || so === 'latest') startOffsets = so;
    else if (typeof so === 'object' && so !== null && !Array.isArray(so)) {
      const map: Record<string, number> = {};
      for (const [k, v] of Object.entries(so)) {
        if (!/^(0|[1-9]\d{0,8})$/.test(k)) {
          problems.push(`startOffsets: ${shown(k)} is not a partition number${/^\d+$/.test(k) && k.length <= 10 ? ` (write ${Number(k)})` : ''}`);
        }
        else if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) problems.push(`startOffsets["${k}"] must be an offset (an integer >= 0), got ${shown(v)}`);
        else map[String(Number(k))] = v;
      }
      startOffsets = map;
    } else problems.push(`startOffsets must be "earliest", "latest" or {"<partition>": <offset>}, got ${shown(so)}`);
  }
  if (input.allowGaps !== undefined && typeof input.allowGaps !== 'boolean') problems.push(`allowGaps must be true or false, got ${shown(input.allowGaps)}`);
  const value: KafkaValueSettings = { format: 'json' };
  const v = input.value;
  if (v !== undefined) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) problems.push('value must be an object like {"format": "json"}');
    else {
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) if (!['format', 'schema', 'registry'].includes(k)) problems.push(`value: unknown field ${shown(k)} (known: format, schema, registry)`);
      if (!VALUE_FORMATS.includes(o.format as ValueFormat)) problems.push(`value.format must be one of ${VALUE_FORMATS.join(', ')}, got ${shown(o.format)}`);
      else value.format = o.format as ValueFormat;
      if (o.schema !== undefined) {
        if (typeof o.schema !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*(@\d+)?$/.test(o.schema)) problems.push(`value.schema must name a schema of schemas/ like "orders@1", got ${shown(o.schema)}`);
        else value.schema = o.schema;
      }
      if (o.registry !== undefined) {
        if (typeof o.registry !== 'string' || !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(o.registry)) problems.push(`value.registry must be an http(s):// URL, got ${shown(o.registry)}`);
        else value.registry = o.registry.replace(/\/+$/, '');
      }
      // Accepted and ignored, it would look as if JSON values were checked against it.
      if (value.format === 'json' && value.schema) problems.push('value.schema is for avro, avro-single-object and confluent values; "json" values are kept as their JSON text, unchecked against a schema');
      if (value.format !== 'confluent' && value.registry) problems.push(`value.registry is for confluent values (whose writer schemas it serves); "${value.format}" values never ask it`);
      if ((value.format === 'avro' || value.format === 'avro-single-object') && !value.schema) problems.push(`value.format "${value.format}" needs value.schema (a schema of schemas/, e.g. "orders@1")`);
      if (value.format === 'confluent' && !value.registry) problems.push('value.format "confluent" needs value.registry (the Schema Registry\'s http:// URL)');
      if (value.format === 'confluent' && !value.schema) problems.push('value.format "confluent" needs value.schema (the reader schema every value is resolved to)');
    }
  }
  if (!parsed) return undefined;
  return { ...parsed, startOffsets, allowGaps: input.allowGaps === true, value, ...(v === undefined ? { valueDefaulted: true as const } : {}) };
}
