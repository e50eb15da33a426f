import type { PartitionResult, RecordCounts } from '../src/manifest/partition';
import { counted } from '../src/log/shown';

/**
 * What the workflow knows about every (stage, partition): plain data, so queries can return it
 * and child workflows can hand it to their parent. Deterministic: only workflow time is used.
 * The types here are what queries answer in every ingest. RunState, which keeps every entry in
 * full, serves only histories from before the 'windowed-ingest' patch (ingestUnwindowed and its
 * ingestBatch children); windowed runs keep CompactState (run/compact.ts).
 */
export type PartitionStatus = 'pending' | 'running' | 'done' | 'skipped' | 'failed' | 'blocked' | 'cancelled';

export interface PartitionState {
  stage: string;
  /** The partition's stable id, and its readable name (when the plan sent names). */
  partition: string;
  name?: string;
  index: number;
  status: PartitionStatus;
  /** Attempts of the last run of this partition's activity. */
  attempts: number;
  /** How many times the workflow scheduled it (1, plus one per retry). */
  runs: number;
  error?: string;
  errorType?: string;
  records?: RecordCounts;
  durationMs?: number;
  outputKey?: string;
  /** The committed output's content version, which this partition's next stages read. */
  version?: string;
  codeVersion?: string;
}

export interface StageProgress {
  total: number;
  pending: number;
  running: number;
  done: number;
  skipped: number;
  failed: number;
  blocked: number;
  /** Not finished when the run was cancelled (never started, or stopped); only in a cancelled run. */
  cancelled: number;
  records: RecordCounts;
  /** Records in per second since the stage's first partition started (workflow time). */
  recordsPerSecond: number;
}

export interface Progress {
  phase: 'planning' | 'running' | 'waiting-for-retry' | 'finishing' | 'done';
  /** s3:// URL of the plan, once there is one. */
  plan?: string;
  partitions: number;
  stages: Record<string, StageProgress>;
  /** Failed partitions waiting for a retry: "stage <name>: error". */
  failed: string[];
  /** The Temporal Schedule that started the run, if one did. */
  schedule?: string;
  /** Windows (child workflows) in flight, in a run of more than one: its `running` counts what they hold, queued there or started. */
  windows?: number;
  /** When the ingest's first run started (Temporal's start time is the current run's after continue-as-new). */
  startedAt?: string;
}

function key(stage: string, index: number): string {
  return `${stage}/${index}`;
}

/** The state of an unwindowed run (histories from before 'windowed-ingest'); new runs use CompactState. */
export class RunState {
  phase: Progress['phase'] = 'planning';
  /** First line of the run's current details, e.g. "ingest birdstrikes from s3://…". */
  title = '';
  /** A last word for people, e.g. why a signal was ignored. */
  note = '';
  /** The Temporal Schedule that started the run, if one did. */
  scheduledBy?: string;
  plan?: string;
  partitions = 0;
  stages: string[] = [];
  ids: string[] = [];
  names: string[] | null = null;
  private readonly entries = new Map<string, PartitionState>();
  private readonly started = new Map<string, number>();

  init(partitions: number, stages: string[], indices: number[], ids: string[], names: string[] | null): void {
    this.partitions = partitions;
    this.stages = stages;
    this.ids = ids;
    this.names = names;
    for (const i of indices) for (const s of stages) this.entries.set(key(s, i), this.newState(s, i));
    this.phase = 'running';
  }

  get(stage: string, index: number): PartitionState {
    let e = this.entries.get(key(stage, index));
    if (!e) this.entries.set(key(stage, index), (e = this.newState(stage, index)));
    return e;
  }

  begin(stage: string, index: number): PartitionState {
    const e = this.get(stage, index);
    if (!this.started.has(stage)) this.started.set(stage, Date.now());
    e.status = 'running';
    e.runs++;
    delete e.error;
    delete e.errorType;
    return e;
  }

  succeeded(r: PartitionResult, index: number): void {
    Object.assign(this.get(r.stage, index), {
      status: r.status, attempts: r.attempt, records: r.counts, durationMs: r.durationMs, outputKey: r.outputKey, version: r.contentVersion, codeVersion: r.codeVersion,
    });
  }

  failed(stage: string, index: number, error: string, errorType: string, attempts: number): void {
    Object.assign(this.get(stage, index), { status: 'failed', error: error.slice(0, 2000), errorType, attempts });
  }

  blocked(stage: string, index: number): void {
    this.get(stage, index).status = 'blocked';
  }

  /**
   * The entries of a batchStates signal that can be merged: signals can be sent by hand, so
   * anything that is not a well-formed state of a known stage and partition is left out.
   */
  validStates(x: unknown): { valid: PartitionState[]; invalid: number } {
    if (!Array.isArray(x)) return { valid: [], invalid: 1 };
    const statuses = ['pending', 'running', 'done', 'skipped', 'failed', 'blocked'];
    const valid = x.filter((e): e is PartitionState => typeof e === 'object' && e !== null
      && this.stages.includes((e as PartitionState).stage) && Number.isInteger((e as PartitionState).index)
      && (e as PartitionState).index >= 0 && (e as PartitionState).index < this.partitions
      && typeof (e as PartitionState).partition === 'string' && statuses.includes((e as PartitionState).status)
      && Number.isInteger((e as PartitionState).runs) && Number.isInteger((e as PartitionState).attempts));
    return { valid, invalid: x.length - valid.length };
  }

