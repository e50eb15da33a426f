import { ScheduleOptionError } from './spec';

const ISO = /^(\d{4})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d)(?::(\d\d)(?:\.\d{1,3})?)?(Z|[+-]\d\d:\d\d)?)?$/;

/**
 * An ISO date or time as --from and --to take it, in UTC unless it gives an offset. Date parsing rolls 2026-02-30 over to March 2:
 * each field is checked against its range first, so a day the month lacks is said to be one.
 */
export function parseIsoTime(option: string, v: string): Date {
  const m = ISO.exec(v.trim());
  const expected = `--${option} must be an ISO time like 2026-11-01 or 2026-11-01T02:00:00Z`;
  if (!m) throw new ScheduleOptionError(`${expected}, got "${v}"`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((x) => Number(x ?? 0));
  const daysInMonth = month >= 1 && month <= 12 ? new Date(Date.UTC(year, month, 0)).getUTCDate() : 0;
  if (day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
    throw new ScheduleOptionError(`--${option} "${v}" is not a valid date${daysInMonth && day > daysInMonth ? ` (${year}-${m[2]} has ${daysInMonth} days)` : ''}`);
  }
  // A time without a zone is UTC, as a date alone is (Date would read it in the local zone).
  return new Date(m[4] !== undefined && !m[7] ? `${v.trim()}Z` : v.trim());
}

/**
 * The period a backfill runs. A backfill is for firings that have passed: Temporal would start the
 * future ones now too, each committing a snapshot named for a time that has not come.
 */
export function backfillPeriod(from: string, to: string, now = new Date()): { start: Date; end: Date } {
  const start = parseIsoTime('from', from);
  const end = parseIsoTime('to', to);
  if (end <= start) throw new ScheduleOptionError(`--to (${to}) must be after --from (${from})`);
  if (end > now) {
    throw new ScheduleOptionError(`--to (${end.toISOString()}) is in the future (it is now ${now.toISOString()}): a backfill runs firings that have passed, now; the schedule starts the later ones at their times`);
  }
  return { start, end };
}
