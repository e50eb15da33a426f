import type { RecordCounts } from '../../src/manifest/partition';
import type { PartitionState, PartitionStatus, Progress, StageProgress } from '../state';

/**
 * The parent's view of a large ingest: one status byte per (stage, partition) and counters kept
 * up to date on every change, so that progress is O(stages) and nothing per activity completion
 * walks the partitions. Per-partition details (versions, counts, durations) live in the window
 * result objects in S3; only failures keep details here, and only the first MAX_FAILURE_DETAILS.
 */
export const STATUSES: PartitionStatus[] = ['pending', 'running', 'done', 'skipped', 'failed', 'blocked'];
export const enum Code { pending = 0, running = 1, done = 2, skipped = 3, failed = 4, blocked = 5 }
export const MAX_FAILURE_DETAILS = 200;

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

/** What survives continue-as-new: a few hundred KiB at 100k partitions and 4 stages, worst case. */
export interface CompactCarry {
  partitions: number;
  stages: string[];
  status: string[];
  records: RecordCounts[];
  failures: FailureDetail[];
  started: (number | null)[];
}

const zero = (): RecordCounts => ({ in: 0, out: 0, rejected: 0, dropped: 0 });

/** Run-length encoding ("<code><count>,…") when it is shorter, else two codes per byte in base64. */
export function packCodes(a: Uint8Array): string {
  const runs: string[] = [];
  for (let i = 0; i < a.length;) {
    let j = i;
    while (j < a.length && a[j] === a[i]) j++;
    runs.push(`${a[i]}${j - i}`);
    i = j;
  }
  const rle = `r${runs.join(',')}`;
  if (rle.length <= a.length * 0.7) return rle;
  const nib = new Uint8Array(Math.ceil(a.length / 2));
  for (let i = 0; i < a.length; i++) nib[i >> 1] |= (i & 1) ? a[i] << 4 : a[i];
  return `n${toBase64(nib)}`;
}

export function unpackCodes(s: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  if (s.startsWith('r')) {
    let i = 0;
    for (const run of s.slice(1).split(',').filter(Boolean)) {
      const code = Number(run[0]);
      out.fill(code, i, i + Number(run.slice(1)));
      i += Number(run.slice(1));
    }
    return out;
  }
  const nib = fromBase64(s.slice(1));
  for (let i = 0; i < length; i++) out[i] = (i & 1) ? nib[i >> 1] >> 4 : nib[i >> 1] & 15;
  return out;
}

// The workflow sandbox has no Buffer: a small base64 codec of its own.
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
function toBase64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i] << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    s += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + (i + 1 < b.length ? B64[(n >> 6) & 63] : '=') + (i + 2 < b.length ? B64[n & 63] : '=');
  }
  return s;
}
function fromBase64(s: string): Uint8Array {
  const clean = s.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let o = 0;
  for (let i = 0; i < clean.length; i += 4) {
    const n = (B64.indexOf(clean[i]) << 18) | (B64.indexOf(clean[i + 1]) << 12) | ((B64.indexOf(clean[i + 2] ?? 'A') & 63) << 6) | (B64.indexOf(clean[i + 3] ?? 'A') & 63);
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

/** What a small run keeps of each (stage, partition), for its partitions query. */
export interface EntryDetail {
  attempts: number;
  runs: number;
  records?: RecordCounts;
  durationMs?: number;
  version?: string;
}

export class CompactState {
  /** Filled only for runs small enough to run in one window (bounded by the window size). */
  readonly details = new Map<string, EntryDetail>();
  readonly status: Uint8Array[];
  private readonly counts: number[][];
  readonly records: RecordCounts[];
  readonly failureDetails = new Map<string, FailureDetail>();
  readonly started: (number | null)[];

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
    this.counts[s][old]--;
    this.counts[s][code]++;
    this.status[s][i] = code;
    if (code === Code.running && this.started[s] === null) this.started[s] = Date.now();
    if (records && (code === Code.done || code === Code.skipped)) for (const k of ['in', 'out', 'rejected', 'dropped'] as const) this.records[s][k] += records[k];
    if (code !== Code.failed) this.failureDetails.delete(`${this.stages[s]}/${i}`);
  }

  count(code: Code, s?: number): number {
    return s === undefined ? this.counts.reduce((n, c) => n + c[code], 0) : this.counts[s][code];
  }

  fail(f: FailureDetail): void {
    const s = this.stageIndex(f.stage);
    this.set(s, f.index, Code.failed);
    if (this.failureDetails.size < MAX_FAILURE_DETAILS) this.failureDetails.set(`${f.stage}/${f.index}`, { ...f, error: f.error.slice(0, 1000) });
  }

  label(i: number): { partition: string; name?: string } {
    const name = this.names?.[i];
    return { partition: this.ids[i] ?? `#${i}`, ...(name ? { name } : {}) };
  }

  progress(phase: Progress['phase'], plan: string | undefined, now = Date.now()): Progress {
    const stages: Record<string, StageProgress> = {};
    this.stages.forEach((name, s) => {
      const c = this.counts[s];
      const t0 = this.started[s];
      const secs = t0 === null ? 0 : (now - t0) / 1000;
      stages[name] = {
        total: this.partitions, pending: c[Code.pending], running: c[Code.running], done: c[Code.done] + c[Code.skipped], skipped: c[Code.skipped],
        failed: c[Code.failed], blocked: c[Code.blocked], records: { ...this.records[s] }, recordsPerSecond: secs > 0 ? Math.round(this.records[s].in / secs) : 0,
      };
    });
    const failed = [...this.failureDetails.values()].slice(0, 100).map((f) => `${f.stage} ${f.name ?? f.partition}: ${f.error || 'failed'}`);
    return { phase, ...(plan ? { plan } : {}), partitions: this.partitions, stages, failed };
  }

  /** One page of (partition, stage) entries in plan order; a query, so a scan is fine here. */
  list(q: { status?: PartitionStatus; stage?: string; offset?: number; limit?: number } = {}): { total: number; partitions: PartitionState[] } {
    const want = q.status ? STATUSES.indexOf(q.status) : -1;
    const ss = this.stages.map((_, s) => s).filter((s) => !q.stage || this.stages[s] === q.stage);
    const total = ss.reduce((n, s) => n + (want < 0 ? this.partitions : this.counts[s][want]), 0);
    const offset = Math.max(0, q.offset ?? 0);
    const limit = Math.max(0, q.limit ?? 1000);
    const out: PartitionState[] = [];
    let seen = 0;
    for (let i = 0; i < this.partitions && out.length < limit; i++) {
      for (const s of ss) {
        const code = this.status[s][i];
        if (want >= 0 && code !== want) continue;
        if (seen++ < offset) continue;
        if (out.length >= limit) break;
        const f = this.failureDetails.get(`${this.stages[s]}/${i}`);
        const d = this.details.get(`${this.stages[s]}/${i}`);
        out.push({
          stage: this.stages[s], ...this.label(i), ...(f ? { partition: f.partition, ...(f.name ? { name: f.name } : {}) } : {}), index: i, status: STATUSES[code],
          attempts: f?.attempts ?? d?.attempts ?? 0, runs: f?.runs ?? d?.runs ?? (code === Code.pending ? 0 : 1), ...(f ? { error: f.error, errorType: f.errorType } : {}),
          ...(d?.records && (code === Code.done || code === Code.skipped) ? { records: d.records, durationMs: d.durationMs, version: d.version } : {}),
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
