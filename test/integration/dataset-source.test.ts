import http from 'node:http';
import net from 'node:net';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { connect, InvalidInputError, SourceBucketMissingError, SourceEmptyError, UnsupportedSourceError } from '../../src';
import type { IngestSummary } from '../../src/manifest/run';
import type { IngestInput } from '../../src/pipeline/input';
import { builtinPipelines } from '../../src/pipelines';
import { snapshotNumbers } from '../../src/snapshots/store';
import { s3Client } from '../../src/storage/client';
import { listObjects } from '../../src/storage/objects';
import { runCli, runCliWith } from '../helpers/cli';
import { getJson } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';
import { until } from '../helpers/until';

/**
 * Two sources whose last path segment is the same (s3://…/2024/orders/, s3://…/2025/orders/)
 * default to one dataset name: the second is refused before anything runs, unless its dataset is
 * given explicitly. On the real Temporal and S3 of the test stack; needs `npm run build` (the CLI
 * runs dist/).
 */
const BUCKET = 'it-dsrc';
const S3 = `s3://${BUCKET}`;
let h: TestHarness;
let s3: S3Client;
const schedules: string[] = [];

const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
const cli = (...args: string[]) => runCli(h.cfg, ...args);

function run(input: Partial<IngestInput>, id: string): Promise<IngestSummary> {
  return h.client.workflow.execute('ingest', {
    taskQueue: h.cfg.taskQueue, workflowId: `${id}-${process.pid}`, workflowExecutionTimeout: '2m', args: [{ pipeline: 'copy', ...input }],
  });
}

/** The failure at the bottom of a failed run's causes (the planning activity's). */
async function failure(input: Partial<IngestInput>, id: string): Promise<Error & { type?: string; nonRetryable?: boolean }> {
  try {
    await run(input, id);
  } catch (e) {
    expect(e).toBeInstanceOf(WorkflowFailedError);
    let c = (e as Error & { cause?: Error }).cause as (Error & { cause?: Error; type?: string; nonRetryable?: boolean }) | undefined;
    while (c?.cause) c = c.cause as typeof c;
    return c!;
  }
  throw new Error('expected the run to fail');
}

const snapshots = (target: string) => snapshotNumbers(s3, { bucket: BUCKET, prefix: `${target}orders/` });
const plans = async (target: string) => (await listObjects(s3, BUCKET, `${target}orders/_plans/`)).length;
const marker = (target: string) => getJson<{ source?: string }>(s3, `${S3}/${target}orders/_partflow.json`);

