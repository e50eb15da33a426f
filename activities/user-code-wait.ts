import { CancelledFailure, Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { setupTimeoutMs } from '../src/worker/settings';
import { FailureTypes } from './deps';

/**
 * Waits on promises of a pipeline's own code (a stage's setup, an async transform) that nothing
 * guarantees will ever settle. Awaited bare, one that never does holds the worker's activity slot
 * for good: no heartbeat goes out, a cancel or a worker shutdown is never noticed, and the server
 * later blames a lost worker. Each wait here races the promise against the activity's
 * cancellation signal and a limit, and heartbeats meanwhile.
 */

/** What is still awaited, for the line a stopping worker logs when something did not let go. */
const awaited = new Map<object, { what: string; since: number }>();

/** "pipeline "p" stage "s" partition p-… (name): setup, for 12 s", one per wait still open. */
export function userCodeAwaited(now = Date.now()): string[] {
  return [...awaited.values()].map((w) => `${w.what}, for ${Math.round((now - w.since) / 1000)} s`);
}

/** Promises of a pipeline's code a wait let go of that have not settled since: they may hold the process open. */
const abandoned = new Map<object, string>();

function abandon(p: Promise<unknown>, what: string): void {
  const token = {};
  abandoned.set(token, what);
  const drop = () => abandoned.delete(token);
  p.then(drop, drop);
}

/** What a stopped worker let go of that is still pending (a setup or transform that ignored the cancel). */
export function userCodeAbandoned(): string[] {
  return [...abandoned.values()];
}

function cancelledError(signal: AbortSignal, what: string): Error {
  return signal.reason instanceof Error ? signal.reason : new CancelledFailure(`${what}: cancelled`);
}

export interface SetupWait {
  /** "pipeline "p" stage "s" partition p-… (name)": the failure and the log name it. */
  what: string;
  limitMs: number;
  /** Sends a (throttled) heartbeat: a slow setup is alive, not lost. */
  beat: () => void;
  /** The error to fail with once limitMs have passed. */
  overdue: () => Error;
  log: Logger;
}

/** A stage's setup: heartbeats while it runs, gives up at the limit or on the activity's cancellation. */
export function awaitSetup<T>(p: Promise<T>, o: SetupWait): Promise<T> {
  const signal = Context.current().cancellationSignal;
  const token = {};
  return new Promise<T>((resolve, reject) => {
    const finish = () => {
      clearInterval(beats);
      clearTimeout(limit);
      signal.removeEventListener('abort', onAbort);
      awaited.delete(token);
    };
    const onAbort = () => {
      finish();
      abandon(p, `${o.what}: setup`);
      o.log.warn({ reason: cancelledError(signal, o.what).message }, `${o.what}: the stage's setup had not finished when the attempt was cancelled: left behind, its slot given back`);
      reject(cancelledError(signal, o.what));
    };
    const beats = setInterval(o.beat, 1_000).unref();
    const limit = setTimeout(() => {
      finish();
      abandon(p, `${o.what}: setup`);
      reject(o.overdue());
    }, o.limitMs).unref();
    awaited.set(token, { what: `${o.what}: setup`, since: Date.now() });
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort);
    p.then((v) => { finish(); resolve(v); }, (err) => { finish(); reject(err); });
  });
}

/** The watch gave up on a transform's promise; `failure` is what the attempt fails with. */
export class AbandonedWait extends Error {
  constructor(readonly failure: Error) {
    super(failure.message);
  }
}

interface Pending {
  p: Promise<unknown>;
  since: number;
  index: number;
  label: string;
  reject: (err: AbandonedWait) => void;
}

export interface RecordWaitOptions {
  /** "stage "s" partition p-… (name)". */
  where: () => string;
  /** A record's transform that has not settled after this long fails the attempt; undefined: no limit. */
  limitMs: number | undefined;
  beat: (extra: Record<string, unknown>) => void;
  /** The error to fail with for a record that has not settled within limitMs. */
  overdue: (label: string, index: number, ms: number) => Error;
  log: Logger;
}

/**
 * The async transforms of one partition: one timer for all its records (armed at the first wait,
 * stopped after an idle turn), not one per record. While a record is awaited it heartbeats,
 * fails the attempt once limitMs have passed, and lets go at once on cancellation.
 */
export class RecordWatch {
  private pending?: Pending;
  private timer?: NodeJS.Timeout;
  private idle = 0;
  private readonly signal = Context.current().cancellationSignal;
  private readonly token = {};

  constructor(private readonly o: RecordWaitOptions) {}

