import os from 'node:os';
import { Counter, Registry } from 'prom-client';
import { workerProcesses } from '../../src/config';
import { addLabel, labelAndMerge, mergeProcessMetrics } from '../../src/metrics/aggregate';

describe('workerProcesses (PARTFLOW_WORKER_PROCESSES)', () => {
  it('defaults to one process per core, or to the fallback given', () => {
    expect(workerProcesses({})).toBe(os.availableParallelism());
    expect(workerProcesses({ PARTFLOW_WORKER_PROCESSES: '' }, 1)).toBe(1);
  });

  it('takes a count, or "auto" for one per core', () => {
    expect(workerProcesses({ PARTFLOW_WORKER_PROCESSES: '3' })).toBe(3);
    expect(workerProcesses({ PARTFLOW_WORKER_PROCESSES: ' 1 ' }, 8)).toBe(1);
    expect(workerProcesses({ PARTFLOW_WORKER_PROCESSES: 'AUTO' }, 1)).toBe(os.availableParallelism());
  });

  // Number() would read 0x4 and 4.0 as 4.
  it.each(['0', '-2', '1.5', 'two', '257', '1e3', '0x4', '4.0', '1e0'])('rejects %j naming the setting and what it wants', (v) => {
    expect(() => workerProcesses({ PARTFLOW_WORKER_PROCESSES: v })).toThrow(
      `PARTFLOW_WORKER_PROCESSES must be "auto" or an integer from 1 to 256, got ${JSON.stringify(v)}`,
    );
  });
});

describe('metrics of several worker processes', () => {
  it('adds a process label to samples, with or without labels of their own', () => {
    expect(addLabel('a_total 3', '1')).toBe('a_total{partflow_process="1"} 3');
    expect(addLabel('a_total{x="y"} 3 1700000000', '0')).toBe('a_total{x="y",partflow_process="0"} 3 1700000000');
    expect(addLabel('a{x="a } b",z="\\"}"} 2', '0')).toBe('a{x="a } b",z="\\"}",partflow_process="0"} 2');
  });

  it('merges expositions: HELP and TYPE once per family, every process\'s samples under it', () => {
    const text = (v: number) => `# HELP t_slots slots\n# TYPE t_slots gauge\nt_slots{q="a"} ${v}\n# HELP t_lat latency\n# TYPE t_lat histogram\nt_lat_bucket{le="1"} ${v}\nt_lat_sum ${v}\nt_lat_count ${v}\n`;
    expect(labelAndMerge([['0', text(1)], ['1', text(2)]]).split('\n')).toEqual([
      '# HELP t_slots slots', '# TYPE t_slots gauge', 't_slots{q="a",partflow_process="0"} 1', 't_slots{q="a",partflow_process="1"} 2',
      '# HELP t_lat latency', '# TYPE t_lat histogram',
      't_lat_bucket{le="1",partflow_process="0"} 1', 't_lat_sum{partflow_process="0"} 1', 't_lat_count{partflow_process="0"} 1',
      't_lat_bucket{le="1",partflow_process="1"} 2', 't_lat_sum{partflow_process="1"} 2', 't_lat_count{partflow_process="1"} 2',
      '',
    ]);
  });

  it('sums partflow\'s counters over the processes, so they still equal a run\'s totals', async () => {
    const json = async (n: number) => {
      const r = new Registry();
      new Counter({ name: 'pf_records_total', help: 'records', labelNames: ['stage'], registers: [r] }).inc({ stage: 's' }, n);
      return r.getMetricsAsJSON();
    };
    const text = await mergeProcessMetrics([{ process: 0, own: await json(3), sdk: 'x_total 1\n' }, { process: 1, own: await json(4), sdk: '' }]);
    expect(text).toMatch(/^pf_records_total\{stage="s"\} 7$/m);
    expect(text).toMatch(/^x_total\{partflow_process="0"\} 1$/m);
  });
});