beforeAll(async () => {
  h = await startHarness('dsrc', builtinPipelines, { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
  await put('2024/orders/a.jsonl', '{"id":1,"year":2024}\n{"id":2,"year":2024}\n');
  await put('2025/orders/b.jsonl', '{"id":3,"year":2025}\n');
  await put('x/orders.csv', 'id,year\n4,2026\n');
  await put('x/orders/c.csv', 'id,year\n5,2026\n');
});

afterAll(async () => {
  for (const id of schedules) await h?.client.schedule.getHandle(id).delete().catch(() => undefined);
  await h?.stop();
});

describe('a dataset named after its source belongs to that source', () => {
  it('refuses a second source whose dataset name was only defaulted, before it writes anything; the same source and an explicit dataset go on', async () => {
    const target = 't1/';
    const first = await run({ source: `${S3}/2024/orders`, target: `${S3}/${target}` }, 'first');
    expect(first).toMatchObject({ status: 'completed', dataset: 'orders' });
    // The marker records the source as planning read it: a prefix, so with its "/".
    expect((await marker(target)).source).toBe(`${S3}/2024/orders/`);

    const e = await failure({ source: `${S3}/2025/orders/`, target: `${S3}/${target}` }, 'second');
    expect(e.type).toBe('DatasetConflict');
    expect(e.nonRetryable).toBe(true);
    expect(e.message).toBe(`refusing to ingest ${S3}/2025/orders/: its dataset name "orders" comes from the source's last path segment (no "dataset" was given), `
      + `and dataset ${S3}/t1/orders/ already holds data of ${S3}/2024/orders/ (recorded in its _partflow.json). `
      + 'Both sources in one dataset would make each run\'s snapshot drop the other\'s partitions. '
      + 'Give this source a dataset of its own ("dataset": "2025-orders", or --dataset 2025-orders), or give "dataset": "orders" (--dataset orders) to ingest it into that dataset on purpose');
    expect(await snapshots(target)).toEqual([1]);
    expect(await plans(target)).toBe(1);

    // The same source, written the other way, reuses everything.
    const again = await run({ source: `${S3}/2024/orders/`, target: `${S3}/${target}` }, 'again');
    expect(again.status).toBe('completed');
    expect(again.stages.copy).toMatchObject({ succeeded: 1, skipped: 1 });
    expect(again.snapshot?.number).toBe(2);

    // Named explicitly, another source may write the dataset (a provider that moved its files).
    const moved = await run({ source: `${S3}/2025/orders/`, target: `${S3}/${target}`, dataset: 'orders' }, 'explicit');
    expect(moved).toMatchObject({ status: 'completed', dataset: 'orders', source: `${S3}/2025/orders/` });
    expect(moved.stages.copy.records.out).toBe(1);
    expect(await snapshots(target)).toEqual([1, 2, 3]);
    expect((await marker(target)).source).toBe(`${S3}/2024/orders/`);
  });

  it('the CLI refuses before starting a run, with --wait and without; --dataset goes on with a note', async () => {
    const target = `${S3}/t2/`;
    const first = await cli('ingest', 'copy', '--source', `${S3}/2024/orders/`, '--target', target, '--wait');
    expect(first.code).toBe(0);
    for (const wait of [[], ['--wait']]) {
      const r = await cli('ingest', 'copy', '--source', `${S3}/2025/orders/`, '--target', target, ...wait);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`^partflow: refusing to ingest ${S3}/2025/orders/: .* already holds data of ${S3}/2024/orders/ .*--dataset 2025-orders.*--dataset orders\\) to ingest it into that dataset on purpose\\n$`));
      expect(r.stderr).not.toMatch(/started/);
    }
    expect(await snapshots('t2/')).toEqual([1]);
    const explicit = await cli('ingest', 'copy', '--source', `${S3}/2025/orders/`, '--target', target, '--dataset', 'orders', '--wait');
    expect(explicit.code).toBe(0);
    expect(explicit.stderr).toMatch(new RegExp(`^note: dataset ${S3}/t2/orders/ already holds data of ${S3}/2024/orders/ \\(recorded in its _partflow.json\\); this ingest writes ${S3}/2025/orders/ into it, as its "dataset" was given\\n`));
    expect(explicit.stdout).toMatch(/Ingest completed/);
  });

  it('a typo\'d source that would also take another source\'s dataset name is reported as empty, by the CLI and by planning', async () => {
    const target = `${S3}/t6/`;
    expect((await cli('ingest', 'copy', '--source', `${S3}/2024/orders/`, '--target', target, '--wait')).code).toBe(0);
    // "incomming": nothing there, and its default dataset name "orders" is the 2024 source's.
    for (const source of [`${S3}/incomming/orders/`, `${S3}/incomming/orders`]) {
      for (const wait of [[], ['--wait']]) {
        const r = await cli('ingest', 'copy', '--source', source, '--target', target, ...wait);
        expect(r.code).toBe(1);
        expect(r.stderr).toBe(`partflow: no source objects under ${source}\n`);
      }
    }
    const id = `dsrc-typo-${process.pid}`;
    schedules.push(id);
    const sched = await cli('schedule', 'create', id, '--pipeline', 'copy', '--source', `${S3}/incomming/orders/`, '--target', target, '--cron', '@yearly');
    expect(sched.code).toBe(1);
    expect(sched.stderr).toMatch(new RegExp(`^partflow: schedule "${id}": no source objects under ${S3}/incomming/orders/\n`));
    // Started past the CLI (the temporal CLI, the UI), planning says the same.
    const e = await failure({ source: `${S3}/incomming/orders/`, target }, 'typo');
    expect(e.type).toBe('SourceEmpty');
    expect(e.message).toBe(`no source objects under ${S3}/incomming/orders/`);
    // A source that holds objects is still refused for the dataset, not for emptiness.
    expect((await cli('ingest', 'copy', '--source', `${S3}/2025/orders/`, '--target', target)).stderr).toMatch(/^partflow: refusing to ingest /);
    expect(await snapshots('t6/')).toEqual([1]);
  });

  it('a scheduled run is refused with the same message, and so is a schedule created for another source', async () => {
    const target = `${S3}/t3/`;
    const id = `dsrc-${process.pid}`;
    schedules.push(id, `${id}-b`);
    // Created while the dataset does not exist yet, so nothing refuses it.
    const made = await cli('schedule', 'create', id, '--pipeline', 'copy', '--source', `${S3}/2025/orders/`, '--target', target, '--cron', '@yearly');
    expect(made.code).toBe(0);
    await run({ source: `${S3}/2024/orders/`, target }, 't3-first');
    await h.client.schedule.getHandle(id).trigger();
    const runId = await until('the scheduled run to close', 60_000, async () => {
      const wf = (await h.client.schedule.getHandle(id).describe()).info.recentActions[0]?.action.workflow;
      return wf && (await h.client.workflow.getHandle(wf.workflowId).describe()).status.name !== 'RUNNING' ? wf.workflowId : undefined;
    });
    expect((await h.client.workflow.getHandle(runId).describe()).status.name).toBe('FAILED');
    const shown = await cli('schedule', 'describe', id);
    expect(shown.stdout).toMatch(new RegExp(`failed +refusing to ingest ${S3}/2025/orders/: .* already holds data of ${S3}/2024/orders/`));
    const status = await cli('status', runId);
    expect(status.stdout).toMatch(new RegExp(`failure: refusing to ingest ${S3}/2025/orders/`));
    const statusJson = JSON.parse((await cli('status', runId, '--json')).stdout) as { status: string; failure?: string };
    expect(statusJson.status).toBe('FAILED');
    expect(statusJson.failure).toMatch(new RegExp(`^refusing to ingest ${S3}/2025/orders/`));

    const refused = await cli('schedule', 'create', `${id}-b`, '--pipeline', 'copy', '--source', `${S3}/2025/orders/`, '--target', target, '--cron', '@yearly');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`^partflow: schedule "${id}-b": refusing to ingest ${S3}/2025/orders/`));
  });

  it('an object and the prefix of the same name are different sources', async () => {
    const target = `${S3}/t4/`;
    expect((await run({ source: `${S3}/x/orders.csv`, target }, 'object')).status).toBe('completed');
    expect((await marker('t4/')).source).toBe(`${S3}/x/orders.csv`);
    const e = await failure({ source: `${S3}/x/orders/`, target }, 'prefix');
    expect(e.type).toBe('DatasetConflict');
    expect(e.message).toMatch(new RegExp(`^refusing to ingest ${S3}/x/orders/: .* already holds data of ${S3}/x/orders.csv `));
  });

  it('a dataset whose marker predates recording the source belongs to the source of its latest snapshot', async () => {
    const target = 't5/';
    expect((await run({ source: `${S3}/2024/orders/`, target: `${S3}/${target}` }, 'legacy')).status).toBe('completed');
    // As partflow wrote markers before it recorded sources.
    await put(`${target}orders/_partflow.json`, JSON.stringify({ kind: 'partflow.dataset', version: 2, dataset: 'orders' }));
    const e = await failure({ source: `${S3}/2025/orders/`, target: `${S3}/${target}` }, 'legacy-other');
    expect(e.type).toBe('DatasetConflict');
    expect(e.message).toMatch(new RegExp(`already holds data of ${S3}/2024/orders/ \\(recorded in snapshot 1, its latest\\)`));
    expect((await run({ source: `${S3}/2024/orders`, target: `${S3}/${target}` }, 'legacy-again')).status).toBe('completed');
  });

  it('a new dataset inside another dataset\'s folder is refused, by the CLI and by planning, naming both', async () => {
    expect((await run({ source: `${S3}/2024/orders/`, target: `${S3}/t6/` }, 'outer')).status).toBe('completed');
    const inner = { source: `${S3}/2025/orders/`, target: `${S3}/t6/orders/`, dataset: 'inner' };
    const why = `refusing to create the dataset ${S3}/t6/orders/inner/: it lies inside the dataset ${S3}/t6/orders/ (which has its own _partflow.json), and a dataset inside another mixes their objects. Give a target outside it, e.g. --target ${S3}/t6/`;
    const e = await failure(inner, 'nested');
    expect([e.type, e.message]).toEqual(['DatasetConflict', why]);
    const r = await cli('ingest', 'copy', '--source', inner.source, '--target', inner.target, '--dataset', 'inner', '--wait');
    expect([r.code, r.stderr]).toEqual([1, `partflow: ${why}\n`]);
    expect(await listObjects(s3, BUCKET, 't6/orders/inner/')).toEqual([]);
    // A sibling is fine.
    expect((await run({ ...inner, target: `${S3}/t6/` }, 'sibling')).status).toBe('completed');
  });
});

