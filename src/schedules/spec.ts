import { CalendarSpecDescription, ScheduleOverlapPolicy, ScheduleSpec, ScheduleSpecDescription } from '@temporalio/client';
import { durationMs, formatMs } from '../pipeline/input';

export { formatMs };

/** A schedule option that cannot work, said before anything reaches Temporal. */
export class ScheduleOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleOptionError';
  }
}

/** The CLI's names of Temporal's overlap policies, in the order `--help` lists them. */
export const OVERLAP_POLICIES = {
  'skip': ScheduleOverlapPolicy.SKIP,
  'buffer-one': ScheduleOverlapPolicy.BUFFER_ONE,
  'buffer-all': ScheduleOverlapPolicy.BUFFER_ALL,
  'cancel-other': ScheduleOverlapPolicy.CANCEL_OTHER,
  'terminate-other': ScheduleOverlapPolicy.TERMINATE_OTHER,
  'allow-all': ScheduleOverlapPolicy.ALLOW_ALL,
} as const;
export type OverlapName = keyof typeof OVERLAP_POLICIES;

export function overlapPolicy(name: string): ScheduleOverlapPolicy {
  const p = (OVERLAP_POLICIES as Record<string, ScheduleOverlapPolicy>)[name.trim().toLowerCase()];
  if (!p) throw new ScheduleOptionError(`unknown overlap policy "${name}": use one of ${Object.keys(OVERLAP_POLICIES).join(', ')}`);
  return p;
}

/** The CLI name of a policy Temporal reports ("BUFFER_ONE" -> "buffer-one"). */
export function overlapName(p: ScheduleOverlapPolicy | undefined): string {
  return (p ?? 'SKIP').toLowerCase().replace(/_/g, '-');
}

/**
 * A duration option in milliseconds, for every command that takes one (--every, --jitter, gc
 * --grace, …): durationMs reads it, as it reads the workflow's waitForRetry and partitionTimeout,
 * so "1.5h" means 90m wherever a duration is taken.
 */
export function durationOption(option: string, v: string, min = 0): number {
  const ms = durationMs(v);
  if (ms === undefined || ms < min) {
    throw new ScheduleOptionError(`--${option} must be a duration like 30s, 10m, 1.5h or 3d${min ? ` (at least ${formatMs(min)})` : ''}, got "${v}"`);
  }
  return ms;
}

export function checkTimezone(tz: string): string {
  try {
    // Throws a RangeError for a zone the IANA database does not have.
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new ScheduleOptionError(`unknown time zone "${tz}": use an IANA name such as UTC, Europe/Paris or America/New_York`);
  }
  return tz;
}

// Temporal takes 5 to 7 fields, or one of its shorthands; the server checks each field's range.
const CRON_SHORTHANDS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

function checkCron(cron: string): string {
  const c = cron.trim();
  if (c.includes('#')) throw new ScheduleOptionError(`--cron "${cron}": leave out the "#" comment; use --note for words about the schedule`);
  if (/^(CRON_)?TZ=/.test(c)) throw new ScheduleOptionError(`--cron "${cron}": give the time zone with --timezone, not in the expression`);
  if (c.startsWith('@')) {
    if (!CRON_SHORTHANDS.includes(c)) throw new ScheduleOptionError(`--cron "${cron}": unknown shorthand; use ${CRON_SHORTHANDS.join(', ')}, or --every for intervals`);
    return c;
  }
  const fields = c.split(/\s+/);
  if (fields.length < 5 || fields.length > 7) {
    throw new ScheduleOptionError(`--cron "${cron}" has ${fields.length} field(s); expected 5 (minute hour day-of-month month day-of-week), e.g. '0 2 * * *' for 02:00 every day`);
  }
  return c;
}

export interface SpecOptions {
  cron?: string;
  every?: string;
  timezone?: string;
  jitter?: string;
}

/**
 * The Temporal spec for --cron or --every (exactly one), --timezone and --jitter. The cron text
 * rides along as the calendar's comment, so `describe` can show it as it was typed.
 */
export function scheduleSpec(o: SpecOptions): ScheduleSpec {
  if (!o.cron && !o.every) throw new ScheduleOptionError("say when to run: --cron '0 2 * * *' (02:00 every day) or --every 6h");
  return specChanges(o);
}

/** Only what the options give (for `update`, which keeps the rest of the spec). */
export function specChanges(o: SpecOptions): ScheduleSpec {
  if (o.cron && o.every) throw new ScheduleOptionError('give either --cron or --every, not both');
  const spec: ScheduleSpec = {};
  if (o.cron) {
    const c = checkCron(o.cron);
    spec.cronExpressions = [`${c} #${c}`];
  } else if (o.every) {
    spec.intervals = [{ every: durationOption('every', o.every, 1000) }];
  }
  if (o.timezone) spec.timezone = checkTimezone(o.timezone);
  if (o.jitter !== undefined) spec.jitter = durationOption('jitter', o.jitter);
  return spec;
}

/** "cron 0 2 * * * (Europe/Paris)", "every 30s", as a person reads a spec back. */
export function describeSpec(spec: ScheduleSpecDescription | undefined): string {
  if (!spec) return '';
  const parts: string[] = [];
  for (const c of spec.calendars ?? []) parts.push(c.comment ? `cron ${c.comment}` : `calendar ${calendarText(c)}`);
  for (const i of spec.intervals ?? []) parts.push(`every ${formatMs(i.every)}${i.offset ? ` (offset ${formatMs(i.offset)})` : ''}`);
  // A zone only moves calendar times; intervals count from the epoch.
  const tz = spec.calendars?.length ? ` (${spec.timezone || 'UTC'})` : '';
  const jitter = spec.jitter ? `, jitter ${formatMs(spec.jitter)}` : '';
  return `${parts.join(' + ')}${tz}${jitter}`;
}

const FULL: Record<string, [unknown, unknown]> = {
  second: [0, 59], minute: [0, 59], hour: [0, 23], dayOfMonth: [1, 31], month: ['JANUARY', 'DECEMBER'], dayOfWeek: ['SUNDAY', 'SATURDAY'],
};

/** A calendar made elsewhere (the Temporal UI or CLI), in cron's field order: "0 2 * * *". */
function calendarText(c: CalendarSpecDescription): string {
  const field = (name: keyof typeof FULL, ranges: { start: unknown; end: unknown; step: number }[] | undefined) => {
    if (!ranges?.length) return '*';
    return ranges.map((r) => {
      if (r.start === FULL[name][0] && r.end === FULL[name][1] && r.step <= 1) return '*';
      const span = r.end === undefined || r.end === r.start ? String(r.start) : `${r.start}-${r.end}`;
      return r.step > 1 ? `${span}/${r.step}` : span;
    }).join(',');
  };
  const sec = field('second', c.second);
  const fields = [field('minute', c.minute), field('hour', c.hour), field('dayOfMonth', c.dayOfMonth), field('month', c.month), field('dayOfWeek', c.dayOfWeek)];
  return [...(sec === '0' ? [] : [sec]), ...fields].join(' ');
}
