import type { StartOffsets } from './source';

/** Where one topic partition's range starts, and why (kept in the plan). */
export type StartedFrom = 'committed' | 'startOffsets' | 'earlier run' | 'earliest (new partition)';

/**
 * The start offset of topic partition `p`. startOffsets is where the FIRST run starts: once the
 * dataset has committed offsets it is ignored, and a partition they do not name (added to the
 * topic since) starts at its earliest offset, so nothing that arrived before this run is lost.
 * `earlier` is where the first run started when it published ranges but committed no offsets
 * (it ended partial): later runs start there too, not at startOffsets resolved again, or
 * "earliest" would follow the log start that retention moved past offsets never ingested.
 */
export function startOf(
  p: number, low: number, high: number, committed: Record<string, number> | null, startOffsets: StartOffsets, earlier: Record<string, number> | null = null,
): { start: number; from: StartedFrom } {
  const prior = committed ?? earlier;
  if (prior) {
    const prev = prior[String(p)];
    return prev !== undefined ? { start: prev, from: committed ? 'committed' : 'earlier run' } : { start: low, from: 'earliest (new partition)' };
  }
  if (startOffsets === 'earliest') return { start: low, from: 'startOffsets' };
  if (startOffsets === 'latest') return { start: high, from: 'startOffsets' };
  return { start: startOffsets[String(p)] ?? low, from: 'startOffsets' };
}

/** startOffsets naming partitions the topic does not have (first run only): the problem, or null. */
export function unknownStartPartitions(topic: string, count: number, startOffsets: StartOffsets): string | null {
  if (typeof startOffsets === 'string') return null;
  const bad = Object.keys(startOffsets).filter((k) => Number(k) >= count);
  if (!bad.length) return null;
  return `startOffsets names partition${bad.length > 1 ? 's' : ''} ${bad.join(', ')} of topic ${topic}, which has ${count === 1 ? 'only partition 0' : `partitions 0-${count - 1}`}`;
}

// Brokers without topic IDs (Kafka < 2.8) answer the all-zero UUID: no ID to compare.
const NO_ID = /^0{8}-0{4}-0{4}-0{4}-0{12}$/;

export function knownTopicId(id: string | undefined): string | undefined {
  return id && !NO_ID.test(id) ? id : undefined;
}

/**
 * A topic deleted and created again keeps its name but gets a new topic ID, and its offsets
 * count from 0 again: the committed offsets would skip the new topic's first records. The
 * problem, or null when the IDs match or either is unknown (offsets from before topic IDs were
 * recorded are accepted; the next commit records the ID).
 */
export function topicIdChanged(o: { topic: string; dataset: string; committedId?: string; currentId?: string; offsetsKey: string; byPlan?: boolean }): string | null {
  const cur = knownTopicId(o.currentId);
  if (!o.committedId || !cur || o.committedId === cur) return null;
  const what = o.byPlan ? `earlier partial run (plan ${o.offsetsKey}) read topic ID ${o.committedId}` : `offsets (${o.offsetsKey}) were committed from topic ID ${o.committedId}`;
  return `topic ${o.topic} was deleted and created again: dataset ${o.dataset}'s ${what}, `
    + `and the topic now has ID ${cur}, whose offsets number other records. Nothing was ingested. Ingest the new topic into a new dataset `
    + `("dataset": "${o.dataset}-${cur.slice(0, 8)}", or --dataset); this dataset keeps what it holds of the old topic`;
}
