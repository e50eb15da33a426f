/**
 * `npm run bench -- compare [--scale 0.1] [--only big,small,transform] [--pairs 3]`: the same data
 * through the raw avsc loop (the limit), partflow's CLI worker on the real stack, and PySpark
 * local[2]. See BENCHMARKS.md for the method.
 *
 * With --pairs n, the raw loop and partflow run n times each, one right after the other: this
 * machine's speed drifts by 2x over minutes, so a ratio means something only between runs made
 * together. The rows are the pair whose ratio is the median; the notes list every pair's.
 */
import { Client } from '@temporalio/client';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Config } from '../../src/config';
import { s3Client } from '../../src/storage/client';
import { feed } from '../partitions';
import { expectedCounts, rawFeed } from './data';
import { activitySpread, IngestRun, ingestOnFreshWorker, planSeconds, ServerPids, upload } from './partflow';
import { loadAverages, round } from './procstat';
import { rawLoop } from './raw-loop';
import { runSpark, SparkRun } from './spark';

export interface Workload { name: 'big' | 'small' | 'transform'; objects: number; recordsPerObject: number; pipeline: string; stage: string }

export function workloads(scale: number): Workload[] {
  const big = Math.max(1000, Math.round(500_000 * scale));
  return [
    { name: 'big', objects: 4, recordsPerObject: big, pipeline: 'copy', stage: 'copy' },
    { name: 'small', objects: Math.max(10, Math.round(2000 * scale)), recordsPerObject: 1000, pipeline: 'copy', stage: 'copy' },
    { name: 'transform', objects: 4, recordsPerObject: big, pipeline: 'bench-clean', stage: 'clean' },
  ];
}

export interface Row {
  runner: string; workload: string; wallSeconds: number; records: number; out: number; recordsPerSecond: number;
  vsRaw?: number; vsSpark?: number; vsSparkJob?: number;
  cpuSeconds: Record<string, number>; peakRssMiB: Record<string, number>; notes?: string;
}

/**
 * A partflow run as a result row, with what its histories tell: which process ran how many stage
 * activities (an uneven split of a few big partitions shows in the wall time), how long planning
 * took, and where the wall time went.
 */
async function partflowRow(client: Client, w: Workload, pf: IngestRun, runner: string, records: number): Promise<{ row: Omit<Row, 'recordsPerSecond'>; brief: string }> {
  const counts = pf.summary.stages[w.stage]?.records;
  const spread = await activitySpread(client, pf.workflowId);
  const plan = await planSeconds(client, pf.workflowId);
  const where = `stage activities per process ${spread.perProcess.join(':')} (longest wait to start ${spread.maxWaitSeconds} s)`;
  const timeline = spread.timeline ? `; ${timelineText(spread.timeline)}` : '';
  return {
    brief: `worker CPU ${pf.cpuSeconds.worker} s, ${where}${timeline}`,
    row: {
      runner, workload: w.name, wallSeconds: pf.seconds, records, out: counts?.out ?? -1, cpuSeconds: pf.cpuSeconds, peakRssMiB: pf.peakRssMiB,
      notes: `${pf.summary.partitions} partitions, ${pf.summary.status}${counts ? `, rejected ${counts.rejected}, dropped ${counts.dropped}` : ''}; ${where}; plan ${plan ?? '?'} s${timeline}`,
    },
  };
}

/** Where a run's wall time went, as the Temporal server's clock saw it. */
function timelineText(t: { beforeStages: number; stages: number; afterStages: number }): string {
  return `run start to first stage activity ${t.beforeStages} s, stage activities ${t.stages} s, last one to run close ${t.afterStages} s`;
}

function writeData(dir: string, w: Workload): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  // Small objects repeat one feed's bytes under different names: generation stays cheap and
  // every runner still reads and writes each object.
  const one = w.name === 'small' ? feed(1, w.recordsPerObject) : undefined;
  for (let m = 0; m < w.objects; m++) {
    const f = path.join(dir, `m-${String(m).padStart(5, '0')}.avro`);
    fs.writeFileSync(f, one ?? (w.name === 'transform' ? rawFeed(m, w.recordsPerObject) : feed(m, w.recordsPerObject)));
    files.push(f);
  }
  return files;
}

/**
 * PARTFLOW_BENCH_B_ENV="NAME=value,…" with --pairs: every second pair runs partflow's worker with
 * these variables (an A/B on the same machine state); the rows stay those of the A pairs.
 */
