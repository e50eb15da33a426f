/**
 * `npm run bench -- scale [--max 100000] [--points 1,100,1000]`: the per-partition cost curve.
 * N tiny CSV objects (two bird strikes each), one partition per object (pack: false), through the
 * sample `birdstrikes` pipeline: raw import > map > enrich, three activities per partition.
 */
import { Client } from '@temporalio/client';
import fs from 'node:fs';
import { Config } from '../../src/config';
import { vegaDataFile } from '../../src/stack/sample';
import { s3Client } from '../../src/storage/client';
import { historySizes, ingestOnFreshWorker, planSeconds, ServerPids, upload } from './partflow';
import { loadAverages, round } from './procstat';

export function scalePoints(max: number, points?: number[]): number[] {
  return (points ?? [1, 100, 1000, 10_000, 100_000]).filter((n) => n <= max);
}

export async function scale(cfg: Config, client: Client, servers: ServerPids, points: number[], parallel: number): Promise<Record<string, unknown>[]> {
  const s3 = s3Client(cfg.s3);
  const [header, ...lines] = fs.readFileSync(vegaDataFile('birdstrikes.csv'), 'utf8').trimEnd().split('\n');
  await upload(s3, cfg.bucket, [['reference/airports.csv', fs.readFileSync(vegaDataFile('airports.csv'))]]);
  const rows: Record<string, unknown>[] = [];
  for (const n of points) {
    const prefix = `bench/scale-${n}/`;
    console.log(`\n[scale] ${n} partitions: uploading ${n} objects; load ${loadAverages().join(' ')}`);
    for (let k = 0; k < n; k += 5000) {
      await upload(s3, cfg.bucket, Array.from({ length: Math.min(5000, n - k) }, (_, j) => {
        const i = k + j;
        const body = `${header}\n${lines[(2 * i) % lines.length]}\n${lines[(2 * i + 1) % lines.length]}\n`;
        return [`${prefix}o-${String(i).padStart(6, '0')}.csv`, Buffer.from(body)] as [string, Buffer];
      }));
    }
    const loadBefore = loadAverages();
    const r = await ingestOnFreshWorker(cfg, client, servers, `scale-${n}`, {
      pipeline: 'birdstrikes', source: `s3://${cfg.bucket}/${prefix}`, target: `s3://${cfg.bucket}/bench-out/scale-${n}/`, pack: false, maxParallel: parallel,
    }, { PARTFLOW_WORKER_CONCURRENCY: String(parallel) });
    const h = await historySizes(client, r.workflowId);
    const plan = await planSeconds(client, r.workflowId);
    const ms = (s: number) => round((s * 1000) / n, 1);
    const row = {
      partitions: r.summary.partitions, stages: Object.keys(r.summary.stages).join('>'), status: r.summary.status,
      'wall s': round(r.seconds), 'plan s': plan ?? '?', 'wall ms/partition': ms(r.seconds),
      'worker CPU ms/partition': ms(r.cpuSeconds.worker), 'temporal CPU ms/partition': ms(r.cpuSeconds.temporal), 's3 CPU ms/partition': ms(r.cpuSeconds.s3),
      'worker peak RSS MiB': r.peakRssMiB.worker,
      // The supervisor's is the row above; the processes it forks run the ingest.
      'largest worker child peak RSS MiB': Object.entries(r.peakRssMiB).find(([k]) => k.startsWith('largest of'))?.[1] ?? '-',
      'parent history events': h.parentEvents, 'largest other history events': h.largestEvents, 'largest other history bytes': h.largestBytes, 'workflow executions': h.executions,
      cpuSeconds: r.cpuSeconds, load: { before: loadBefore, after: loadAverages() },
    };
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  return rows;
}
