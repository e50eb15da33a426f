// The compare benchmark's pure parts: /proc parsing, the clean transform's rules on edge cases
// (the Spark versions in bench/compare/spark_job.py follow the same rules), and its arguments.
import { BadRecord, cleanOffer, expectedCounts, rawOffer } from '../../bench/compare/data';
import { parseArgs } from '../../bench/compare/index';
import { parseStat, parseStatus, processTree, statOf, threadCpuSeconds } from '../../bench/compare/procstat';

describe('procstat', () => {
  it('reads utime+stime and cutime+cstime after a command name holding spaces and parentheses', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
    const line = '4242 (node (worker) 1) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 30 20 20 0 11 0 5000 1000000 2000';
    expect(parseStat(line)).toEqual({ pid: 4242, ppid: 17, cpuSeconds: 3, childrenCpuSeconds: 0.5 });
  });

  it('rejects a line that is not a stat line', () => {
    expect(() => parseStat('hello')).toThrow(/not a \/proc/);
    expect(() => parseStat('1 (x) S 0 1')).toThrow(/too few fields/);
  });

  it('reads VmHWM and VmRSS in MiB', () => {
    expect(parseStatus('Name:\tnode\nVmPeak:\t 999999 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n')).toEqual({ peakRssMiB: 200, rssMiB: 100 });
  });

  it('finds this process and its own CPU time', () => {
    const me = statOf(process.pid)!;
    expect(me.pid).toBe(process.pid);
    expect(me.ppid).toBe(process.ppid);
    expect(me.cpuSeconds).toBeGreaterThan(0);
    expect(processTree(process.ppid)).toContain(process.pid);
  });

  it('splits this process\'s CPU by thread, the main thread under the pid', () => {
    const threads = threadCpuSeconds(process.pid);
    expect(threads.size).toBeGreaterThan(1); // node always starts V8's helper threads
    expect(threads.get(process.pid)?.cpuSeconds).toBeGreaterThan(0);
    const sum = [...threads.values()].reduce((n, t) => n + t.cpuSeconds, 0);
    // Threads that ended are only in the process's total, so the sum is at most the total.
    expect(sum).toBeLessThanOrEqual(statOf(process.pid)!.cpuSeconds + 0.011);
    expect(threadCpuSeconds(2 ** 22 + 1).size).toBe(0); // no such process
  });
});

describe('cleanOffer (the compare benchmark transform)', () => {
  const good = { id: ' 17 ', merchant: ' m-1 ', title: '  A lamp ', price: ' 12.50 ', currency: ' eur ', listed: '2024-03-05' };

  it('trims and types a good record', () => {
    expect(cleanOffer(good)).toEqual({ id: 17, merchant: 'm-1', title: 'A lamp', price: 12.5, currency: 'EUR', listed: 19787 });
  });

  it('drops a blank title before looking at anything else', () => {
    expect(cleanOffer({ ...good, title: '   ', price: 'n/a' })).toBeNull();
    expect(cleanOffer({ ...good, title: null as unknown as string })).toBeNull();
  });

  it.each([
    ['price', 'n/a'], ['price', '1e3'], ['price', '12.'], ['price', ''], ['id', '12a'], ['id', '-3'],
    ['listed', '2024-02-30'], ['listed', '2023-02-29'], ['listed', '2024-3-5'], ['listed', '05/03/2024'], ['listed', ''],
  ])('rejects %s %j, naming the field', (field, value) => {
    expect(() => cleanOffer({ ...good, [field]: value })).toThrow(BadRecord);
    expect(() => cleanOffer({ ...good, [field]: value })).toThrow(new RegExp(`^${field} `));
  });

  it('accepts a leap day and a negative price', () => {
    expect(cleanOffer({ ...good, listed: '2024-02-29', price: '-0.5' })).toMatchObject({ listed: 19782, price: -0.5 });
  });

  it('expectedCounts matches what cleanOffer does to the generated records', () => {
    const n = 5000;
    const seen = { out: 0, rejected: 0, dropped: 0 };
    for (let i = 0; i < n; i++) {
      try {
        if (cleanOffer(rawOffer(3, i)) === null) seen.dropped++;
        else seen.out++;
      } catch (err) {
        expect(err).toBeInstanceOf(BadRecord);
        seen.rejected++;
      }
    }
    expect(seen).toEqual(expectedCounts(n));
    expect(seen.dropped).toBeGreaterThan(0);
    expect(seen.rejected).toBeGreaterThan(0);
  });
});

describe('bench arguments', () => {
  it('parses compare and scale options', () => {
    expect(parseArgs(['compare', '--scale', '0.1', '--only', 'big,transform'])).toMatchObject({ mode: 'compare', scale: 0.1, only: ['big', 'transform'] });
    expect(parseArgs(['scale', '--max', '100000'])).toMatchObject({ mode: 'scale', max: 100_000 });
    expect(parseArgs(['scale'])).toMatchObject({ max: 10_000, parallel: 32 });
    expect(parseArgs(['compare', '--pairs', '3'])).toMatchObject({ mode: 'compare', pairs: 3 });
    expect(parseArgs(['compare'])).toMatchObject({ pairs: 1 });
    expect(() => parseArgs(['compare', '--pairs', '0'])).toThrow(/--pairs needs a number from 1 to 20/);
  });

  it('refuses unknown or out-of-range options, naming them', () => {
    expect(() => parseArgs(['compare', '--max', '5'])).toThrow(/unknown option --max for compare/);
    expect(() => parseArgs(['compare', '--scale', 'big'])).toThrow(/--scale needs a number/);
    expect(() => parseArgs(['compare', '--only', 'huge'])).toThrow(/--only takes/);
    expect(() => parseArgs(['scale', '--points', '1,100000'])).toThrow(/need --max 100000/);
  });
});
