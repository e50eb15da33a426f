import { FetchIsolationLevels, type KafkaConsumer as Consumer, type RecordsBatch } from './lib';
import { knownTopicId } from './starts';

/** One data record of a topic partition, as read under read_committed. */
export interface KafkaMessage {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Keys as the broker gave them: Kafka calls them strings, but nothing makes them UTF-8. */
  headers: { key: Buffer; value: Buffer | null }[];
}

/**
 * The broker no longer holds the offsets of range [start, end) from `from` (retention or
 * deleteRecords moved the log start to `logStart`). Said for the range that failed: every range
 * below the log start fails alike, and each names its own offsets, not the whole span.
 */
export class OffsetsGoneError extends Error {
  constructor(readonly topic: string, readonly partition: number, readonly from: number, readonly logStart: number, readonly range: { start: number; end: number }) {
    super(`topic ${topic} partition ${partition}: offsets ${from}-${Math.min(logStart, range.end) - 1}${from === range.start && logStart >= range.end ? ` (all of range ${range.start}-${range.end})` : ` of range ${range.start}-${range.end}`} `
      + `are no longer on the broker (its log now starts at ${logStart}, past retention)`);
    this.name = 'OffsetsGoneError';
  }
}

/** The topic now has another topic ID than the plan's: it was deleted and created again, and its offsets number other records. */
export class TopicRecreatedError extends Error {
  constructor(readonly topic: string, readonly plannedId: string, readonly currentId: string) {
    super(`topic ${topic} was deleted and created again after the run was planned: the plan read topic ID ${plannedId}, the topic now has ID ${currentId}, whose offsets number other records`);
    this.name = 'TopicRecreatedError';
  }
}

const IS_TRANSACTIONAL = 0x10;
const IS_CONTROL = 0x20;
const LOG_APPEND_TIME = 0x08;
const FETCH_BYTES = 4 * 1024 * 1024;
// A range ends at or below the last stable offset seen at plan time, so the broker always has
// more to give until `end`; empty answers in a row mean something is wrong, not "wait longer".
const MAX_EMPTY_FETCHES = 20;

/**
 * Offsets of a range that hold no data record: transaction markers, records of aborted
 * transactions, offsets a compacted log no longer has, and offsets skipped as gaps (allowGaps).
 * With the records read they account for every offset of the range.
 */
export interface OffsetTally {
  control: number;
  aborted: number;
  compacted: number;
  gaps: number;
}

export const emptyTally = (): OffsetTally => ({ control: 0, aborted: 0, compacted: 0, gaps: 0 });

export interface RangeReadOptions {
  /** With allowGaps: called instead of failing when [from, logStart) is gone; reading resumes at logStart. */
  onGap?: (from: number, to: number) => void;
  /**
   * Counts the offsets passed over without a record, added to as reading moves on: when a record
   * is yielded it covers exactly [start, record's offset), so it can be checkpointed with `next`.
   */
  tally?: OffsetTally;
  /** The topic ID the plan read: a topic with another one fails with TopicRecreatedError, before any fetch from it. */
  topicId?: string;
  signal?: AbortSignal;
}

/**
 * Reads exactly the offsets [start, end) of one topic partition with read_committed isolation:
 * records of aborted transactions are dropped (Kafka's own consumer algorithm: a producer's
 * batches from an aborted transaction's first offset up to its ABORT marker), and control
 * records (transaction markers) are skipped; they hold offsets but are not data. Yields in offset
 * order, with the offset to resume from after each record.
 */
