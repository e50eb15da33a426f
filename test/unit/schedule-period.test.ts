import { backfillPeriod, parseIsoTime, ScheduleOptionError } from '../../src/schedules';

describe('a backfill period', () => {
  it('reads ISO dates and times, UTC unless an offset is given', () => {
    expect(parseIsoTime('from', '2026-11-01').toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(parseIsoTime('from', '2026-11-01T02:00').toISOString()).toBe('2026-11-01T02:00:00.000Z');
    expect(parseIsoTime('from', '2026-11-01T02:00:00Z').toISOString()).toBe('2026-11-01T02:00:00.000Z');
    expect(parseIsoTime('from', '2026-11-01T03:00:00+01:00').toISOString()).toBe('2026-11-01T02:00:00.000Z');
    expect(parseIsoTime('to', '2028-02-29').toISOString()).toBe('2028-02-29T00:00:00.000Z');
  });

  it('says a day the month lacks, or an hour the day lacks, is not a date (rather than rolling over to March)', () => {
    expect(() => parseIsoTime('from', '2026-02-30')).toThrow(new ScheduleOptionError('--from "2026-02-30" is not a valid date (2026-02 has 28 days)'));
    expect(() => parseIsoTime('to', '2026-04-31')).toThrow('--to "2026-04-31" is not a valid date (2026-04 has 30 days)');
    for (const bad of ['2026-13-01', '2026-00-10', '2026-01-00', '2026-01-01T24:00:00Z', '2026-01-01T10:60Z']) expect(() => parseIsoTime('to', bad)).toThrow(`--to "${bad}" is not a valid date`);
    for (const bad of ['yesterday', '1700000000', '2026-1-2', '']) expect(() => parseIsoTime('from', bad)).toThrow(`--from must be an ISO time like 2026-11-01 or 2026-11-01T02:00:00Z, got "${bad}"`);
    expect(() => backfillPeriod('2026-02-30', '2026-03-01', new Date('2027-01-01'))).toThrow('--from "2026-02-30" is not a valid date');
  });

  it('ends after it starts, and not in the future: a backfill runs firings that have passed', () => {
    const now = new Date('2026-11-21T12:00:00Z');
    expect(backfillPeriod('2026-11-01', '2026-11-21T12:00:00Z', now)).toEqual({ start: new Date('2026-11-01T00:00:00Z'), end: now });
    expect(() => backfillPeriod('2026-11-02', '2026-11-01', now)).toThrow('--to (2026-11-01) must be after --from (2026-11-02)');
    expect(() => backfillPeriod('2026-11-21', '2030-01-01', now)).toThrow(
      '--to (2030-01-01T00:00:00.000Z) is in the future (it is now 2026-11-21T12:00:00.000Z): a backfill runs firings that have passed, now; the schedule starts the later ones at their times',
    );
  });
});