function bEnv(): NodeJS.ProcessEnv | undefined {
  const v = process.env.PARTFLOW_BENCH_B_ENV;
  if (!v) return undefined;
  return Object.fromEntries(v.split(',').map((kv) => {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`PARTFLOW_BENCH_B_ENV takes NAME=value pairs separated by commas, got ${JSON.stringify(v)}`);
    return [kv.slice(0, i), kv.slice(i + 1)];
  }));
}

export async function compare(cfg: Config, client: Client, servers: ServerPids, work: string, scale: number, only: string[], pairs = 1): Promise<{ rows: Row[]; load: Record<string, number[]> }> {
  const s3 = s3Client(cfg.s3);
  const rows: Row[] = [];
  const load: Record<string, number[]> = { start: loadAverages() };
  const procs = os.cpus().length;
  const abEnv = bEnv();
  if (abEnv && pairs < 2) throw new Error('PARTFLOW_BENCH_B_ENV needs --pairs 2 or more');
  for (const w of workloads(scale).filter((x) => !only.length || only.includes(x.name))) {
    const records = w.objects * w.recordsPerObject;
    console.log(`\n[compare] ${w.name}: ${w.objects} objects x ${w.recordsPerObject} records; load ${loadAverages().join(' ')}`);
    const files = writeData(path.join(work, 'in', w.name), w);
    const expectOut = w.name === 'transform' ? expectedCounts(w.recordsPerObject).out * w.objects : records;
    const add = (r: Omit<Row, 'recordsPerSecond'>) => {
      const row = { ...r, wallSeconds: round(r.wallSeconds), recordsPerSecond: Math.round(r.records / r.wallSeconds) };
      if (r.out !== expectOut) row.notes = `${row.notes ? `${row.notes}; ` : ''}OUTPUT COUNT ${r.out} != expected ${expectOut}`;
      rows.push(row);
      console.log(`  ${r.runner}: ${row.wallSeconds} s, ${row.recordsPerSecond} rec/s, out ${r.out}${row.notes ? ` (${row.notes})` : ''}`);
    };

    await upload(s3, cfg.bucket, files.map((f) => [`bench/compare/${w.name}/${path.basename(f)}`, fs.readFileSync(f)]));
    type Pair = { raw: Omit<Row, 'recordsPerSecond'>; pf: Omit<Row, 'recordsPerSecond'>; again: Omit<Row, 'recordsPerSecond'>; ratio: number; againRatio: number; cpu: number };
    const runs: Pair[] = [];
    const bRuns: Pair[] = [];
    for (let k = 0; k < pairs; k++) {
      const raw = await rawLoop(files, path.join(work, 'out-raw', w.name), w.name === 'transform', procs);
      const rawRow = {
        runner: `raw avsc loop (${procs} processes)`, workload: w.name, wallSeconds: raw.seconds, records, out: raw.perProcess.reduce((n, p) => n + p.out, 0),
        cpuSeconds: Object.fromEntries(raw.perProcess.map((p, i) => [`loop ${i + 1}`, p.cpuSeconds])),
        peakRssMiB: Object.fromEntries(raw.perProcess.map((p, i) => [`loop ${i + 1}`, p.peakRssMiB])),
      };
      const b = abEnv && k % 2 === 1;
      // A fresh dataset name per ingest: otherwise a later ingest finds every partition committed.
      const input = (dataset: string | undefined) => ({
        pipeline: w.pipeline, source: `s3://${cfg.bucket}/bench/compare/${w.name}/`, target: `s3://${cfg.bucket}/bench-out/compare/`, ...(dataset ? { dataset } : {}),
      });
      const pf = await ingestOnFreshWorker(cfg, client, servers, w.name, input(k > 0 ? `${w.name}-${k}` : undefined), b ? abEnv : {}, input(`${w.name}-${k}-again`));
      const rawCpu = round(raw.perProcess.reduce((n, p) => n + p.cpuSeconds, 0));
      const fresh = await partflowRow(client, w, pf, 'partflow (CLI worker, defaults)', records);
      const again = await partflowRow(client, w, pf.again!, 'partflow (same worker, second ingest)', records);
      const pair = { raw: rawRow, pf: fresh.row, again: again.row, ratio: round(raw.seconds / pf.seconds), againRatio: round(raw.seconds / pf.again!.seconds), cpu: round(pf.cpuSeconds.worker / rawCpu) };
      if (b) bRuns.push(pair); else runs.push(pair);
      if (pairs > 1) {
        console.log(`  pair ${k + 1}${abEnv ? (b ? ' (B)' : ' (A)') : ''}: raw loop ${round(raw.seconds)} s (CPU ${rawCpu} s), ratios ${pair.ratio} (fresh worker), ${pair.againRatio} (same worker again)`);
        console.log(`    fresh worker ${round(pf.seconds)} s (${fresh.brief})`);
        console.log(`    same worker again ${round(pf.again!.seconds)} s (${again.brief})`);
      }
    }
    const medianOf = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];
    const median = runs.find((r) => r.ratio === medianOf(runs.map((x) => x.ratio)))!;
    const medianAgain = runs.find((r) => r.againRatio === medianOf(runs.map((x) => x.againRatio)))!;
    if (abEnv) {
      console.log(`  A/B: ratios to the raw loop A (as is) ${runs.map((r) => r.ratio).join(', ')}; B (${process.env.PARTFLOW_BENCH_B_ENV}) ${bRuns.map((r) => r.ratio).join(', ')}; same worker again: A ${runs.map((r) => r.againRatio).join(', ')}; B ${bRuns.map((r) => r.againRatio).join(', ')}; worker CPU / raw loop CPU: A ${runs.map((r) => r.cpu).join(', ')}; B ${bRuns.map((r) => r.cpu).join(', ')}`);
    }
    add(median.raw);
    const ab = (pick: (r: Pair) => number) => (abEnv ? `; B pairs (${process.env.PARTFLOW_BENCH_B_ENV}): ratios ${bRuns.map(pick).join(', ')}` : '');
    const of = (pick: (r: Pair) => number) => `; median of ${runs.length} pairs, ratios ${runs.map(pick).join(', ')}${ab(pick)}`;
    add(pairs > 1 ? { ...median.pf, notes: `${median.pf.notes}${of((r) => r.ratio)}` } : median.pf);
    // Against the raw loop of its own pair, which need not be the row above.
    add({ ...medianAgain.again, vsRaw: medianAgain.againRatio, ...(pairs > 1 ? { notes: `${medianAgain.again.notes}${of((r) => r.againRatio)}` } : {}) });

    const sparkRuns: SparkRun[] = [];
    for (const mode of w.name === 'transform' ? (['builtin', 'udf'] as const) : (['copy'] as const)) {
      const s = await runSpark(mode, files, records, path.join(work, 'out-spark', `${w.name}-${mode}`));
      sparkRuns.push(s);
      add({
        runner: `PySpark local[2] ${mode === 'copy' ? '' : mode === 'builtin' ? 'SQL built-ins' : 'Python UDF'}`.trim(), workload: w.name, wallSeconds: s.wallSeconds, records: s.records, out: s.out,
        // Helpers that Spark's launch scripts run (bash, rm, ps) are left out of the per-process columns, not the total.
        cpuSeconds: { 'spark (all processes)': s.cpuSeconds, ...Object.fromEntries(Object.entries(s.processes).filter(([k]) => k === 'java' || k.startsWith('python')).map(([k, v]) => [`${k} x${v.processes}`, v.cpuSeconds])) },
        peakRssMiB: Object.fromEntries(Object.entries(s.processes).filter(([k]) => k === 'java' || k.startsWith('python')).map(([k, v]) => [k, v.maxPeakRssMiB])),
        notes: `JVM start-up ${s.startupSeconds} s, job ${s.jobSeconds} s (read to write), ${s.sparkPartitions} Spark partitions, ${s.codec}`,
      });
    }
    // Ratios: raw loop's wall / this wall (share of the limit), Spark's / this (speed-up over Spark, built-ins for the transform).
    const mine = rows.filter((r) => r.workload === w.name);
    const rawWall = mine[0].wallSeconds;
    for (const r of mine) {
      r.vsRaw ??= round(rawWall / r.wallSeconds);
      r.vsSpark = round(sparkRuns[0].wallSeconds / r.wallSeconds);
      r.vsSparkJob = round(sparkRuns[0].jobSeconds / r.wallSeconds);
    }
    load[`after ${w.name}`] = loadAverages();
    fs.rmSync(path.join(work, 'out-raw', w.name), { recursive: true, force: true });
  }
  return { rows, load };
}

export function markdown(rows: Row[]): string {
  const fmt = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ');
  const lines = [
    '| workload | runner | wall s | records/s | vs raw loop | vs Spark (process) | vs Spark (job only) | CPU s per process | peak RSS MiB | notes |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.workload} | ${r.runner} | ${r.wallSeconds} | ${r.recordsPerSecond.toLocaleString('en')} | ${r.vsRaw} | ${r.vsSpark} | ${r.vsSparkJob} | ${fmt(r.cpuSeconds)} | ${fmt(r.peakRssMiB)} | ${r.notes ?? ''} |`),
  ];
  return lines.join('\n');
}