export async function* readRange(consumer: Consumer, topic: string, partition: number, start: number, end: number, o: RangeReadOptions = {}): AsyncGenerator<{ msg: KafkaMessage; next: number }> {
  let next = start;
  let empty = 0;
  const tally = o.tally ?? emptyTally();
  // Moves `next` to `to` (at most `end`), counting the offsets passed over as `kind`.
  const pass = (to: number, kind: keyof OffsetTally) => {
    const t = Math.min(to, end);
    if (t > next) {
      tally[kind] += t - next;
      next = t;
    }
  };
  while (next < end) {
    if (o.signal?.aborted) throw o.signal.reason;
    const meta = await consumer.metadata({ topics: [topic] });
    const t = meta.topics.get(topic);
    const leader = t?.partitions[partition]?.leader;
    if (!t || leader === undefined) throw new Error(`topic ${topic} has no partition ${partition}`);
    // Checked on every fetch, as each fetches by the ID just read: a recreation mid-range is caught too.
    const id = knownTopicId(t.id);
    if (o.topicId && id && id !== o.topicId) throw new TopicRecreatedError(topic, o.topicId, id);
    let res;
    try {
      res = await consumer.fetch({
        node: leader, isolationLevel: FetchIsolationLevels.READ_COMMITTED, maxWaitTime: 500, minBytes: 1, maxBytes: FETCH_BYTES,
        topics: [{ topicId: t.id, partitions: [{ partition, fetchOffset: BigInt(next), currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: FETCH_BYTES }] }],
      });
    } catch (err) {
      const logStart = outOfRange(err);
      if (logStart === undefined) throw err;
      const ls = logStart ?? (await earliestOffset(consumer, topic, partition));
      if (ls <= next) throw err;
      if (!o.onGap) throw new OffsetsGoneError(topic, partition, next, ls, { start, end });
      o.onGap(next, Math.min(ls, end));
      pass(ls, 'gaps');
      continue;
    }
    const p = res.responses[0]?.partitions[0];
    const batches: RecordsBatch[] = p?.records ?? [];
    const aborted = [...(p?.abortedTransactions ?? [])].sort((a, b) => Number(a.firstOffset - b.firstOffset));
    const abortedProducers = new Set<bigint>();
    // The client leaves out the batches of aborted transactions whose ABORT marker is in the same
    // answer: offsets missing between batches inside such a transaction are its records, the
    // others were removed by log compaction.
    const abortedSpans = abortedRanges(p?.abortedTransactions ?? [], batches);
    const passHole = (to: number) => {
      for (const [a, b] of abortedSpans) {
        if (next >= to) return;
        if (b <= next || a >= to) continue;
        pass(Math.max(a, next), 'compacted');
        pass(Math.min(b, to), 'aborted');
      }
      pass(to, 'compacted');
    };
    let progressed = false;
    for (const b of batches) {
      const first = Number(b.firstOffset);
      const last = first + b.lastOffsetDelta;
      // Offsets between the previous batch and this one: an aborted transaction's, or compacted away.
      if (last >= next) passHole(first);
      // The bookkeeping sees every batch, also those before `next`, so that a marker read there
      // still closes its transaction.
      while (aborted.length && aborted[0].firstOffset <= BigInt(last)) abortedProducers.add(aborted.shift()!.producerId);
      let kind: keyof OffsetTally = 'compacted';
      if (b.attributes & IS_CONTROL) {
        kind = 'control';
        // An ABORT marker (control type 0) closes that producer's aborted transaction.
        const type = b.records[0]?.key?.readInt16BE(2);
        if (type === 0) abortedProducers.delete(b.producerId);
      } else if ((b.attributes & IS_TRANSACTIONAL) && abortedProducers.has(b.producerId)) {
        kind = 'aborted';
      } else if (last >= next) {
        for (const r of b.records) {
          const offset = Number(b.firstOffset) + r.offsetDelta;
          if (offset < next) continue;
          // Offsets inside a batch without a record: compaction removed them.
          pass(offset, 'compacted');
          if (offset >= end) return;
          const ts = b.attributes & LOG_APPEND_TIME ? b.maxTimestamp : b.firstTimestamp + r.timestampDelta;
          next = offset + 1;
          progressed = true;
          yield {
            msg: { offset, timestamp: Number(ts), key: r.key ?? null, value: r.value ?? null, headers: r.headers.map(([k, v]) => ({ key: k ?? Buffer.alloc(0), value: v ?? null })) },
            next,
          };
        }
      }
      if (last + 1 > next) {
        pass(last + 1, kind);
        progressed = true;
      }
      if (next >= end) return;
    }
    if (progressed) empty = 0;
    else if (++empty >= MAX_EMPTY_FETCHES) {
      throw new Error(`topic ${topic} partition ${partition}: the broker returns nothing at offset ${next} (planned range ${start}-${end}; high watermark ${p?.highWatermark}, last stable offset ${p?.lastStableOffset})`);
    }
  }
}

/** [first offset, ABORT marker) of each aborted transaction whose marker is in `batches`, by offset. */
function abortedRanges(aborted: { producerId: bigint; firstOffset: bigint }[], batches: RecordsBatch[]): [number, number][] {
  const out: [number, number][] = [];
  for (const t of aborted) {
    const marker = batches.find((b) => (b.attributes & IS_CONTROL) && b.producerId === t.producerId && b.firstOffset >= t.firstOffset && b.records[0]?.key?.readInt16BE(2) === 0);
    if (marker) out.push([Number(t.firstOffset), Number(marker.firstOffset)]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/** The broker's log start offset from an OFFSET_OUT_OF_RANGE fetch error: a number, null if unknown, undefined for other errors. */
function outOfRange(err: unknown): number | null | undefined {
  const e = err as { findBy?: (k: string, v: unknown) => unknown; response?: { responses?: { partitions?: { logStartOffset?: bigint }[] }[] } };
  if (!e?.findBy?.('apiId', 'OFFSET_OUT_OF_RANGE')) return undefined;
  const ls = e.response?.responses?.[0]?.partitions?.[0]?.logStartOffset;
  return ls !== undefined && ls >= 0n ? Number(ls) : null;
}

export async function earliestOffset(consumer: Consumer, topic: string, partition: number): Promise<number> {
  const offs = await consumer.listOffsets({ topics: [topic], partitions: { [topic]: [partition] }, timestamp: -2n });
  return Number(offs.get(topic)![partition]);
}
