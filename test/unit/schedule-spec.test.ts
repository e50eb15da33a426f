import { describeSpec, overlapName, overlapPolicy, scheduleSpec, specChanges } from '../../src/schedules/spec';

describe('schedule spec options', () => {
  it('turns --cron into a cron expression that keeps its text as the comment, with zone and jitter', () => {
    expect(scheduleSpec({ cron: ' 0 2 * * * ', timezone: 'Europe/Paris', jitter: '5m' })).toEqual({
      cronExpressions: ['0 2 * * * #0 2 * * *'], timezone: 'Europe/Paris', jitter: 300_000,
    });
    expect(scheduleSpec({ cron: '@daily' })).toEqual({ cronExpressions: ['@daily #@daily'] });
  });

  it('turns --every into an interval', () => {
    expect(scheduleSpec({ every: '6h' })).toEqual({ intervals: [{ every: 6 * 3_600_000 }] });
    expect(scheduleSpec({ every: '3s' })).toEqual({ intervals: [{ every: 3000 }] });
  });

  it('refuses bad times with a message saying what is expected', () => {
    expect(() => scheduleSpec({})).toThrow(/say when to run: --cron '0 2 \* \* \*'/);
    expect(() => scheduleSpec({ cron: '0 2 * * *', every: '1h' })).toThrow('give either --cron or --every, not both');
    expect(() => scheduleSpec({ cron: 'banana' })).toThrow(/--cron "banana" has 1 field\(s\); expected 5/);
    expect(() => scheduleSpec({ cron: '@sometimes' })).toThrow(/unknown shorthand/);
    expect(() => scheduleSpec({ cron: 'TZ=UTC 0 2 * * *' })).toThrow(/--timezone/);
    expect(() => scheduleSpec({ every: 'soon' })).toThrow('--every must be a duration like 30s, 10m, 1.5h or 3d (at least 1s), got "soon"');
    expect(() => scheduleSpec({ every: '0' })).toThrow(/at least 1s/);
    expect(() => scheduleSpec({ every: '1h', timezone: 'Mars/Olympus' })).toThrow('unknown time zone "Mars/Olympus"');
    expect(() => scheduleSpec({ every: '1h', jitter: 'a bit' })).toThrow(/--jitter must be a duration/);
  });

  it('update takes only what is given', () => {
    expect(specChanges({})).toEqual({});
    expect(specChanges({ timezone: 'UTC' })).toEqual({ timezone: 'UTC' });
  });

  it('knows the six overlap policies by their CLI names and back', () => {
    for (const n of ['skip', 'buffer-one', 'buffer-all', 'cancel-other', 'terminate-other', 'allow-all']) expect(overlapName(overlapPolicy(n))).toBe(n);
    expect(overlapPolicy('BUFFER-ONE')).toBe('BUFFER_ONE');
    expect(() => overlapPolicy('queue')).toThrow('unknown overlap policy "queue": use one of skip, buffer-one, buffer-all, cancel-other, terminate-other, allow-all');
  });

  it('reads a spec back as a person wrote it', () => {
    const cal = (comment: string) => ({
      second: [{ start: 0, end: 0, step: 1 }], minute: [{ start: 30, end: 30, step: 1 }], hour: [{ start: 2, end: 2, step: 1 }],
      dayOfMonth: [{ start: 1, end: 31, step: 1 }], month: [{ start: 'JANUARY' as const, end: 'DECEMBER' as const, step: 1 }], year: [],
      dayOfWeek: [{ start: 'MONDAY' as const, end: 'FRIDAY' as const, step: 1 }], comment,
    });
    expect(describeSpec({ calendars: [cal('30 2 * * 1-5')], intervals: [], timezone: 'Europe/Paris' })).toBe('cron 30 2 * * 1-5 (Europe/Paris)');
    expect(describeSpec({ calendars: [cal('')] })).toBe('calendar 30 2 * * MONDAY-FRIDAY (UTC)');
    expect(describeSpec({ intervals: [{ every: 30_000, offset: 0 }], jitter: 60_000 })).toBe('every 30s, jitter 1m');
  });
});
