import { createHash } from 'node:crypto';
import { maxRecordBytes } from '../../config';
import { DEFAULT_READ_LIMITS } from '../../avro/limits';
import { REJECT_PREFIX_BYTES } from '../../formats/records';
import type { KafkaMessage } from './reader';
import { ValueError } from './values';

// The raw writer closes a block once it passes 64,000 bytes, so a block holds at most that much
// before its last record; the rest is room for the record's own fields and the reject's reason.
const BLOCK_SLACK = 64_000 + 64 * 1024;

/**
 * The most bytes of key, value and headers one message may bring into a raw record: the record
 * limit (PARTFLOW_MAX_RECORD_BYTES), and never so much that the block holding it would be over the
 * reader's block limit (PARTFLOW_MAX_BLOCK_BYTES): partflow must be able to read what it wrote.
 */
export function messageLimit(): number {
  return Math.max(1, Math.min(maxRecordBytes(), DEFAULT_READ_LIMITS.maxBlockBytes - BLOCK_SLACK));
}

/** Bytes of the message's key, value and headers. */
export function messageBytes(m: KafkaMessage): number {
  let n = (m.key?.length ?? 0) + (m.value?.length ?? 0);
  for (const h of m.headers) n += h.key.length + (h.value?.length ?? 0);
  return n;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The headers as the raw record holds them (string keys). A key that is not UTF-8 cannot be
 * stored without changing it, so the message becomes a reject (which keeps the key's bytes).
 */
export function rawHeaders(m: KafkaMessage): { key: string; value: Buffer | null }[] {
  return m.headers.map((h, i) => {
    try {
      return { key: utf8.decode(h.key), value: h.value };
    } catch {
      throw new ValueError(`header ${i}'s key (${h.key.length} bytes) is not UTF-8 text; the raw record's header keys are strings`);
    }
  });
}

type Bounded = string | { prefix: string; bytes: number; sha256: string } | null;

function bounded(b: Buffer | null, keepWhole: boolean): Bounded {
  if (b === null) return null;
  if (keepWhole || b.length <= REJECT_PREFIX_BYTES) return b.toString('base64');
  return { prefix: b.subarray(0, REJECT_PREFIX_BYTES).toString('base64'), bytes: b.length, sha256: createHash('sha256').update(b).digest('hex') };
}

// Headers a bounded reject keeps in full or as prefixes; the rest are only counted.
const MAX_REJECT_HEADERS = 64;

/**
 * The reject's `record`: the message as it was (offset, timestamp, key, headers and value; bytes
 * in base64), so nothing is lost. A message whose base64 would not fit under `limit` keeps, of each
 * key, value and header value over 16 KiB, its first 16 KiB with its size and sha256 instead: the
 * rejects object must stay readable too.
 */
export function rejectRecord(m: KafkaMessage, limit = messageLimit()): string {
  // base64 is 4/3 of the bytes; headers add their JSON punctuation.
  const whole = Math.ceil(messageBytes(m) / 3) * 4 + 64 * m.headers.length <= limit;
  const headers = (whole ? m.headers : m.headers.slice(0, MAX_REJECT_HEADERS)).map((h) => ({ key: bounded(h.key, whole), value: bounded(h.value, whole) }));
  return JSON.stringify({
    offset: m.offset, timestamp: m.timestamp, key: bounded(m.key, whole), headers,
    ...(headers.length < m.headers.length ? { headersOmitted: m.headers.length - headers.length } : {}),
    value: bounded(m.value, whole),
  });
}
