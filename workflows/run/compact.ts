import type { RecordCounts } from '../../src/manifest/partition';
import { cutError, SHOWN_ERROR_CHARS } from './cut-error';
import type { PartitionState, PartitionStatus, Progress, StageProgress } from '../state';

/**
 * The parent's view of an ingest: one status byte per (stage, partition) and counters kept up to
 * date on every change, so that progress is O(stages) and nothing per activity completion walks
 * the partitions. Per-partition details (versions, counts, durations) live in the window result
 * objects in S3. Here, failures keep theirs (the first MAX_FAILURE_DETAILS only); a run of one
 * window, run in the parent, also keeps every entry's in `details` for its partitions query
 * (bounded by the window size); continue-as-new carries the failures' details, not those.
 */
export const STATUSES: PartitionStatus[] = ['pending', 'running', 'done', 'skipped', 'failed', 'blocked', 'cancelled'];
/** `cancelled`: not finished when the run was cancelled (never started, or stopped); set only as a cancelled run ends. */
export const enum Code { pending = 0, running = 1, done = 2, skipped = 3, failed = 4, blocked = 5, cancelled = 6 }
export const MAX_FAILURE_DETAILS = 100;
/** A failure past the first MAX_FAILURE_DETAILS: its error is in its window's history, not here. */
export const UNKEPT_ERROR = `not kept here (a run keeps the errors of its first ${MAX_FAILURE_DETAILS} failures): see the failed activity in its window workflow's history (<workflow id>/w-…); the run manifest lists every failure once the run ends`;

export interface FailureDetail {
  stage: string;
  index: number;
  partition: string;
  name?: string;
  error: string;
  errorType: string;
  attempts: number;
  runs: number;
}

/** What survives continue-as-new: at most ~330 KiB at 100k partitions and 5 stages (test/unit/compact-state.test.ts). */
export interface CompactCarry {
  partitions: number;
  stages: string[];
  status: string[];
  records: RecordCounts[];
  failures: FailureDetail[];
  started: (number | null)[];
}

const zero = (): RecordCounts => ({ in: 0, out: 0, rejected: 0, dropped: 0 });

/** Run-length encoding ("<code><count>,…") when it is shorter, else one base64 character per two codes. */
export function packCodes(a: Uint8Array): string {
  const runs: string[] = [];
  for (let i = 0; i < a.length;) {
    let j = i;
    while (j < a.length && a[j] === a[i]) j++;
    runs.push(`${a[i]}${j - i}`);
    i = j;
  }
  const rle = `r${runs.join(',')}`;
  if (rle.length <= a.length / 2) return rle;
  let out = 'p';
  for (let i = 0; i < a.length; i += 2) out += B64[a[i] * 8 + (a[i + 1] ?? 0)];
  return out;
}

