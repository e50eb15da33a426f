import {
  Client, ScheduleAlreadyRunning, ScheduleDescription, ScheduleHandle, ScheduleNotFoundError, ScheduleOptions,
  ScheduleOptionsStartWorkflowAction, ScheduleOverlapPolicy, ScheduleSpec, ScheduleUpdateOptions,
} from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType, Workflow } from '@temporalio/common';
import { Config } from '../config';
import { IngestInput, InvalidInputError, resolveNewIngest } from '../pipeline/input';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { checkDatasetSource, refuseMissingSourceBucket, refuseMissingTargetBucket } from '../client';
import { DatasetSourceConflictError } from '../pipeline/dataset-source';
import { SourceBucketMissingError, SourceEmptyError, TargetBucketMissingError } from '../pipeline/source-listing';
import { describeSpec, ScheduleOptionError } from './spec';

export * from './spec';
export { scheduleRuns } from './runs';
export * from './backfill';
export * from './trigger';
export * from './period';
export type { ScheduleRun } from './runs';

/** The search attributes partflow's ingest sets, given to scheduled runs from their start. */
const SA = {
  pipeline: defineSearchAttributeKey('PartflowPipeline', SearchAttributeType.KEYWORD),
  dataset: defineSearchAttributeKey('PartflowDataset', SearchAttributeType.KEYWORD),
};

export interface SchedulePolicies {
  overlap?: ScheduleOverlapPolicy;
  catchupWindowMs?: number;
  pauseOnFailure?: boolean;
}

export interface CreateScheduleRequest {
  id: string;
  input: IngestInput;
  spec: ScheduleSpec;
  policies?: SchedulePolicies;
  note?: string;
  paused?: boolean;
}

/** Checks an ingest input as the workflow will, so a schedule never fires with one that cannot run. */
export function checkInput(scheduleId: string, input: IngestInput): { dataset: string } {
  try {
    return resolveNewIngest(input);
  } catch (err) {
    if (err instanceof InvalidInputError) throw new ScheduleOptionError(`schedule "${scheduleId}": ${err.message}`);
    throw err;
  }
}

/**
 * The action of a partflow schedule: an ordinary `ingest` run on partflow's task queue. Temporal
 * appends the firing time to the workflow id, so runs read `<schedule id>-2026-11-22T02:00:00Z`.
 */
function ingestAction(cfg: Config, scheduleId: string, input: IngestInput): ScheduleOptionsStartWorkflowAction<Workflow> {
  const { dataset } = checkInput(scheduleId, input);
  return {
    type: 'startWorkflow',
    workflowType: 'ingest',
    taskQueue: cfg.taskQueue,
    workflowId: scheduleId,
    args: [input],
    staticSummary: `ingest ${input.pipeline} from ${input.source} (schedule ${scheduleId})`,
    typedSearchAttributes: [{ key: SA.pipeline, value: input.pipeline }, { key: SA.dataset, value: dataset }],
  };
}

/**
 * A schedule whose runs would be refused for their dataset's source (see checkDatasetSource), or
 * would fail for want of the source's bucket, is refused now.
 */
async function checkSource(cfg: Config, id: string, input: IngestInput): Promise<void> {
  try {
    const resolved = resolveNewIngest(input);
    await refuseMissingSourceBucket(cfg, resolved);
    await refuseMissingTargetBucket(cfg, resolved);
    await checkDatasetSource(cfg, resolved);
  } catch (err) {
    if (err instanceof DatasetSourceConflictError || err instanceof SourceEmptyError || err instanceof SourceBucketMissingError || err instanceof TargetBucketMissingError) throw new ScheduleOptionError(`schedule "${id}": ${err.message}`);
    throw err;
  }
}

function checkId(id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(id)) {
    throw new ScheduleOptionError(`schedule id "${id}": use letters, digits, ".", "_" and "-" (up to 200), starting with a letter or digit`);
  }
}

/** Turns the server's refusals into messages that name the schedule and say what to do. */
export function scheduleError(id: string, err: unknown, namespace: string): Error {
  if (err instanceof ScheduleAlreadyRunning) return new Error(`schedule "${id}" already exists in namespace ${namespace}: change it with \`partflow schedule update ${id} …\`, or delete it first`);
  if (err instanceof ScheduleNotFoundError) return new Error(`schedule "${id}" not found in namespace ${namespace} (\`partflow schedule list\` shows the schedules)`);
  // The server refuses a bad spec (a cron field out of range, an unknown zone) with INVALID_ARGUMENT.
  const e = err as Error & { code?: number };
  if (e instanceof TypeError || e.code === 3) return new Error(`schedule "${id}": Temporal refused it: ${e.message}`);
  return e instanceof Error ? e : new Error(String(e));
}

async function wrapped<T>(client: Client, id: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw scheduleError(id, err, client.options.namespace);
  }
}