describe('an empty source is refused before a run starts, not only by planning', () => {
  it('startIngest throws SourceEmptyError and starts nothing; partflow ingest says why and exits 1', async () => {
    const client = await connect(h.cfg);
    try {
      for (const source of [`${S3}/nothing-here/`, `${S3}/nothing-here`, `${S3}/2024/orders/a.jsonl.typo`]) {
        const workflowId = `empty-src-${Math.random().toString(36).slice(2, 8)}`;
        await expect(client.startIngest({ pipeline: 'copy', source, target: `${S3}/t-empty/` }, { workflowId })).rejects.toThrow(SourceEmptyError);
        await expect(client.getIngest(workflowId).handle.describe()).rejects.toThrow(WorkflowNotFoundError);
      }
      // A bad input is refused the same way, with an error the package exports.
      const bad = await client.startIngest({ bogus: 1 } as never).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(InvalidInputError);
      expect((bad as InvalidInputError).message).toMatch(/"pipeline" is required/);
      // A source that holds objects still starts (an object, and a prefix given without its "/").
      for (const source of [`${S3}/2024/orders/a.jsonl`, `${S3}/2024/orders`]) {
        const r = await client.startIngest({ pipeline: 'copy', source, target: `${S3}/t-empty/`, dataset: 'starts' });
        expect((await r.result()).status).toBe('completed');
      }
    } finally {
      await client.close();
    }
    for (const wait of [[], ['--wait']]) {
      const r = await cli('ingest', 'copy', '--source', `${S3}/nothing-here/`, '--target', `${S3}/t-empty/`, ...wait);
      expect(r).toMatchObject({ code: 1, stdout: '', stderr: `partflow: no source objects under ${S3}/nothing-here/\n` });
    }
    expect(await listObjects(s3, BUCKET, 't-empty/nothing-here/')).toEqual([]);
  });
});

