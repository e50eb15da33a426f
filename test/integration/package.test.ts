import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ChildProcess, spawn } from 'node:child_process';
import { builtinModules } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT, TOOLS_DIR } from '../../src/config/paths';
import type { IngestSummary } from '../../src/manifest/run';
import { s3Client } from '../../src/storage/client';
import { rawRecords } from '../../src/testing';
import { manifestOf, runOf } from '../helpers/runs';
import { decodeUrl } from '../helpers/s3';
import { testConfig } from '../helpers/stack';

/**
 * The real thing, from a user's side: `npm pack` this package, scaffold a project with
 * `partflow init` that depends on the tarball, install it, type-check, build and unit-test it,
 * then run its stage in a worker of its own on the real stack.
 */

interface Ran { code: number | null; out: string }

/** Runs a command to its end within `ms`; resolves with its exit code and its output (both streams). */
function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; ms: number }): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.ms, killSignal: 'SIGKILL' });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

async function ok(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; ms: number }): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${opts.cwd}) exited with ${r.code}:\n${r.out.slice(-4000)}`);
  return r.out;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'partflow-package-'));
const proj = path.join(tmp, 'orders-project');
const cfg = testConfig(`test-package-${process.pid}`);
const pipeline = 'orders-it';
// The user's shell: no partflow test settings, the stack's addresses, the task queue of this test.
const userEnv: NodeJS.ProcessEnv = {
  ...process.env, TEMPORAL_ADDRESS: cfg.temporalAddress, AWS_ENDPOINT_URL_S3: cfg.s3.endpoint, PARTFLOW_TASK_QUEUE: cfg.taskQueue,
  PARTFLOW_LOG_LEVEL: 'info', PARTFLOW_TOOLS_DIR: TOOLS_DIR,
};
let worker: ChildProcess | undefined;

beforeAll(async () => {
  if (!fs.existsSync(path.join(PROJECT_ROOT, 'dist', 'src', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` before this test');
  // Packs what is built (the prepack build is what `npm test` just did).
  await ok('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp], { cwd: PROJECT_ROOT, ms: 60_000 });
  const tarball = fs.readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack left no tarball in ${tmp}`);
  await ok('node', [path.join(PROJECT_ROOT, 'dist/src/cli/main.js'), 'init', proj, '--name', pipeline, '--partflow-spec', `file:${path.join(tmp, tarball)}`], { cwd: tmp, ms: 30_000 });
  await installProject(path.join(tmp, tarball));
}, 660_000);

afterAll(async () => {
  if (worker && worker.exitCode === null && worker.signalCode === null) {
    const exited = new Promise((r) => worker!.once('exit', r));
    worker.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => { timer = setTimeout(r, 15_000); })]);
    clearTimeout(timer);
    if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * Installs the project. partflow itself always comes from the tarball. Its dependencies: with
 * PARTFLOW_PACKAGE_TEST_NPM=1 a real `npm install` from the registry (minutes on a small, busy
 * machine); by default they are links to this checkout's node_modules, and the test checks
 * instead that every module the package requires is one of its declared dependencies.
 */
async function installProject(tarball: string): Promise<void> {
  if (process.env.PARTFLOW_PACKAGE_TEST_NPM === '1') {
    await ok('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: proj, ms: 600_000 });
    return;
  }
  const nm = path.join(proj, 'node_modules');
  fs.mkdirSync(path.join(nm, 'partflow'), { recursive: true });
  for (const entry of fs.readdirSync(path.join(PROJECT_ROOT, 'node_modules'))) {
    if (entry !== 'partflow' && entry !== '.bin' && !entry.startsWith('.')) fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules', entry), path.join(nm, entry));
  }
  await ok('tar', ['xzf', tarball, '-C', path.join(nm, 'partflow'), '--strip-components=1'], { cwd: tmp, ms: 60_000 });
  // What npm would link for the scaffold's scripts.
  fs.mkdirSync(path.join(nm, '.bin'));
  const bins: Record<string, string> = { partflow: '../partflow/bin/partflow.js', tsc: '../typescript/bin/tsc', tsx: '../tsx/dist/cli.mjs' };
  for (const [name, target] of Object.entries(bins)) fs.symlinkSync(target, path.join(nm, '.bin', name));
}

/** Every package a shipped .js file requires, by name (node: built-ins and relative paths left out). */
function requiredPackages(dir: string, found = new Set<string>()): Set<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) requiredPackages(p, found);
    else if (e.name.endsWith('.js')) {
      for (const m of fs.readFileSync(p, 'utf8').matchAll(/require\((["'])([^"'.][^"']*)\1\)/g)) {
        const spec = m[2];
        if (spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0])) continue;
        found.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
      }
    }
  }
  return found;
}

describe('the packed package in a fresh project', () => {
  it('installs partflow from the tarball, and `partflow init` wrote the project', () => {
    const installed = JSON.parse(fs.readFileSync(path.join(proj, 'node_modules/partflow/package.json'), 'utf8'));
    expect(installed.version).toBe(JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).version);
    // Not a link to this checkout: the files of the tarball.
    expect(fs.lstatSync(path.join(proj, 'node_modules/partflow')).isSymbolicLink()).toBe(false);
    for (const f of ['package.json', 'pipelines.ts', 'schemas/order/v1.avsc', 'data/orders.jsonl', 'test/pipelines.test.ts', 'tsconfig.json', 'README.md', '.gitignore']) {
      expect(fs.existsSync(path.join(proj, f))).toBe(true);
    }
    expect(fs.existsSync(path.join(proj, 'node_modules/partflow/dist/src/index.d.ts'))).toBe(true);
    expect(fs.existsSync(path.join(proj, 'node_modules/partflow/test'))).toBe(false);
    // Everything it requires at run time is a declared dependency (so npm installs it for users).
    const shipped = JSON.parse(fs.readFileSync(path.join(proj, 'node_modules/partflow/package.json'), 'utf8'));
    // (decode-guard requires typescript only when it runs from TypeScript sources, never from dist/.)
    const undeclared = [...requiredPackages(path.join(proj, 'node_modules/partflow/dist'))].filter((n) => !(n in shipped.dependencies) && n !== 'typescript');
    expect(undeclared).toEqual([]);
    // This very build, packed.
    const built = (f: string) => fs.readFileSync(path.join(PROJECT_ROOT, 'dist', f), 'utf8');
    const packed = (f: string) => fs.readFileSync(path.join(proj, 'node_modules/partflow/dist', f), 'utf8');
    for (const f of ['src/index.js', 'src/testing/run-stage.js', 'activities/stage.js', 'workflows/ingest.js']) expect(packed(f)).toBe(built(f));
  });

  it('type-checks, builds and passes its unit test (partflow/testing)', async () => {
    // tsc type-checks as it builds (`npm run typecheck` is the same without output).
    await ok('npm', ['run', 'build'], { cwd: proj, ms: 120_000 });
    expect(fs.existsSync(path.join(proj, 'dist/pipelines.js'))).toBe(true);
    const out = await ok('npm', ['test'], { cwd: proj, ms: 120_000 });
    expect(out).toMatch(/^# pass 1$/m);
    expect(out).toMatch(/^# fail 0$/m);
    const version = await ok(path.join(proj, 'node_modules/.bin/partflow'), ['--version'], { cwd: proj, ms: 30_000 });
    expect(version.trim()).toBe(JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).version);
  }, 400_000);

  it('runs an ingest with its stage in its own worker on the real stack (client API from the package)', async () => {
    // The project's sample data, whose "amount" mixes strings and numbers: its unit test passed on
    // these records as rawRecords imports them, so a real ingest must give the same counts.
    const source = `s3://${cfg.bucket}/package-test-${process.pid}/orders/`;
    const data = fs.readFileSync(path.join(proj, 'data/orders.jsonl'));
    const s3 = s3Client(cfg.s3);
    await s3.send(new PutObjectCommand({ Bucket: cfg.bucket, Key: `package-test-${process.pid}/orders/orders.jsonl`, Body: data }));

    // The worker the project's README tells the user to run: TypeScript straight from pipelines.ts.
    const w = spawn(path.join(proj, 'node_modules/.bin/partflow'), ['worker', '--pipelines', './pipelines.ts'], { cwd: proj, env: userEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    worker = w;
    let log = '';
    w.stdout!.on('data', (d) => (log += d));
    w.stderr!.on('data', (d) => (log += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker not ready within 150s:\n${log.slice(-3000)}`)), 150_000);
      const check = () => {
        if (/"msg":"worker ready"/.test(log)) { clearTimeout(timer); resolve(); }
      };
      w.stderr!.on('data', check);
      w.stdout!.on('data', check);
      w.once('exit', (code) => { clearTimeout(timer); reject(new Error(`worker exited with ${code}:\n${log.slice(-3000)}`)); });
    });
    expect(log).toMatch(new RegExp(`"pipelines":\\[[^\\]]*"${pipeline}"`));

    // A user's script starting and waiting for the ingest with the package's client API.
    fs.writeFileSync(path.join(proj, 'ingest.js'), `
      const { connect } = require('partflow');
      (async () => {
        const pf = await connect();
        try {
          const run = await pf.startIngest({ pipeline: process.argv[2], source: process.argv[3], dataset: process.argv[4] });
          const summary = await run.result();
          const failed = await run.partitions({ status: 'failed' });
          console.log(JSON.stringify({ summary, failed: failed.total }));
        } finally {
          await pf.close();
        }
      })().catch((e) => { console.error(e); process.exit(1); });
    `);
    const out = await ok('node', ['ingest.js', pipeline, source, `pkg-${process.pid}`], { cwd: proj, env: { ...userEnv, PARTFLOW_LOG_LEVEL: 'error' }, ms: 120_000 });
    const { summary, failed } = JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).pop()!) as { summary: IngestSummary; failed: number };
    expect(summary.status).toBe('completed');
    expect(failed).toBe(0);
    expect(summary.stages.clean.records).toEqual({ in: 4, out: 2, rejected: 1, dropped: 1 });

    const manifest = await runOf(s3, summary);
    expect(manifest.committed.clean).toHaveLength(1);
    // The raw records the stage read are those rawRecords gave the unit test.
    expect(await decodeUrl(s3, manifest.committed.raw[0].output)).toEqual((await rawRecords('orders.jsonl', { content: data })).records);
    const records = await decodeUrl(s3, manifest.committed.clean[0].output);
    expect(records.map((r) => ({ ...(r as object) }))).toEqual([{ id: 1, customer: 'ada', amount_cents: 1250 }, { id: 4, customer: 'cy', amount_cents: 7 }]);
    const pm = await manifestOf(s3, manifest.committed.clean[0]);
    expect(pm.schema.ref).toBe('order@1');
    const rejects = await decodeUrl(s3, pm.rejects!.url) as { index: number; reason: string; record: string }[];
    expect(rejects.map((r) => [Number(r.index), r.reason])).toEqual([[2, 'amount "n/a" is not a number']]);
  }, 400_000);

  it("installs the stack's tools into the project, and starts and stops the stack with partflow/testing's startStack", async () => {
    fs.writeFileSync(path.join(proj, 'stack.js'), `
      const { startStack } = require('partflow/testing');
      const { ListBucketsCommand } = require('@aws-sdk/client-s3');
      (async () => {
        const stack = await startStack({ bucket: 'it-stack' });
        try {
          const buckets = await stack.s3.send(new ListBucketsCommand({}));
          console.log(JSON.stringify({ address: stack.config.temporalAddress, buckets: buckets.Buckets.map((b) => b.Name) }));
        } finally {
          await stack.stop();
        }
      })().catch((e) => { console.error(e); process.exit(1); });
    `);
    // `npx partflow setup` puts the tools into the project's .tools/ (here linking this checkout's,
    // as PARTFLOW_*_BIN ask), where startStack finds them with no setting.
    const { PARTFLOW_TOOLS_DIR: _, ...env } = userEnv;
    const setupEnv = { ...env, PARTFLOW_TEMPORAL_BIN: path.join(TOOLS_DIR, 'bin/temporal'), PARTFLOW_VERSITYGW_BIN: path.join(TOOLS_DIR, 'bin/versitygw') };
    expect(await ok(path.join(proj, 'node_modules/.bin/partflow'), ['setup'], { cwd: proj, env: setupEnv, ms: 60_000 })).toContain(`tools are in ${path.join(proj, '.tools/bin')}`);
    expect(fs.existsSync(path.join(proj, '.tools/bin/temporal'))).toBe(true);
    const out = await ok('node', ['stack.js'], { cwd: proj, env, ms: 120_000 });
    const res = JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).pop()!) as { address: string; buckets: string[] };
    expect(res.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(res.address).not.toBe(cfg.temporalAddress);
    expect(res.buckets).toEqual(['it-stack']);
  }, 150_000);
});
