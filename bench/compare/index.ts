/**
 * Entry of `npm run bench -- compare …` and `npm run bench -- scale …` (dispatched by bench/run.ts).
 *
 *   compare [--scale 0.1] [--only big,small,transform] [--pairs 3]   raw avsc loop vs partflow vs PySpark local[2]
 *   scale [--max 10000] [--points 1,100] [--parallel 32] the per-partition cost curve (100,000 only with --max 100000)
 *
 * PARTFLOW_BENCH_WORKER_ARGS adds arguments to the spawned `partflow worker`, and
 * PARTFLOW_BENCH_WORKER_NODE_ARGS options to its node (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
import { Client, Connection } from '@temporalio/client';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { PROJECT_ROOT } from '../../src/config/paths';
import { startEmbeddedStack } from '../../src/stack/embedded';
import { freePort, toolPath } from '../../src/stack/process';
import { compare, markdown } from './compare';
import { loadAverages } from './procstat';
import { scale, scalePoints } from './scale';
import { SPARK_DIR } from './spark';

export interface BenchArgs { mode: 'compare' | 'scale'; scale: number; only: string[]; max: number; points?: number[]; parallel: number; pairs: number }

/** Parses the arguments after `compare` / `scale`; throws on anything it does not know. */
export function parseArgs(argv: string[]): BenchArgs {
  const [mode, ...rest] = argv;
  if (mode !== 'compare' && mode !== 'scale') throw new Error(`expected "compare" or "scale", got ${JSON.stringify(mode)}`);
  const a: BenchArgs = { mode, scale: 1, only: [], max: 10_000, parallel: 32, pairs: 1 };
  const num = (flag: string, v: string | undefined, min: number, max: number) => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min || n > max) throw new Error(`${flag} needs a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    const v = rest[i + 1];
    i++;
    if (flag === '--scale' && mode === 'compare') a.scale = num(flag, v, 0.0001, 100);
    else if (flag === '--only' && mode === 'compare') {
      a.only = (v ?? '').split(',').filter(Boolean);
      const bad = a.only.filter((w) => !['big', 'small', 'transform'].includes(w));
      if (bad.length || !a.only.length) throw new Error(`--only takes a comma list of big, small, transform; got ${JSON.stringify(v)}`);
    } else if (flag === '--pairs' && mode === 'compare') a.pairs = num(flag, v, 1, 20);
    else if (flag === '--max' && mode === 'scale') a.max = num(flag, v, 1, 100_000);
    else if (flag === '--parallel' && mode === 'scale') a.parallel = num(flag, v, 1, 1000);
    else if (flag === '--points' && mode === 'scale') a.points = (v ?? '').split(',').map((p) => num(flag, p, 1, 100_000));
    else throw new Error(`unknown option ${flag} for ${mode} (see bench/compare/index.ts)`);
  }
  if (a.points && a.points.some((p) => p > a.max)) throw new Error(`--points above ${a.max} need --max ${Math.max(...a.points)}`);
  return a;
}

/** First line of a tool's version output (java prints it on stderr), or 'unknown'. */
function version(cmd: string, args: string[], pick = /.+/): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return pick.exec(`${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim())?.[0] ?? 'unknown';
}

function machine(): Record<string, unknown> {
  return {
    nproc: os.cpus().length, cpu: version('lscpu', [], /(?<=Model name:\s*)\S.*/), memGiB: Math.round(os.totalmem() / 1024 ** 3), node: process.version,
    java: version('java', ['-version']), python: version(path.join(SPARK_DIR, 'venv', 'bin', 'python'), ['--version']),
    pyspark: version(path.join(SPARK_DIR, 'venv', 'bin', 'python'), ['-c', 'import pyspark; print(pyspark.__version__)']),
    temporal: version(toolPath('temporal'), ['--version']),
    // go install builds report "git" as their version; the module version is in the build info.
    versitygw: version('go', ['version', '-m', toolPath('versitygw')], /github\.com\/versity\/versitygw\s+v\S+/),
  };
}

export async function compareMain(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  // PySpark and the spark-avro jar: installed on first use, never by npm test.
  if (args.mode === 'compare') execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'setup-tools.sh'), '--spark'], { stdio: 'inherit' });
  process.env.PARTFLOW_LOG_LEVEL ??= 'warn';
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `pf-${args.mode}-`));
  const cfg = loadConfig({ ...process.env, TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${await freePort()}`, PARTFLOW_TASK_QUEUE: 'bench' });
  const stack = await startEmbeddedStack(cfg, { dataDir: path.join(work, 'stack'), uiPort: await freePort() });
  // Ctrl-C (or a kill) stops the servers this run started, not only a normal end.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stack.stop().finally(() => {
    fs.rmSync(work, { recursive: true, force: true });
    process.exit(130);
  }));
  const conn = await Connection.connect({ address: cfg.temporalAddress });
  const client = new Client({ connection: conn, namespace: cfg.temporalNamespace });
  const servers = { temporal: stack.temporal.child.pid!, s3: stack.s3!.child.pid! };
  const info = machine();
  console.log(`partflow bench ${args.mode}: ${JSON.stringify(info)}`);
  const out: Record<string, unknown> = { date: new Date().toISOString(), args, machine: info, loadStart: loadAverages() };
  try {
    if (args.mode === 'compare') {
      const { rows, load } = await compare(cfg, client, servers, work, args.scale, args.only, args.pairs);
      out.rows = rows;
      out.load = load;
      console.log(`\n${markdown(rows)}`);
    } else {
      out.rows = await scale(cfg, client, servers, scalePoints(args.max, args.points), args.parallel);
      console.table((out.rows as Record<string, unknown>[]).map(({ cpuSeconds, load, ...r }) => r));
    }
  } finally {
    out.loadEnd = loadAverages();
    await conn.close();
    await stack.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  const dir = path.join(PROJECT_ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const tag = args.mode === 'compare' && args.scale !== 1 ? `-x${args.scale}` : '';
  const file = path.join(dir, `${new Date().toISOString().slice(0, 10)}-${args.mode}${tag}.json`);
  fs.writeFileSync(file, JSON.stringify(out, null, 2));
  console.log(`\nwritten to ${path.relative(PROJECT_ROOT, file)}`);
}