  /** Replaces entries with those a child workflow reports. */
  merge(states: PartitionState[]): void {
    for (const s of states) this.entries.set(key(s.stage, s.index), { ...s });
    for (const s of states) if (s.status !== 'pending' && !this.started.has(s.stage)) this.started.set(s.stage, Date.now());
  }

  all(): PartitionState[] {
    return [...this.entries.values()];
  }

  list(filter: { status?: PartitionStatus; stage?: string; offset?: number; limit?: number } = {}): { total: number; partitions: PartitionState[] } {
    const match = this.all()
      .filter((e) => (!filter.status || e.status === filter.status) && (!filter.stage || e.stage === filter.stage))
      .sort((a, b) => a.index - b.index || this.stages.indexOf(a.stage) - this.stages.indexOf(b.stage));
    const offset = filter.offset ?? 0;
    return { total: match.length, partitions: match.slice(offset, offset + (filter.limit ?? 1000)) };
  }

  failures(): PartitionState[] {
    return this.all().filter((e) => e.status === 'failed');
  }

  pendingIndices(): number[] {
    return [...new Set(this.all().filter((e) => e.status === 'pending').map((e) => e.index))].sort((a, b) => a - b);
  }

  /**
   * Marks failed partitions (optionally only these partitions and stages) and whatever they
   * blocked downstream as pending again. Returns what was re-queued.
   */
  requeue(filter: { partitions?: string[]; stages?: string[] }, downstream: (stage: string) => string[]): PartitionState[] {
    const out: PartitionState[] = [];
    for (const e of this.failures()) {
      if (filter.partitions?.length && !filter.partitions.includes(e.partition) && !(e.name && filter.partitions.includes(e.name))) continue;
      if (filter.stages?.length && !filter.stages.includes(e.stage)) continue;
      e.status = 'pending';
      out.push(e);
      for (const d of downstream(e.stage)) {
        const b = this.get(d, e.index);
        if (b.status === 'blocked') {
          b.status = 'pending';
          out.push(b);
        }
      }
    }
    return out;
  }

  progress(now = Date.now()): Progress {
    const stages: Record<string, StageProgress> = {};
    for (const s of this.stages) {
      stages[s] = { total: this.partitions, pending: 0, running: 0, done: 0, skipped: 0, failed: 0, blocked: 0, cancelled: 0, records: { in: 0, out: 0, rejected: 0, dropped: 0 }, recordsPerSecond: 0 };
    }
    for (const e of this.entries.values()) {
      const st = stages[e.stage];
      if (!st) continue;
      // "done" counts every committed partition, reused ones too; "skipped" says how many were reused.
      if (e.status === 'skipped') st.done++;
      st[e.status]++;
      if (e.records && (e.status === 'done' || e.status === 'skipped')) for (const k of ['in', 'out', 'rejected', 'dropped'] as const) st.records[k] += e.records[k];
    }
    for (const s of this.stages) {
      const t0 = this.started.get(s);
      const secs = t0 === undefined ? 0 : (now - t0) / 1000;
      stages[s].recordsPerSecond = secs > 0 ? Math.round(stages[s].records.in / secs) : 0;
      stages[s].pending = this.partitions - (stages[s].running + stages[s].done + stages[s].failed + stages[s].blocked);
    }
    const failed = this.failures().slice(0, 100).map((e) => `${e.stage} ${e.name ?? e.partition}: ${e.error ?? 'failed'}`);
    return { phase: this.phase, ...(this.plan ? { plan: this.plan } : {}), partitions: this.partitions, stages, failed, ...(this.scheduledBy ? { schedule: this.scheduledBy } : {}) };
  }

  private newState(stage: string, index: number): PartitionState {
    const name = this.names?.[index];
    return { stage, partition: this.ids[index] ?? `#${index}`, ...(name ? { name } : {}), index, status: 'pending', attempts: 0, runs: 0 };
  }

  /** Per stage, the content version each partition committed ('' where none). */
  versions(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const s of this.stages) out[s] = new Array<string>(this.partitions).fill('');
    for (const e of this.entries.values()) if (e.version && (e.status === 'done' || e.status === 'skipped') && out[e.stage]) out[e.stage][e.index] = e.version;
    return out;
  }

  describe(): string {
    const p = this.progress();
    const lines = Object.entries(p.stages).map(([n, s]) =>
      `${n}: ${s.done}/${s.total} done (${s.skipped} reused), ${s.running} running, ${s.failed} failed, ${s.blocked} blocked; records in ${s.records.in}, out ${s.records.out}, rejected ${s.records.rejected}`);
    const failed = p.failed.length ? ['', `**failed partitions** (retry with the retryFailed update or signal):`, ...p.failed.slice(0, 20).map((f) => `- ${f}`)] : [];
    return [...(this.title ? [this.title] : []), `**${p.phase}** — ${counted(p.partitions, 'partition')}`, ...lines, ...failed, ...(this.note ? ['', this.note] : [])].join('\n');
  }
}