  wait<T>(p: Promise<T>, label: string, index: number): Promise<T> {
    if (this.signal.aborted) return Promise.reject(new AbandonedWait(cancelledError(this.signal, this.o.where())));
    this.arm();
    return new Promise<T>((resolve, reject) => {
      const w: Pending = { p, since: Date.now(), index, label, reject };
      this.pending = w;
      p.then((v) => { this.settled(w); resolve(v); }, (err) => { this.settled(w); reject(err); });
    });
  }

  private settled(w: Pending): void {
    if (this.pending === w) this.pending = undefined;
  }

  private arm(): void {
    this.idle = 0;
    if (this.timer) return;
    this.timer = setInterval(() => this.check(), Math.min(1_000, this.o.limitMs ?? 1_000)).unref();
    this.signal.addEventListener('abort', this.onAbort);
  }

  private disarm(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.signal.removeEventListener('abort', this.onAbort);
    awaited.delete(this.token);
  }

  private readonly onAbort = (): void => {
    const w = this.pending;
    this.disarm();
    if (!w) return;
    this.pending = undefined;
    abandon(w.p, `${this.o.where()}: transform of record ${w.index} of ${w.label}`);
    const err = cancelledError(this.signal, this.o.where());
    this.o.log.warn({ reason: err.message, record: w.index, input: w.label }, `${this.o.where()}: the transform of record ${w.index} had not settled when the attempt was cancelled: left behind, its slot given back`);
    w.reject(new AbandonedWait(err));
  };

  private check(): void {
    const w = this.pending;
    if (!w) {
      awaited.delete(this.token);
      // Records come and go between checks; a whole idle turn means the awaits are over.
      if (++this.idle >= 2) this.disarm();
      return;
    }
    this.idle = 0;
    const ms = Date.now() - w.since;
    if (this.o.limitMs !== undefined && ms >= this.o.limitMs) {
      this.pending = undefined;
      this.disarm();
      abandon(w.p, `${this.o.where()}: transform of record ${w.index} of ${w.label}`);
      w.reject(new AbandonedWait(this.o.overdue(w.label, w.index, ms)));
      return;
    }
    if (ms >= 1_000) {
      awaited.set(this.token, { what: `${this.o.where()}: transform of record ${w.index} of ${w.label}`, since: w.since });
      this.o.beat({ awaiting: { record: w.index, input: w.label, seconds: Math.round(ms / 1000) } });
    }
  }
}

/** What a partition attempt's waits need of its PartitionRun. */
interface Run {
  readonly log: Logger;
  where(): string;
  beat(extra?: Record<string, unknown>, force?: boolean): void;
}

/**
 * The guard runSetup awaits a worker's stage setup with: PARTFLOW_SETUP_TIMEOUT bounds it, and a
 * setup that runs out fails the attempt (retryable: what it waits on may answer next time).
 */
export function setupGuard(run: Run, pipeline: string): (p: Promise<unknown>) => Promise<unknown> {
  const limitMs = setupTimeoutMs();
  const what = `pipeline "${pipeline}" ${run.where()}`;
  return (p) => awaitSetup(p, {
    what, limitMs, log: run.log,
    beat: () => run.beat({ awaiting: 'setup' }),
    overdue: () => ApplicationFailure.create({
      type: FailureTypes.TransformFailed, nonRetryable: false,
      message: `${what}: the stage's setup has not finished after ${seconds(limitMs)} s (PARTFLOW_SETUP_TIMEOUT); a promise it awaits may never settle`,
    }),
  });
}

/**
 * The watch over a partition's async transforms. The limit is the attempt's heartbeat timeout
 * (the ingest's heartbeatTimeoutSeconds): a record that long without an answer is the silence
 * that timeout is for, and failing it here names the record instead of blaming a lost worker.
 */
export function recordWatch(run: Run): RecordWatch {
  const limitMs = Context.current().info.heartbeatTimeoutMs || undefined;
  return new RecordWatch({
    where: () => run.where(), limitMs, log: run.log,
    beat: (extra) => run.beat(extra),
    // The limit, not the time measured: the check that finds it overdue may come a little later.
    overdue: (label, index, ms) => ApplicationFailure.create({
      type: FailureTypes.TransformFailed, nonRetryable: false,
      message: `${run.where()}: the transform of record ${index} of ${label} has not settled within ${seconds(limitMs ?? ms)} s (the ingest's heartbeatTimeoutSeconds); a promise it returned may never settle`,
    }),
  });
}

function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}
