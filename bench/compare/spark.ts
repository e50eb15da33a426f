/** Runs bench/compare/spark_job.py in the project-local PySpark (scripts/setup-tools.sh --spark). */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths';
import { TreeSampler } from './procstat';

export const SPARK_DIR = path.join(process.env.PARTFLOW_TOOLS_DIR ?? path.join(PROJECT_ROOT, '.tools'), 'spark');

export interface SparkRun {
  mode: 'copy' | 'builtin' | 'udf';
  wallSeconds: number;
  startupSeconds: number;
  jobSeconds: number;
  records: number;
  out: number;
  sparkPartitions: number;
  codec: string;
  /** Reading the output and input back to count them (after the job; taken out of wallSeconds). */
  countSeconds: number;
  pyspark: string;
  cpuSeconds: number;
  processes: ReturnType<TreeSampler['stop']>['byName'];
}

export function sparkJar(): string {
  const jars = fs.existsSync(path.join(SPARK_DIR, 'jars')) ? fs.readdirSync(path.join(SPARK_DIR, 'jars')).filter((f) => /^spark-avro_2\.13-.*\.jar$/.test(f)) : [];
  if (jars.length !== 1) throw new Error(`expected one spark-avro_2.13 jar in ${SPARK_DIR}/jars (run: bash scripts/setup-tools.sh --spark), found ${jars.length}`);
  return path.join(SPARK_DIR, 'jars', jars[0]);
}

export async function runSpark(mode: SparkRun['mode'], inputs: string[], records: number, outDir: string): Promise<SparkRun> {
  const python = path.join(SPARK_DIR, 'venv', 'bin', 'python');
  if (!fs.existsSync(python)) throw new Error(`no PySpark venv at ${SPARK_DIR}/venv (run: bash scripts/setup-tools.sh --spark)`);
  // Thousands of file names would overflow the command line: Spark reads the directory instead.
  const dirs = [...new Set(inputs.map((f) => path.dirname(f)))];
  const args = [path.join(PROJECT_ROOT, 'bench', 'compare', 'spark_job.py'), '--mode', mode, '--out', outDir, '--codec', 'zstandard', ...dirs];
  const t0 = process.hrtime.bigint();
  const child = spawn(python, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYSPARK_PYTHON: python, PYSPARK_SUBMIT_ARGS: `--jars ${sparkJar()} --driver-memory 4g pyspark-shell` },
  });
  const sampler = new TreeSampler(child.pid!);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const usage = sampler.stop();
  const line = stdout.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`spark_job.py --mode ${mode} exited with ${code}:\n${stderr.slice(-4000)}`);
  const r = JSON.parse(line) as Omit<SparkRun, 'mode' | 'records' | 'wallSeconds' | 'cpuSeconds' | 'processes'>;
  return { mode, records, ...r, wallSeconds: wallSeconds - r.countSeconds, cpuSeconds: usage.cpuSeconds, processes: usage.byName };
}