export async function createSchedule(client: Client, cfg: Config, req: CreateScheduleRequest): Promise<ScheduleHandle> {
  checkId(req.id);
  const action = ingestAction(cfg, req.id, req.input);
  await checkSource(cfg, req.id, req.input);
  // Scheduled runs set partflow's search attributes too: a namespace without them would fail every firing.
  await ensureSearchAttributes(client.connection.operatorService, { namespace: client.options.namespace, address: cfg.temporalAddress });
  const opts: ScheduleOptions = {
    scheduleId: req.id,
    spec: req.spec,
    action,
    policies: {
      overlap: req.policies?.overlap ?? ScheduleOverlapPolicy.SKIP,
      ...(req.policies?.catchupWindowMs !== undefined ? { catchupWindow: req.policies.catchupWindowMs } : {}),
      pauseOnFailure: req.policies?.pauseOnFailure ?? false,
    },
    state: { paused: req.paused ?? false, ...(req.note ? { note: req.note } : {}) },
  };
  const handle = await wrapped(client, req.id, () => client.schedule.create(opts));
  const d = await describeSchedule(client, req.id);
  if (neverFires(d)) {
    // Nothing has fired, so nothing is lost: the schedule goes as if it had been refused.
    await handle.delete();
    throw neverFiresError(req.id, d, 'not created');
  }
  return handle;
}

/**
 * A calendar that matches no time (`0 0 31 2 *`): Temporal takes it, and the schedule would
 * never fire. Temporal's own next times say so, as its matching has it (fields ANDed, up to 2100).
 */
function neverFires(d: ScheduleDescription): boolean {
  return d.info.nextActionTimes.length === 0 && d.state.remainingActions === undefined;
}

function neverFiresError(id: string, d: ScheduleDescription, outcome: string): ScheduleOptionError {
  return new ScheduleOptionError(`schedule "${id}": ${describeSpec(d.spec)} never fires (Temporal finds no time that matches it, up to the year 2100), so it was ${outcome}; check the day of the month against the months, and the day of the week`);
}

export async function describeSchedule(client: Client, id: string): Promise<ScheduleDescription> {
  return wrapped(client, id, () => client.schedule.getHandle(id).describe());
}

/** The ingest input a schedule's runs get. */
export function scheduleInput(d: ScheduleDescription): IngestInput {
  return (d.action.args?.[0] ?? {}) as IngestInput;
}

export interface UpdateScheduleRequest {
  spec?: ScheduleSpec;
  /** Replaces the input; check it with checkInput first. */
  input?: IngestInput;
  policies?: SchedulePolicies;
  note?: string;
}

function mergeSpec(prev: ScheduleSpec, change: ScheduleSpec | undefined): ScheduleSpec {
  if (!change) return prev;
  const spec = { ...prev };
  // A new --cron or --every replaces the old times, whichever kind they were.
  if (change.cronExpressions || change.intervals) {
    spec.calendars = undefined;
    spec.cronExpressions = change.cronExpressions;
    spec.intervals = change.intervals;
  }
  if (change.timezone !== undefined) spec.timezone = change.timezone;
  if (change.jitter !== undefined) spec.jitter = change.jitter;
  return spec;
}

/** The schedule `prev` with what `req` gives changed (with an empty req: `prev` as it was). */
function updateOptions(cfg: Config, id: string, prev: ScheduleDescription, req: UpdateScheduleRequest): ScheduleUpdateOptions {
  const input = req.input ?? scheduleInput(prev);
  return {
    spec: mergeSpec(prev.spec as ScheduleSpec, req.spec),
    action: req.input
      ? { ...ingestAction({ ...cfg, taskQueue: prev.action.taskQueue }, id, input), workflowId: prev.action.workflowId ?? id }
      : { ...prev.action, workflowType: 'ingest', args: prev.action.args ?? [input] } as ScheduleOptionsStartWorkflowAction<Workflow>,
    policies: {
      overlap: req.policies?.overlap ?? prev.policies.overlap,
      catchupWindow: req.policies?.catchupWindowMs ?? prev.policies.catchupWindow,
      pauseOnFailure: req.policies?.pauseOnFailure ?? prev.policies.pauseOnFailure,
    },
    state: { paused: prev.state.paused, note: req.note ?? prev.state.note, remainingActions: prev.state.remainingActions },
    typedSearchAttributes: prev.typedSearchAttributes,
  };
}

/**
 * Changes what is given and keeps the rest (Temporal's update replaces the whole schedule). New
 * times that never fire are refused: the schedule is put back as it was.
 */
export async function updateSchedule(client: Client, cfg: Config, id: string, req: UpdateScheduleRequest): Promise<void> {
  const handle = client.schedule.getHandle(id);
  if (req.input) await checkSource(cfg, id, req.input);
  let before: ScheduleDescription | undefined;
  await wrapped(client, id, () => handle.update((prev): ScheduleUpdateOptions => {
    before = prev;
    return updateOptions(cfg, id, prev, req);
  }));
  if (!req.spec || !before) return;
  const d = await describeSchedule(client, id);
  if (neverFires(d)) {
    const was = before;
    await wrapped(client, id, () => handle.update(() => updateOptions(cfg, id, was, {})));
    throw neverFiresError(id, d, 'left as it was');
  }
}

export async function withSchedule<T>(client: Client, id: string, fn: (h: ScheduleHandle) => Promise<T>): Promise<T> {
  return wrapped(client, id, () => fn(client.schedule.getHandle(id)));
}