describe('a source whose names tell no single format is refused before a run starts, as planning refuses it', () => {
  const unknown = `${S3}/fmt/unknown/`;
  const mixed = `${S3}/fmt/mixed/`;
  const unknownWhy = `cannot tell the format of ${S3}/fmt/unknown/a.txt, ${S3}/fmt/unknown/b.dat (known endings: .csv .jsonl .ndjson .json .avro, and .gz after the flat ones; or give the format: --format, the input's "format")`;
  const mixedWhy = `source ${mixed} mixes formats (csv, jsonl); ingest each format from its own prefix, or give one format for all (--format, the input's "format")`;

  it('startIngest throws UnsupportedSourceError and partflow ingest exits 1 with planning\'s words; with a format the run starts', async () => {
    await put('fmt/unknown/a.txt', 'id\n1\n');
    await put('fmt/unknown/b.dat', 'id\n2\n');
    await put('fmt/unknown/_SUCCESS', '');
    await put('fmt/mixed/a.csv', 'id\n1\n');
    await put('fmt/mixed/b.jsonl', '{"id":2}\n');
    const client = await connect(h.cfg);
    try {
      for (const [source, why] of [[unknown, unknownWhy], [mixed, mixedWhy]]) {
        const workflowId = `fmt-src-${Math.random().toString(36).slice(2, 8)}`;
        const err = await client.startIngest({ pipeline: 'copy', source, target: `${S3}/t-fmt/` }, { workflowId }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(UnsupportedSourceError);
        expect((err as Error).message).toBe(why);
        await expect(client.getIngest(workflowId).handle.describe()).rejects.toThrow(WorkflowNotFoundError);
        // Planning, which a run started around the check (the Temporal UI, temporal workflow start) meets, says the same.
        const e = await failure({ source, target: `${S3}/t-fmt/` }, `fmt-plan-${workflowId}`);
        expect([e.type, e.nonRetryable, e.message]).toEqual(['UnsupportedSource', true, why]);
      }
      const r = await client.startIngest({ pipeline: 'copy', source: unknown, target: `${S3}/t-fmt/`, format: 'csv' });
      expect(await r.result()).toMatchObject({ status: 'completed', stages: { copy: { records: { out: 2, rejected: 0 } } } });
    } finally {
      await client.close();
    }
    const r = await cli('ingest', 'copy', '--source', mixed, '--target', `${S3}/t-fmt/`, '--wait');
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: `partflow: ${mixedWhy}\n` });
  });
});

