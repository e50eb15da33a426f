import { inputBytes, notePlan, partitionMetrics, registry } from '../../src/metrics';
import { metricsPort } from '../../src/metrics/server';

describe('metrics', () => {
  it('PARTFLOW_METRICS_PORT: unset is off, a bad value is a clear error', () => {
    expect(metricsPort({})).toBeUndefined();
    expect(metricsPort({ PARTFLOW_METRICS_PORT: '9464' })).toBe(9464);
    expect(() => metricsPort({ PARTFLOW_METRICS_PORT: 'http' })).toThrow('PARTFLOW_METRICS_PORT must be a port number (0-65535), got "http"');
    expect(() => metricsPort({ PARTFLOW_METRICS_PORT: '0x10' })).toThrow('PARTFLOW_METRICS_PORT must be a port number (0-65535), got "0x10"');
    expect(metricsPort({ PARTFLOW_METRICS_PORT: ' ' })).toBeUndefined();
  });

  it('counts input bytes of whole objects and of ranges, an end of -1 running to the object end', () => {
    expect(inputBytes([{ size: 100 }, { size: 1000, range: [200, 500] }, { size: 1000, range: [600, -1] }])).toBe(100 + 300 + 400);
  });

  it('declares every known pipeline, stage and failure type at 0, so that rate() and increase() see the first event', async () => {
    partitionMetrics.declare([{ name: 'declared', stages: ['raw', 'map'] }], ['CorruptInput', 'Error']);
    const text = await registry.metrics();
    for (const stage of ['raw', 'map']) {
      expect(text).toContain(`partflow_partitions_committed_total{pipeline="declared",stage="${stage}"} 0`);
      expect(text).toContain(`partflow_records_rejected_total{pipeline="declared",stage="${stage}"} 0`);
      expect(text).toContain(`partflow_partition_duration_seconds_count{pipeline="declared",stage="${stage}"} 0`);
      expect(text).toContain(`partflow_partition_failures_total{pipeline="declared",stage="${stage}",type="CorruptInput"} 0`);
      expect(text).toContain(`partflow_partition_failures_total{pipeline="declared",stage="${stage}",type="Error"} 0`);
    }
    // Declaring again (a second worker in one process) adds nothing.
    notePlan('plans/declared.json', 'declared');
    partitionMetrics.failed('plans/declared.json', 'map', 'Error');
    partitionMetrics.declare([{ name: 'declared', stages: ['map'] }], ['Error']);
    expect(await registry.metrics()).toContain('partflow_partition_failures_total{pipeline="declared",stage="map",type="Error"} 1');
  });

  it('never fails an activity over a bad value, and counts per pipeline and stage', async () => {
    expect(() => partitionMetrics.committed({ pipeline: 'p', stage: 's', counts: { in: NaN, out: 0, rejected: 0, dropped: 0 }, durationMs: 1, bytesRead: 0, bytesWritten: 0 })).not.toThrow();
    partitionMetrics.committed({ pipeline: 'p', stage: 't', counts: { in: 5, out: 3, rejected: 1, dropped: 1 }, durationMs: 1500, bytesRead: 10, bytesWritten: 20 });
    partitionMetrics.failed('unknown-plan', 't', 'CorruptInput');
    const text = await registry.metrics();
    expect(text).toContain('partflow_records_in_total{pipeline="p",stage="t"} 5');
    expect(text).toContain('partflow_records_dropped_total{pipeline="p",stage="t"} 1');
    expect(text).toContain('partflow_partition_duration_seconds_bucket{le="2.5",pipeline="p",stage="t"} 1');
    expect(text).toContain('partflow_partition_failures_total{pipeline="unknown",stage="t",type="CorruptInput"} 1');
  });
});
