import { Command, InvalidArgumentError, Option } from 'commander';
import { durationArg, int, refuseEmptyOptions } from '../../src/cli/args';
import { buildProgram } from '../../src/cli/program';
import { scheduleSpec } from '../../src/schedules';

/** The parser commander runs for `partflow <command> … <flag>`. */
function parserOf(path: string[], flag: string): (v: string) => unknown {
  let cmd: Command = buildProgram();
  for (const name of path) cmd = cmd.commands.find((c) => c.name() === name)!;
  const opt = cmd.options.find((o: Option) => o.long === flag)!;
  return (v) => opt.parseArg!(v, undefined);
}

describe('integer arguments and options', () => {
  it('take decimal digits only: no exponent, hex, binary, sign, fraction, blank or padding', () => {
    const n = int('snapshot', 0, 99_999_999);
    expect([n('0'), n('41'), n('007')]).toEqual([0, 41, 7]);
    for (const bad of ['1e3', '0x29', '0b1', '0o7', '+5', '-1', '1.0', '2.5', '', ' ', ' 7', '7 ', 'Infinity', '1_000']) {
      expect(() => n(bad)).toThrow(new InvalidArgumentError(`snapshot must be an integer from 0 to 99999999 in decimal digits, got "${bad}"`));
    }
    expect(() => n('100000000')).toThrow(/from 0 to 99999999/);
  });

  it('every integer option of the CLI refuses 1e3 and 0x2', () => {
    const options: [string[], string][] = [
      [['gc'], '--keep-snapshots'], [['snapshots'], '--last'], [['changes'], '--since'], [['export'], '--since'], [['cat'], '--limit'],
      [['ingest'], '--max-parallel'], [['ingest'], '--partition-records'], [['import'], '--partition-records'], [['worker'], '--processes'],
      [['schedule', 'describe'], '--next'], [['up'], '--ui-port'],
    ];
    for (const [path, flag] of options) {
      const parse = parserOf(path, flag);
      expect(parse('2')).toBe(2);
      for (const bad of ['1e3', '0x2']) expect(() => parse(bad)).toThrow(InvalidArgumentError);
    }
  });
});

describe('durations', () => {
  it('are read one way everywhere: a fraction is taken (1.5h is 90m), a number alone is seconds', () => {
    expect(durationArg('grace')('1.5h')).toBe(90 * 60_000);
    expect(durationArg('grace')('36h')).toBe(36 * 3_600_000);
    expect(durationArg('grace')('90')).toBe(90_000);
    expect(() => durationArg('grace')('1.5x')).toThrow(new InvalidArgumentError('--grace must be a duration like 30s, 10m, 1.5h or 3d, got "1.5x"'));
    // gc --grace and --older-than take what schedule --every takes.
    expect(parserOf(['gc'], '--grace')('1.5h')).toBe(scheduleSpec({ every: '1.5h' }).intervals![0].every);
    expect(parserOf(['gc'], '--older-than')('1.5d')).toBe(36 * 3_600_000);
    for (const bad of ['1e3s', '1,5h', 'h', '-1h']) expect(() => parserOf(['gc'], '--grace')(bad)).toThrow(InvalidArgumentError);
  });
});

describe('empty option values', () => {
  it('are refused, naming the option, rather than read as not given', () => {
    expect(() => refuseEmptyOptions({ pipeline: '' })).toThrow(new InvalidArgumentError('--pipeline is empty: give a value, or leave the option out'));
    expect(() => refuseEmptyOptions({ maxParallel: 2, waitForRetry: '' })).toThrow('--wait-for-retry is empty');
    expect(() => refuseEmptyOptions({ note: '', pipeline: 'copy', param: {} }, ['note'])).not.toThrow();
  });
});
