/**
 * The limit: a raw decode → (transform) → encode loop over local Avro files with partflow's own
 * container code (avsc records, zstandard blocks), no Temporal, no S3, no manifests. One forked
 * process per core, files dealt out round-robin.
 */
import { ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import { blockDecoder, ContainerReader, decodeBlock } from '../../src/avro/container-reader';
import { loadSchema } from '../../src/avro/schemas';
import { PROJECT_ROOT } from '../../src/config/paths';
import { BadRecord, cleanOffer } from './data';
import { peakRssMiB, round } from './procstat';

export interface LoopJob { files: string[]; outDir: string; transform: boolean }
export interface LoopResult { records: number; out: number; rejected: number; dropped: number; cpuSeconds: number; peakRssMiB: number; pid: number }

const CLEAN = () => loadSchema('bench_offer_clean@1', path.join(PROJECT_ROOT, 'bench', 'compare', 'schemas'));

async function convert(file: string, outDir: string, transform: boolean, acc: LoopResult): Promise<void> {
  const reader = await ContainerReader.open(Readable.from([fs.readFileSync(file)]), { name: file });
  const decoder = blockDecoder(reader.header.writerType);
  const out = transform ? CLEAN() : { type: reader.header.writerType, json: reader.header.schemaJson };
  const enc = new ContainerEncoder(out.type, out.json, { codec: 'zstandard', sync: syncMarkerFor(file) });
  const parts: Buffer[] = [enc.header()];
  for await (const block of reader.blocks()) {
    for (const r of decodeBlock(file, block, decoder)) {
      acc.records++;
      let rec: unknown = r;
      if (transform) {
        try {
          rec = cleanOffer(r as Record<string, string>);
        } catch (err) {
          if (!(err instanceof BadRecord)) throw err;
          acc.rejected++;
          continue;
        }
        if (rec === null) { acc.dropped++; continue; }
      }
      acc.out++;
      const b = enc.add(rec);
      if (b) parts.push(b);
    }
  }
  const last = enc.flush();
  if (last) parts.push(last);
  fs.writeFileSync(path.join(outDir, path.basename(file)), Buffer.concat(parts));
}

async function child(job: LoopJob): Promise<LoopResult> {
  const acc: LoopResult = { records: 0, out: 0, rejected: 0, dropped: 0, cpuSeconds: 0, peakRssMiB: 0, pid: process.pid };
  for (const f of job.files) await convert(f, job.outDir, job.transform, acc);
  const u = process.cpuUsage();
  acc.cpuSeconds = round((u.user + u.system) / 1e6);
  acc.peakRssMiB = Math.round(peakRssMiB(process.pid));
  return acc;
}

/** Runs the loop over `files` in `procs` processes; the clock starts once every process has loaded its modules. */
export async function rawLoop(files: string[], outDir: string, transform: boolean, procs: number): Promise<{ seconds: number; perProcess: LoopResult[] }> {
  fs.mkdirSync(outDir, { recursive: true });
  const shares = Array.from({ length: procs }, (_, k) => files.filter((_, i) => i % procs === k));
  const children = await Promise.all(shares.map(() => new Promise<ChildProcess>((resolve, reject) => {
    const c = fork(__filename, ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    c.once('message', () => resolve(c));
    c.once('exit', (code) => reject(new Error(`raw loop process ${c.pid} exited with ${code} before it was ready`)));
  })));
  const t0 = process.hrtime.bigint();
  const perProcess = await Promise.all(children.map((c, k) => new Promise<LoopResult>((resolve, reject) => {
    let result: LoopResult | undefined;
    c.removeAllListeners('exit');
    c.on('message', (m: { ok?: LoopResult; error?: string }) => {
      if (m.error) reject(new Error(`raw loop process ${c.pid}: ${m.error}`));
      result = m.ok;
    });
    c.on('exit', (code) => (result ? resolve(result) : reject(new Error(`raw loop process ${c.pid} exited with ${code} and no result`))));
    c.send({ files: shares[k], outDir, transform } satisfies LoopJob);
  })));
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, perProcess };
}

if (require.main === module && process.argv.includes('--child')) {
  process.send!({ ready: true });
  process.once('message', (job: LoopJob) => {
    child(job).then(
      (ok) => process.send!({ ok }, () => process.exit(0)),
      (err: Error) => process.send!({ error: err.stack ?? String(err) }, () => process.exit(1)),
    );
  });
}
