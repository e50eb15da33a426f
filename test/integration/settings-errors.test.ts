import { Client } from '@temporalio/client';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectClient } from '../../src/client';
import { Config } from '../../src/config';
import { PROJECT_ROOT } from '../../src/config/paths';
import { ensureBucket } from '../../src/stack/embedded';
import { s3Client } from '../../src/storage/client';
import { testConfig } from '../helpers/stack';
import { until } from '../helpers/until';

/**
 * The built CLI (`npm run build` first) and `partflow worker` with settings a person got wrong,
 * against the test stack: each says what is wrong in one line, without a stack trace, and a
 * worker's log keeps the reasons of the failures it sees.
 */
const BUCKET = 'it-settings';
let cfg: Config;
let dir: string;
let client: Client;
let closeClient: () => Promise<void>;

/** `partflow <args>` with the test stack's settings plus `env`; ends within `ms`. */
function partflow(env: Record<string, string>, args: string[], ms = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('node', ['dist/src/cli/main.js', ...args], {
      cwd: PROJECT_ROOT, timeout: ms, killSignal: 'SIGKILL',
      env: {
        ...process.env, TEMPORAL_ADDRESS: cfg.temporalAddress, AWS_ENDPOINT_URL_S3: cfg.s3.endpoint, PARTFLOW_TASK_QUEUE: cfg.taskQueue,
        PARTFLOW_BUCKET: BUCKET, PARTFLOW_LOG_LEVEL: 'error', PARTFLOW_WORKER_PROCESSES: '1', ...env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  cfg = testConfig(`test-settings-${process.pid}`, BUCKET);
  await ensureBucket(s3Client(cfg.s3), BUCKET);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-settings-'));
  const c = await connectClient(cfg);
  client = c.client;
  closeClient = () => c.connection.close();
});

afterAll(async () => {
  await closeClient?.();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('configuration errors in the CLI', () => {
  it.each([
    [{ TEMPORAL_PROFILE: 'typo' }, /^partflow: cannot load the Temporal connection settings \(profile "typo" of [^)]*\): TEMPORAL_PROFILE is "typo", but there is no Temporal config file/],
    [{ TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' }, /^partflow: cannot load the Temporal connection settings: TEMPORAL_CONFIG_FILE names \/nonexistent\/temporal\.toml, which does not exist$/],
    [{ PARTFLOW_S3_DIRECT: 'yes' }, /^partflow: PARTFLOW_S3_DIRECT must be 1 .* or 0, got "yes"$/],
    [{ PARTFLOW_S3_CREDENTIALS: 'profile' }, /^partflow: PARTFLOW_S3_CREDENTIALS must be "chain" .* or "embedded", got "profile"$/],
  ])('%o: --version and --help work; a command says what is wrong in one line and exits 2', async (env, message) => {
    const v = await partflow({ XDG_CONFIG_HOME: dir, ...env }, ['--version']);
    expect(v).toMatchObject({ code: 0, stderr: '' });
    expect(v.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect((await partflow({ XDG_CONFIG_HOME: dir, ...env }, ['gc', '--help'])).code).toBe(0);
    const status = await partflow({ XDG_CONFIG_HOME: dir, ...env }, ['status', 'some-run']);
    expect(status.code).toBe(2);
    expect(status.stderr.split('\n')).toEqual([expect.stringMatching(message), '']);
  });

  it('an S3 endpoint with a path (a bucket pasted into it) is named beside what S3 then says', async () => {
    const note = (p: string) => `. The endpoint ${cfg.s3.endpoint}/${p} has a path (/${p}): every request goes to ${cfg.s3.endpoint}/${p}/<bucket>/<key>, `
      + `so a server that serves S3 at its root takes "${p}" for the bucket; unless this one serves S3 under /${p}, set AWS_ENDPOINT_URL_S3 to ${cfg.s3.endpoint} `
      + 'and name the bucket in the s3:// URL (or PARTFLOW_BUCKET)\n';
    // The bucket itself: it exists, so S3 looks for the key under another one's name.
    const found = await partflow({ AWS_ENDPOINT_URL_S3: `${cfg.s3.endpoint}/${BUCKET}` }, ['cat', `s3://${BUCKET}/x.avro`]);
    expect(found.stderr).toBe(`partflow: object not found: s3://${BUCKET}/x.avro${note(BUCKET)}`);
    const missing = await partflow({ AWS_ENDPOINT_URL_S3: `${cfg.s3.endpoint}/nosuch-${process.pid}` }, ['cat', `s3://${BUCKET}/x.avro`]);
    expect(missing.stderr).toBe(`partflow: bucket ${BUCKET} does not exist (S3 NoSuchBucket: check the bucket name and the endpoint), so neither does s3://${BUCKET}/x.avro${note(`nosuch-${process.pid}`)}`);
    // versitygw: a two-letter bucket name is not valid.
    const invalid = await partflow({ AWS_ENDPOINT_URL_S3: `${cfg.s3.endpoint}/s3` }, ['upload', __filename, `s3://${BUCKET}/up/`]);
    expect(invalid.stderr).toMatch(/^partflow: uploading .*: The specified bucket is not valid/);
    expect(invalid.stderr.endsWith(note('s3'))).toBe(true);
    for (const r of [found, missing, invalid]) expect(r.code).not.toBe(0);
  });

  it('a bad Avro limit fails the command that reads Avro, not loading the CLI', async () => {
    const env = { PARTFLOW_MAX_COLLECTION_ITEMS: 'abc' };
    expect((await partflow(env, ['--version'])).code).toBe(0);
    expect((await partflow(env, ['gc', '--help'])).code).toBe(0);
    const worker = await partflow(env, ['worker']);
    expect(worker.code).toBe(2);
    expect(worker.stderr).toBe('partflow: PARTFLOW_MAX_COLLECTION_ITEMS must be a positive integer, got "abc"\n');
  });
});

describe('partflow worker: settings checked before it takes work', () => {
  it.each([
    ['PARTFLOW_WORKER_CONCURRENCY', 'abc', 'PARTFLOW_WORKER_CONCURRENCY must be an integer from 1 to 1000, got "abc"'],
    ['PARTFLOW_WORKER_CONCURRENCY', '0', 'PARTFLOW_WORKER_CONCURRENCY must be an integer from 1 to 1000, got "0"'],
    ['PARTFLOW_WORKER_CONCURRENCY', '2.5', 'PARTFLOW_WORKER_CONCURRENCY must be an integer from 1 to 1000, got "2.5"'],
    ['PARTFLOW_PART_SIZE', 'abc', 'PARTFLOW_PART_SIZE must be a number of bytes from 5242880 (5 MiB, S3\'s smallest part) to 5368709120 (5 GiB), got "abc"'],
    ['PARTFLOW_SNAPSHOT_PART_ENTRIES', '-1', 'PARTFLOW_SNAPSHOT_PART_ENTRIES must be an integer from 1 to 10000000, got "-1"'],
    // The Kafka client's: the worker started with them, and each Kafka ingest then failed its planning.
    ['PARTFLOW_KAFKA_SASL_MECHANISM', 'FOO', 'PARTFLOW_KAFKA_SASL_MECHANISM=FOO: expected one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512'],
    ['PARTFLOW_KAFKA_SASL_MECHANISM', 'PLAIN', 'PARTFLOW_KAFKA_SASL_MECHANISM is set: PARTFLOW_KAFKA_SASL_USERNAME and PARTFLOW_KAFKA_SASL_PASSWORD are needed too'],
    // Was taken for "no TLS".
    ['PARTFLOW_KAFKA_TLS', 'maybe', 'PARTFLOW_KAFKA_TLS must be true (or 1) to connect to the brokers with TLS, or false (or 0), got "maybe"'],
    ['PARTFLOW_KAFKA_TLS_CA', '/nonexistent.pem', "PARTFLOW_KAFKA_TLS_CA=/nonexistent.pem: cannot read it: ENOENT: no such file or directory, open '/nonexistent.pem'"],
  ])('%s=%s stops it with a message naming the variable (one process and several)', async (name, value, message) => {
    for (const processes of ['1', '2']) {
      // Log lines (stderr) at info too: a worker that started would say "worker ready" (and outlive the bound).
      const r = await partflow({ [name]: value, PARTFLOW_WORKER_PROCESSES: processes, PARTFLOW_LOG_LEVEL: 'info' }, ['worker'], 30_000);
      expect(r.stderr).not.toContain('worker ready');
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`partflow: ${message}\n`);
    }
  });

  it('--pipelines: one message names an element that is no definition with every problem of every invalid pipeline', async () => {
    // It named pipelines[2] alone and exited; the rest showed only once that element was removed.
    const mod = path.join(dir, 'bad-pipelines.js');
    fs.writeFileSync(mod, `const t = (r) => r;
exports.pipelines = [
  { name: 'cyc', stages: [{ name: 'a', after: ['b'], schema: 'order@1', version: '1', transform: t }, { name: 'b', after: ['a'], schema: 'order@1', version: '1', transform: t }] },
  { name: 'copy', stages: [{ name: 'x', schema: 'order@1', version: '1', transform: t }] },
  { name: 'orders' },
  { name: 'bad2', stages: [{ name: 'x', schema: 'nope@1', version: '1', transform: 5 }, { name: 'x', schema: 'order@1', version: '1', transform: t, after: ['zz'] }] },
];
`);
    const r = await partflow({}, ['worker', '--pipelines', mod], 30_000);
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      `partflow: --pipelines ${mod}: an element of \`pipelines\` is not a pipeline definition (an object with a "name" and "stages", from definePipeline):`,
      '  - pipelines[2] ("orders"): it has no "stages" (an array of stage definitions)',
      'pipeline "cyc" is invalid:',
    ]);
    for (const line of ['  - stages form a cycle: a -> b -> a', 'pipeline "copy" is invalid:',
      '  - its name clashes with partflow\'s built-in pipeline "copy" (which `partflow worker` and `partflow up` register): give yours another name',
      'pipeline "bad2" is invalid:', '  - stage "x" is defined twice', '  - stage "x": transform is the number 5, not a function', '  - stage "x" depends on unknown stage "zz"']) {
      expect(lines).toContain(line);
    }
    expect(r.stderr).toMatch(/^ {2}- stage "x": schema "nope" not found/m);
  });

  it('a namespace that does not exist is named with the address and where the settings came from (worker and CLI)', async () => {
    const ns = `teamdta-${process.pid}`;
    const worker = await partflow({ TEMPORAL_NAMESPACE: ns }, ['worker']);
    const hint = `Temporal namespace "${ns}" does not exist at ${cfg.temporalAddress} (namespace ${ns}, no TLS; TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE): `
      + `check the namespace's name, or create it (temporal operator namespace create --namespace ${ns} --address ${cfg.temporalAddress})`;
    expect(worker.code).toBe(1);
    expect(worker.stderr).toBe(`partflow: ${hint}\n`);
    const status = await partflow({ TEMPORAL_NAMESPACE: ns }, ['status', 'some-run']);
    expect(status.code).toBe(1);
    expect(status.stderr).toBe(`partflow: ${hint}\n`);
  });
});

describe("a worker's log keeps the reasons of failures", () => {
  it('"Workflow failed" and "Activity failed" carry the error\'s type, message and cause', async () => {
    const log = path.join(dir, 'worker.log');
    const queue = `${cfg.taskQueue}-log`;
    const worker = spawn('node', ['dist/src/cli/main.js', 'worker'], {
      cwd: PROJECT_ROOT, stdio: 'ignore',
      env: {
        ...process.env, TEMPORAL_ADDRESS: cfg.temporalAddress, AWS_ENDPOINT_URL_S3: cfg.s3.endpoint, PARTFLOW_TASK_QUEUE: queue,
        PARTFLOW_BUCKET: BUCKET, PARTFLOW_LOG_FILE: log, PARTFLOW_LOG_LEVEL: 'info', PARTFLOW_WORKER_PROCESSES: '1',
      },
    });
    try {
      const lines = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : []);
      // Started as the temporal CLI or the UI would, past partflow's own checks: planning finds nothing.
      const source = `s3://${BUCKET}/incomming/orders-${process.pid}/`;
      const handle = await client.workflow.start('ingest', { taskQueue: queue, workflowId: `settings-log-${process.pid}`, args: [{ pipeline: 'copy', source }] });
      await expect(handle.result()).rejects.toThrow();
      const wf = await until('"Workflow failed" in the log', 30_000, async () => lines().find((l) => l.msg === 'Workflow failed'));
      // The workflow thread hands its failure over as a structured clone: the class comes from the
      // stack, and ApplicationFailure's own type and flags stay behind; the message chain comes through.
      expect(wf.error).toMatchObject({ type: 'Error', message: 'Activity task failed', cause: { type: 'ApplicationFailure', message: `no source objects under ${source}` } });
      expect((wf.error as { stack?: unknown }).stack).toBeUndefined();
      const act = lines().find((l) => l.msg === 'Activity failed');
      expect(act?.error).toEqual({ type: 'ApplicationFailure', failureType: 'SourceEmpty', nonRetryable: true, message: `no source objects under ${source}` });
    } finally {
      worker.kill('SIGTERM');
      await new Promise((r) => (worker.exitCode !== null ? r(undefined) : worker.once('exit', r)));
    }
  });
});

describe('partflow worker: an S3 endpoint with a path', () => {
  it('is said at the start, naming the endpoint, even when every request succeeds (the bucket is pasted into it)', async () => {
    const log = path.join(dir, 'worker-path.log');
    const endpoint = `${cfg.s3.endpoint}/${BUCKET}`;
    const worker = spawn('node', ['dist/src/cli/main.js', 'worker'], {
      cwd: PROJECT_ROOT, stdio: 'ignore',
      env: {
        ...process.env, TEMPORAL_ADDRESS: cfg.temporalAddress, AWS_ENDPOINT_URL_S3: endpoint, PARTFLOW_TASK_QUEUE: `${cfg.taskQueue}-path`,
        PARTFLOW_BUCKET: BUCKET, PARTFLOW_LOG_FILE: log, PARTFLOW_LOG_LEVEL: 'info', PARTFLOW_WORKER_PROCESSES: '1',
      },
    });
    try {
      const lines = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : []);
      const warned = await until('the endpoint path warning', 30_000, async () => lines().find((l) => String(l.msg).startsWith('S3 endpoint with a path')));
      expect(warned).toMatchObject({ level: 40, endpoint });
      expect(warned.msg).toContain(`takes "${BUCKET}" for the bucket; unless this one serves S3 under /${BUCKET}, set AWS_ENDPOINT_URL_S3 to ${cfg.s3.endpoint}`);
      // The probe's GET found no key, as at any endpoint: the worker starts.
      await until('the worker polling', 30_000, async () => (lines().some((l) => l.msg === 'checked the store for conditional writes') ? true : undefined));
      expect(worker.exitCode).toBeNull();
    } finally {
      worker.kill('SIGTERM');
      await new Promise((r) => (worker.exitCode !== null ? r(undefined) : worker.once('exit', r)));
    }
  });
});