export function unpackCodes(s: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  if (s.startsWith('r')) {
    let i = 0;
    for (const run of s.slice(1).split(',').filter(Boolean)) {
      const n = Number(run.slice(1));
      out.fill(Number(run[0]), i, i + n);
      i += n;
    }
    return out;
  }
  for (let i = 0; i < length; i++) {
    const v = B64.indexOf(s[1 + (i >> 1)]);
    out[i] = (i & 1) ? v & 7 : v >> 3;
  }
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** What a small run keeps of each (stage, partition), for its partitions query. */
export interface EntryDetail {
  attempts: number;
  runs: number;
  records?: RecordCounts;
  durationMs?: number;
  version?: string;
  outputKey?: string;
}

export class CompactState {
  /** Filled only for runs small enough to run in one window (bounded by the window size). */
  readonly details = new Map<string, EntryDetail>();
  readonly status: Uint8Array[];
  private readonly counts: number[][];
  readonly records: RecordCounts[];
  readonly failureDetails = new Map<string, FailureDetail>();
  readonly started: (number | null)[];
  /**
   * Entries held running whose activity has started, where the workflow can see it (a run of one
   * window, run in the parent): the rest of them wait in their window for a slot, and queries show
   * them pending. Memory only, never a command: queries read it, nothing decides on it.
   */
  private readonly active = new Set<number>();
  /** False for runs of more than one window, whose windows report only ends: queries then show every held entry running. */
  tracksStarts = false;

  constructor(readonly partitions: number, readonly stages: string[], readonly ids: string[], readonly names: string[] | null, carry?: CompactCarry) {
    this.status = stages.map((_, s) => (carry ? unpackCodes(carry.status[s], partitions) : new Uint8Array(partitions)));
    this.counts = this.status.map((a) => {
      const c = new Array<number>(STATUSES.length).fill(0);
      for (let i = 0; i < a.length; i++) c[a[i]]++;
      return c;
    });
    this.records = carry ? carry.records.map((r) => ({ ...r })) : stages.map(zero);
    this.started = carry ? [...carry.started] : stages.map(() => null);
    for (const f of carry?.failures ?? []) this.failureDetails.set(`${f.stage}/${f.index}`, f);
  }

  stageIndex(stage: string): number {
    return this.stages.indexOf(stage);
  }

  get(s: number, i: number): Code {
    return this.status[s][i] as Code;
  }

  set(s: number, i: number, code: Code, records?: RecordCounts): void {
    const old = this.status[s][i];
    this.active.delete(s * this.partitions + i);
    this.counts[s][old]--;
    this.counts[s][code]++;
    this.status[s][i] = code;
    if (code === Code.running && this.started[s] === null) this.started[s] = Date.now();
    if (records && (code === Code.done || code === Code.skipped)) for (const k of ['in', 'out', 'rejected', 'dropped'] as const) this.records[s][k] += records[k];
    if (code !== Code.failed) this.failureDetails.delete(`${this.stages[s]}/${i}`);
  }

  /** The activity of a held (running) entry has started. */
  begin(s: number, i: number): void {
    if (this.status[s][i] === Code.running) this.active.add(s * this.partitions + i);
  }

  /** The status queries show: an entry held running whose activity has not started yet is pending. */
  private shown(s: number, i: number): Code {
    const code = this.status[s][i] as Code;
    return code === Code.running && this.tracksStarts && !this.active.has(s * this.partitions + i) ? Code.pending : code;
  }

  /** Per status, the counts queries show (see shown()). */
  private shownCounts(s: number): number[] {
    const c = [...this.counts[s]];
    if (this.tracksStarts) {
      let started = 0;
      for (const k of this.active) if (Math.floor(k / this.partitions) === s) started++;
      c[Code.pending] += c[Code.running] - started;
      c[Code.running] = started;
    }
    return c;
  }

  count(code: Code, s?: number): number {
    return s === undefined ? this.counts.reduce((n, c) => n + c[code], 0) : this.counts[s][code];
  }

  fail(f: FailureDetail): void {
    const s = this.stageIndex(f.stage);
    this.set(s, f.index, Code.failed);
    if (this.failureDetails.size < MAX_FAILURE_DETAILS) this.failureDetails.set(`${f.stage}/${f.index}`, { ...f, error: cutError(f.error, SHOWN_ERROR_CHARS) });
  }

  label(i: number): { partition: string; name?: string } {
    const name = this.names?.[i];
    return { partition: this.ids[i] ?? `#${i}`, ...(name ? { name } : {}) };
  }

  progress(phase: Progress['phase'], plan: string | undefined, now = Date.now()): Progress {
    const stages: Record<string, StageProgress> = {};
    this.stages.forEach((name, s) => {
      const c = this.shownCounts(s);
      const t0 = this.started[s];
      const secs = t0 === null ? 0 : (now - t0) / 1000;
      stages[name] = {
        total: this.partitions, pending: c[Code.pending], running: c[Code.running], done: c[Code.done] + c[Code.skipped], skipped: c[Code.skipped],
        failed: c[Code.failed], blocked: c[Code.blocked], cancelled: c[Code.cancelled], records: { ...this.records[s] }, recordsPerSecond: secs > 0 ? Math.round(this.records[s].in / secs) : 0,
      };
    });
    const failed = [...this.failureDetails.values()].slice(0, 100).map((f) => `${f.stage} ${f.name ?? f.partition}: ${f.error || 'failed'}`);
    return { phase, ...(plan ? { plan } : {}), partitions: this.partitions, stages, failed };
  }

  /** One page of (partition, stage) entries in plan order; a query, so a scan is fine here. */
  list(q: { status?: PartitionStatus; stage?: string; offset?: number; limit?: number } = {}): { total: number; partitions: PartitionState[] } {
    const want = q.status ? STATUSES.indexOf(q.status) : -1;
    const ss = this.stages.map((_, s) => s).filter((s) => !q.stage || this.stages[s] === q.stage);
    const total = ss.reduce((n, s) => n + (want < 0 ? this.partitions : this.shownCounts(s)[want]), 0);
    const offset = Math.max(0, q.offset ?? 0);
    const limit = Math.max(0, q.limit ?? 1000);
    const out: PartitionState[] = [];
    let seen = 0;
    for (let i = 0; i < this.partitions && out.length < limit; i++) {
      for (const s of ss) {
        const code = this.shown(s, i);
        if (want >= 0 && code !== want) continue;
        if (seen++ < offset) continue;
        if (out.length >= limit) break;
        const f = this.failureDetails.get(`${this.stages[s]}/${i}`);
        const d = this.details.get(`${this.stages[s]}/${i}`);
        out.push({
          stage: this.stages[s], ...this.label(i), ...(f ? { partition: f.partition, ...(f.name ? { name: f.name } : {}) } : {}), index: i, status: STATUSES[code],
          attempts: f?.attempts ?? d?.attempts ?? 0, runs: f?.runs ?? d?.runs ?? (code === Code.pending ? 0 : 1), ...(f ? { error: f.error, errorType: f.errorType } : code === Code.failed ? { error: UNKEPT_ERROR } : {}),
          ...(d?.records && (code === Code.done || code === Code.skipped) ? { records: d.records, durationMs: d.durationMs, version: d.version, ...(d.outputKey ? { outputKey: d.outputKey } : {}) } : {}),
        });
      }
    }
    return { total, partitions: out };
  }

  carry(): CompactCarry {
    return {
      partitions: this.partitions, stages: this.stages, status: this.status.map(packCodes), records: this.records,
      failures: [...this.failureDetails.values()], started: this.started,
    };
  }
}