describe('a source whose bucket does not exist is refused before anything starts', () => {
  const source = 's3://no-such-bucket-dsrc/x/';
  const why = (endpoint: string) => `source ${source}: the bucket "no-such-bucket-dsrc" does not exist at ${endpoint} (S3 NoSuchBucket): `
    + 'check the bucket name in the URL, and that AWS_ENDPOINT_URL_S3 points at the store that holds it';

  it('startIngest throws SourceBucketMissingError and partflow ingest exits 1, naming the bucket and the store; no run is started', async () => {
    const client = await connect(h.cfg);
    try {
      const workflowId = `no-bucket-${Math.random().toString(36).slice(2, 8)}`;
      const e = await client.startIngest({ pipeline: 'copy', source, target: `${S3}/t-nobucket/` }, { workflowId }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(SourceBucketMissingError);
      expect((e as Error).message).toBe(why(h.cfg.s3.endpoint!));
      await expect(client.getIngest(workflowId).handle.describe()).rejects.toThrow(WorkflowNotFoundError);
    } finally {
      await client.close();
    }
    for (const wait of [[], ['--wait']]) {
      const workflowId = `no-bucket-cli-${Math.random().toString(36).slice(2, 8)}`;
      // The source's bucket is the default target's too: both ways, the missing bucket is what is said.
      for (const target of [[], ['--target', `${S3}/t-nobucket/`]]) {
        const r = await cli('ingest', 'copy', '--source', source, ...target, '--workflow-id', workflowId, ...wait);
        expect(r).toMatchObject({ code: 1, stdout: '', stderr: `partflow: ${why(h.cfg.s3.endpoint!)}\n` });
      }
      await expect(h.client.workflow.getHandle(workflowId).describe()).rejects.toThrow(WorkflowNotFoundError);
    }
  });

  it('partflow schedule create and update refuse it too; an empty source is fine for a schedule', async () => {
    const id = `dsrc-nobucket-${process.pid}`;
    schedules.push(id);
    const refused = await cli('schedule', 'create', id, '--pipeline', 'copy', '--source', source, '--cron', '@yearly');
    expect(refused).toMatchObject({ code: 1, stderr: `partflow: schedule "${id}": ${why(h.cfg.s3.endpoint!)}\n` });
    await expect(h.client.schedule.getHandle(id).describe()).rejects.toThrow(/not found/);
    // Data may arrive in an empty prefix before the first firing.
    const empty = await cli('schedule', 'create', id, '--pipeline', 'copy', '--source', `${S3}/arrives-later/`, '--cron', '@yearly');
    expect(empty.code).toBe(0);
    const moved = await cli('schedule', 'update', id, '--source', source);
    expect(moved).toMatchObject({ code: 1, stderr: `partflow: schedule "${id}": ${why(h.cfg.s3.endpoint!)}\n` });
    expect((await h.client.schedule.getHandle(id).describe()).action.args?.[0]).toMatchObject({ source: `${S3}/arrives-later/` });
  });
});

describe("a shell whose S3 settings the store refuses", () => {
  it('says the source could not be checked, and why, then starts the run: the worker reads S3 with its own settings', async () => {
    const workflowId = `dsrc-wrongkeys-${process.pid}`;
    const r = await runCliWith(h.cfg, { AWS_ACCESS_KEY_ID: 'wrong-key', AWS_SECRET_ACCESS_KEY: 'wrong-secret' },
      'ingest', 'copy', '--source', `${S3}/2025/orders/`, '--target', `${S3}/t-wrongkeys/`, '--workflow-id', workflowId);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^note: could not check the source before starting, with this shell's S3 settings: ListObjectsV2 s3:\/\/it-dsrc\/2025\/orders\/: S3 at .* refused the credentials of access key ID wrong-key .* — starting the run anyway: its worker reads S3 with its own settings\n/);
    await h.client.workflow.getHandle(workflowId).result();
  });

  it.each([
    ['a region the store does not take', '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is malformed; the region is wrong; expecting &#39;eu-central-1&#39;.</Message><Region>eu-central-1</Region></Error>',
      /S3 at http:\/\/127\.0\.0\.1:\d+ refused the request for its region: .*us-east-1 .*: set AWS_REGION to eu-central-1/],
    ["MinIO's console port", '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidArgument</Code><Message>S3 API Requests must be made to API port.</Message></Error>',
      /the S3 endpoint http:\/\/127\.0\.0\.1:\d+ answered .*MinIO's console port.*: check AWS_ENDPOINT_URL_S3/],
  ])('says so for %s too, then starts the run', async (kind, body, why) => {
    const store = http.createServer((req, res) => req.resume().on('end', () => res.writeHead(400, { 'content-type': 'application/xml' }).end(body)));
    await new Promise<void>((r) => store.listen(0, '127.0.0.1', r));
    try {
      const workflowId = `dsrc-${kind.split(' ')[0].replace(/\W/g, '')}-${process.pid}`;
      const r = await runCliWith(h.cfg, { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${(store.address() as net.AddressInfo).port}` },
        'ingest', 'copy', '--source', `${S3}/2025/orders/`, '--target', `${S3}/t-${workflowId}/`, '--workflow-id', workflowId);
      expect(r).toMatchObject({ code: 0, stdout: `${workflowId}\n` });
      expect(r.stderr).toMatch(/^note: could not check the source before starting, with this shell's S3 settings: ListObjectsV2 s3:\/\/it-dsrc\/2025\/orders\/: /);
      expect(r.stderr).toMatch(why);
      expect(r.stderr).toContain(' — starting the run anyway: its worker reads S3 with its own settings\n');
      await h.client.workflow.getHandle(workflowId).result();
    } finally {
      store.close();
    }
  });

  it('shows an endpoint with a path as it is set', async () => {
    const r = await runCliWith(h.cfg, { AWS_ENDPOINT_URL_S3: `${h.cfg.s3.endpoint}/storage` },
      'ingest', 'copy', '--source', `${S3}/2025/orders/`, '--target', `${S3}/t-prefixed/`, '--workflow-id', `dsrc-prefixed-${process.pid}`);
    // versitygw takes no path prefix: the request names another bucket, and the message says where it went.
    expect(r).toMatchObject({ code: 1, stderr: expect.stringContaining(`does not exist at ${h.cfg.s3.endpoint}/storage (S3 NoSuchBucket)`) });
  });

  it('says when the store does not answer, starts the run after one 10 s wait, and exits', async () => {
    // Accepts connections, never answers.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const workflowId = `dsrc-silent-${process.pid}`;
      const t0 = Date.now();
      const r = await runCliWith(h.cfg, { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}` },
        'ingest', 'copy', '--source', `${S3}/2025/orders/`, '--target', `${S3}/t-silent/`, '--workflow-id', workflowId);
      expect(r).toMatchObject({ code: 0, stdout: `${workflowId}\n` });
      expect(r.stderr).toContain(`note: S3 at http://127.0.0.1:${port} did not answer within 10 s: the source was not checked before starting. Starting the run anyway`);
      // One deadline for every check, and no wait on the requests it gave up on (it took 30 s, then minutes).
      expect(Date.now() - t0).toBeLessThan(40_000);
      await h.client.workflow.getHandle(workflowId).result();
    } finally {
      silent.close();
    }
  }, 90_000);
});
