import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Config, DEFAULTS, loadConfig } from '../../src/config';
import { PROJECT_ROOT } from '../../src/config/paths';
import { logger } from '../../src/log';
import { freePort, Managed } from '../../src/stack/process';
import { startS3 } from '../../src/stack/embedded';
import { createS3Client, s3Client } from '../../src/storage/client';
import { getObjectStream, headObject, listObjects, objectExists, ObjectNotFoundError, putObject } from '../../src/storage/objects';
import { uploadFiles } from '../../src/tools/upload';
import { createWorker } from '../../src/worker/worker';
import { WorkerS3RefusedError } from '../../src/worker/s3-probe';
import { stackInfo } from '../helpers/stack';

/**
 * A user's own versitygw, not partflow's embedded stack: its root user is not partflow's
 * built-in one, as a new user's server is not.
 */
const BUCKET = 'own-bucket';
const OWNER = { AWS_ACCESS_KEY_ID: 'owner-key', AWS_SECRET_ACCESS_KEY: 'owner-secret-key' };
let dir: string;
let server: Managed;
let endpoint: string;
let owner: Config;
const TEMPORAL_ADDRESS = () => ({ TEMPORAL_ADDRESS: stackInfo().temporalAddress });
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The built CLI with only the given S3 settings: none of the test process's AWS_* variables. */
function cli(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('PARTFLOW_S3_')));
  return new Promise((resolve) => {
    const child = spawn('node', ['dist/src/cli/main.js', ...args], {
      cwd: PROJECT_ROOT, timeout: 60_000,
      env: { ...base, HOME: dir, AWS_EC2_METADATA_DISABLED: 'true', PARTFLOW_LOG_LEVEL: 'error', ...env },
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-own-s3-'));
  endpoint = `http://127.0.0.1:${await freePort()}`;
  owner = loadConfig({ AWS_ENDPOINT_URL_S3: endpoint, ...OWNER, PARTFLOW_BUCKET: BUCKET, TEMPORAL_ADDRESS: stackInfo().temporalAddress });
  server = await startS3(owner, { dataDir: path.join(dir, 'data'), uiPort: 0, logDir: path.join(dir, 'logs') });
  await putObject(s3Client(owner.s3), BUCKET, 'data/a.avro', 'not read: the credentials fail first');
});

afterAll(async () => {
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('credentials the server does not know', () => {
  it('the embedded keys (no credentials set) are refused: cat says so, with the endpoint and what to set, not "object not found"', async () => {
    const r = await cli({ AWS_ENDPOINT_URL_S3: endpoint }, 'cat', `s3://${BUCKET}/data/a.avro`);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`partflow: GetObject s3://${BUCKET}/data/a.avro: S3 at ${endpoint} refused the credentials of access key ID ${DEFAULTS.accessKeyId} (XAdminUserNotFound: No user exists with the provided access key ID.; `
      + 'credentials: the embedded stack\'s built-in keys (no credentials set)): these keys are only for the embedded stack (`partflow up`): for another S3 server set '
      + 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (or a [default] profile in AWS_SHARED_CREDENTIALS_FILE), to its credentials\n');
  });

  it.each([['the direct path', (c: Config['s3']) => s3Client(c)], ['the SDK', (c: Config['s3']) => createS3Client(c)]])('reads and HEADs by %s fail as credential errors (versitygw answers 404), never as a missing object', async (_, make) => {
    const wrong = loadConfig({ AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: 'nobody', AWS_SECRET_ACCESS_KEY: 'not-a-secret-anyone-has' }).s3;
    const s3 = make(wrong);
    const refused = new RegExp(`^(HeadObject|GetObject|ListObjectsV2) s3://${BUCKET}/data/(a\\.avro)?: S3 at ${esc(endpoint)} refused the credentials of access key ID nobody \\(XAdminUserNotFound: .*; credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from the environment\\): `);
    const attempts: (() => Promise<unknown>)[] = [
      () => headObject(s3, BUCKET, 'data/a.avro'), () => objectExists(s3, BUCKET, 'data/a.avro'), () => getObjectStream(s3, BUCKET, 'data/a.avro'), () => listObjects(s3, BUCKET, 'data/'),
    ];
    for (const attempt of attempts) {
      const err = await attempt().then(() => undefined, (e: Error) => e);
      expect(err).not.toBeInstanceOf(ObjectNotFoundError);
      expect(err?.message).toMatch(refused);
      expect(err?.message).not.toContain('not-a-secret-anyone-has');
    }
    // With keys the server knows, a HEAD's bare 404 is a missing object again.
    const right = make(owner.s3);
    await expect(headObject(right, BUCKET, 'data/none.avro')).rejects.toThrow(`object not found: s3://${BUCKET}/data/none.avro`);
    expect(await objectExists(right, BUCKET, 'data/none.avro')).toBe(false);
  });

  it('uploading a file with them reports the server\'s refusal, not the connection it closed early (write ECONNRESET)', async () => {
    const file = path.join(dir, 'big.csv');
    fs.writeFileSync(file, 'x'.repeat(140_000));
    const wrong = loadConfig({ AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: 'nobody', AWS_SECRET_ACCESS_KEY: 'wrong' }).s3;
    const err = await uploadFiles(s3Client(wrong), file, `s3://${BUCKET}/up/`).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(new RegExp(`^uploading ${esc(file)} to s3://${BUCKET}/up/big\\.csv: S3 at ${esc(endpoint)} refused the credentials of access key ID nobody \\(XAdminUserNotFound: `));
  });
});

describe('temporary credentials (AWS_SESSION_TOKEN)', () => {
  it('are accepted by the server on both paths: the token is signed as SigV4 requires', async () => {
    const cfg = loadConfig({ AWS_ENDPOINT_URL_S3: endpoint, ...OWNER, AWS_SESSION_TOKEN: 'FwoGZXIvYXdzEXAMPLE//token=' }).s3;
    const s3 = s3Client(cfg);
    await putObject(s3, BUCKET, 'token/a.txt', 'with a token');
    expect((await headObject(s3, BUCKET, 'token/a.txt')).size).toBe(12);
    expect((await listObjects(s3, BUCKET, 'token/')).map((o) => o.key)).toEqual(['token/a.txt']);
  });

  it('are sent, as x-amz-security-token and signed, by the direct path and the SDK', async () => {
    const seen: { method: string; headers: http.IncomingHttpHeaders }[] = [];
    const capture = http.createServer((req, res) => {
      seen.push({ method: req.method!, headers: req.headers });
      req.resume();
      req.on('end', () => {
        if (req.method === 'GET' && req.url?.includes('list-type=2')) {
          res.setHeader('content-type', 'application/xml');
          res.end('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>');
        } else {
          res.setHeader('etag', '"e"');
          res.end();
        }
      });
    });
    await new Promise<void>((r) => capture.listen(0, '127.0.0.1', r));
    try {
      const at = `http://127.0.0.1:${(capture.address() as AddressInfo).port}`;
      const cfg = loadConfig({ AWS_ENDPOINT_URL_S3: at, AWS_ACCESS_KEY_ID: 'ASIATEMP', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 'the-token' }).s3;
      const s3 = s3Client(cfg);
      await putObject(s3, 'b', 'k', 'x');
      await s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'k2', Body: 'x' }));
      await s3.send(new ListObjectsV2Command({ Bucket: 'b' }));
      expect(seen.map((s) => s.method)).toEqual(['PUT', 'PUT', 'GET']);
      for (const s of seen) {
        expect(s.headers['x-amz-security-token']).toBe('the-token');
        expect(s.headers.authorization).toMatch(/SignedHeaders=[a-z0-9;-]*\bx-amz-security-token\b/);
      }
    } finally {
      capture.close();
    }
  });
});

describe('where S3 is', () => {
  it('cat with nothing listening names the endpoint, AWS_ENDPOINT_URL_S3 and `partflow up`', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const r = await cli({ AWS_ENDPOINT_URL_S3: closed }, 'cat', `s3://${BUCKET}/data/a.avro`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^partflow: GetObject s3://${BUCKET}/data/a\\.avro: cannot reach the S3 endpoint at ${esc(closed)} \\(connect ECONNREFUSED ${esc(closed.slice(7))}\\); check AWS_ENDPOINT_URL_S3 `
      + 'and that the S3 server runs: with no S3 credentials set, this is where the embedded stack serves S3 \\(`partflow up` starts it\\)\\n$'));
  });

  it('`partflow up` serving S3 beyond loopback wants keys of its own: the built-in ones never leave this machine', async () => {
    const cfg = loadConfig({ AWS_ENDPOINT_URL_S3: `http://0.0.0.0:${await freePort()}` });
    await expect(startS3(cfg, { dataDir: path.join(dir, 'wide'), uiPort: 0 })).rejects.toThrow(
      `the embedded S3 server at ${cfg.s3.endpoint} is not on 127.0.0.1, localhost or ::1, where alone partflow sends its built-in keys: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`);
  });

  it('upload prints the endpoint it used when a profile\'s endpoint_url names it', async () => {
    fs.writeFileSync(path.join(dir, 'credentials'), `[own]\naws_access_key_id = ${OWNER.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${OWNER.AWS_SECRET_ACCESS_KEY}\n`);
    fs.writeFileSync(path.join(dir, 'config'), `[profile own]\nregion = us-east-1\nendpoint_url = ${endpoint}\n`);
    fs.writeFileSync(path.join(dir, 'small.csv'), 'id\n1\n');
    const r = await cli({ AWS_PROFILE: 'own', AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials'), AWS_CONFIG_FILE: path.join(dir, 'config') },
      'upload', path.join(dir, 'small.csv'), `s3://${BUCKET}/profile/`);
    expect(r.stderr).toBe(`  s3://${BUCKET}/profile/small.csv (5 bytes)\nuploaded 1 file(s), 5 bytes, to ${endpoint}\n`);
    expect(r.code).toBe(0);
  });
});

describe('a worker starting against S3 it cannot use', () => {
  async function start(config: Config): Promise<void> {
    const { worker, connection } = await createWorker({ config, pipelines: [], workflows: false, taskQueue: `own-s3-${process.pid}` });
    const running = worker.run();
    worker.shutdown();
    await running;
    await connection.close();
  }
  afterEach(() => jest.restoreAllMocks());

  it('refuses to start when S3 refuses its credentials, naming the endpoint, the access key ID and what to set; also with PARTFLOW_CONDITIONAL_WRITES=on, which sends no probe', async () => {
    const tq = TEMPORAL_ADDRESS();
    // The embedded keys against the user's own server: unknown there.
    const embedded = loadConfig({ AWS_ENDPOINT_URL_S3: endpoint, PARTFLOW_BUCKET: BUCKET, ...tq });
    const err = await start(embedded).then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(WorkerS3RefusedError);
    expect(err?.message).toMatch(new RegExp(`^the worker did not start: GetObject s3://${BUCKET}/datasets/_partflow/probe/[0-9a-f-]+: S3 at ${esc(endpoint)} refused the credentials of access key ID ${DEFAULTS.accessKeyId} \\(XAdminUserNotFound: .*; credentials: the embedded stack's built-in keys \\(no credentials set\\)\\): these keys are only for the embedded stack .* set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.*\\. A worker whose S3 credentials are refused or missing, or whose S3 settings name the wrong region or no S3 API, would fail every partition it took from the task queue`));

    const saved = process.env.PARTFLOW_CONDITIONAL_WRITES;
    process.env.PARTFLOW_CONDITIONAL_WRITES = 'on';
    try {
      const unknown = loadConfig({ AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: 'nobody-on', AWS_SECRET_ACCESS_KEY: 'wrong', PARTFLOW_BUCKET: BUCKET, ...tq });
      await expect(start(unknown)).rejects.toThrow(new RegExp(`S3 at ${esc(endpoint)} refused the credentials of access key ID nobody-on \\(XAdminUserNotFound: .*\\): the server does not know this access key ID`));
      // The owner's key ID with a wrong secret: not the owner's shared client (the secret is part of its key).
      await start(loadConfig({ AWS_ENDPOINT_URL_S3: endpoint, ...OWNER, PARTFLOW_BUCKET: BUCKET, ...tq }));
      const wrongSecret = loadConfig({ AWS_ENDPOINT_URL_S3: endpoint, ...OWNER, AWS_SECRET_ACCESS_KEY: 'not-the-secret', PARTFLOW_BUCKET: BUCKET, ...tq });
      await expect(start(wrongSecret)).rejects.toThrow(new RegExp(`S3 at ${esc(endpoint)} refused the credentials of access key ID ${OWNER.AWS_ACCESS_KEY_ID} \\(SignatureDoesNotMatch`));
      // The right keys start, with the store's answer about a key that is not there.
      await start(loadConfig({ AWS_ENDPOINT_URL_S3: endpoint, ...OWNER, PARTFLOW_BUCKET: BUCKET, ...tq }));
    } finally {
      if (saved === undefined) delete process.env.PARTFLOW_CONDITIONAL_WRITES; else process.env.PARTFLOW_CONDITIONAL_WRITES = saved;
    }
  });

  it('refuses to start when its region is not the store\'s, or its endpoint is no S3 API (MinIO\'s console port)', async () => {
    const answers: [string, RegExp][] = [
      ['<?xml version="1.0" encoding="UTF-8"?><Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is malformed; the region is wrong; expecting &#39;eu-central-1&#39;.</Message><Region>eu-central-1</Region></Error>',
        /^the worker did not start: GetObject .*: S3 at http:\/\/127\.0\.0\.1:\d+ refused the request for its region: .*set AWS_REGION to eu-central-1\. A worker whose S3 credentials/],
      ['<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidArgument</Code><Message>S3 API Requests must be made to API port.</Message></Error>',
        /^the worker did not start: GetObject .*: the S3 endpoint http:\/\/127\.0\.0\.1:\d+ answered .*MinIO's console port.*check AWS_ENDPOINT_URL_S3/],
    ];
    for (const [body, said] of answers) {
      const server = http.createServer((req, res) => req.resume().on('end', () => res.writeHead(400, { 'content-type': 'application/xml' }).end(body)));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const at = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const err = await start(loadConfig({ AWS_ENDPOINT_URL_S3: at, ...OWNER, PARTFLOW_BUCKET: BUCKET, ...TEMPORAL_ADDRESS() })).then(() => undefined, (e: Error) => e);
        expect(err).toBeInstanceOf(WorkerS3RefusedError);
        expect(err!.message).toMatch(said);
      } finally {
        server.close();
      }
    }
  });

  it('starts when S3 is unreachable, with a warning naming endpoint, credentials\' source and cause: a transient outage must not stop a fleet; "worker ready" names S3 too', async () => {
    const warn = jest.spyOn(logger(), 'warn');
    const info = jest.spyOn(logger(), 'info');
    const closed = `http://127.0.0.1:${await freePort()}`;
    await start(loadConfig({ AWS_ENDPOINT_URL_S3: closed, ...OWNER, PARTFLOW_BUCKET: BUCKET, ...TEMPORAL_ADDRESS() }));
    const down = warn.mock.calls.find((c) => /could not probe the default bucket/.test(String(c[1])));
    expect(down?.[0]).toMatchObject({ endpoint: closed, credentials: 'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from the environment', err: expect.stringMatching(/ECONNREFUSED/) });
    expect(info.mock.calls.find((c) => c[1] === 'worker ready')?.[0]).toMatchObject({ s3: closed, s3Credentials: 'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from the environment' });

    // A default bucket the store lacks: the warning names the setting, and what it means.
    warn.mockClear();
    await start(loadConfig({ AWS_ENDPOINT_URL_S3: endpoint, ...OWNER, PARTFLOW_BUCKET: 'no-such-default', ...TEMPORAL_ADDRESS() }));
    const missing = warn.mock.calls.find((c) => /PARTFLOW_BUCKET/.test(String(c[1])));
    expect(missing?.[1]).toBe(`the default bucket "no-such-default" (PARTFLOW_BUCKET) does not exist at ${endpoint}: a starting worker checks its credentials and the store's conditional writes there. Set PARTFLOW_BUCKET to a bucket of yours, or create it. Runs are not affected: each run's target bucket is probed on its first commit`);
  });

  it('`partflow worker` exits 1 with wrong keys (one process or several) and with none to send (a remote endpoint, no credentials anywhere)', async () => {
    const wrong = { AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: 'wrong', AWS_SECRET_ACCESS_KEY: 'wrong', PARTFLOW_BUCKET: BUCKET, ...TEMPORAL_ADDRESS() };
    const one = await cli({ ...wrong, PARTFLOW_WORKER_PROCESSES: '1' }, 'worker');
    expect(one.code).toBe(1);
    expect(one.stderr).toMatch(new RegExp(`^partflow: the worker did not start: GetObject s3://${BUCKET}/datasets/_partflow/probe/[0-9a-f-]+: S3 at ${esc(endpoint)} refused the credentials of access key ID wrong \\(XAdminUserNotFound: .*\\): the server does not know this access key ID: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and AWS_ENDPOINT_URL_S3\\. `));
    const two = await cli({ ...wrong, PARTFLOW_WORKER_PROCESSES: '2' }, 'worker');
    expect(two.code).toBe(1);
    expect(two.stderr).toMatch(/^partflow: worker process \d failed to start, exit code 1: the worker did not start: .* refused the credentials of access key ID wrong /m);

    // Nothing answers at 10.255.255.1: the chain finds nothing before any request goes out.
    const none = await cli({ AWS_ENDPOINT_URL_S3: 'http://10.255.255.1:7070', AWS_REGION: 'us-east-1', PARTFLOW_WORKER_PROCESSES: '1', ...TEMPORAL_ADDRESS() }, 'worker');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^partflow: the worker did not start: GetObject s3:\/\/partflow\/datasets\/_partflow\/probe\/[0-9a-f-]+: no S3 credentials for http:\/\/10\.255\.255\.1:7070: the AWS SDK's credential chain found none .*Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  });

  it('refuses to start with no region at all: every request would fail on it', async () => {
    const saved = { ...process.env };
    try {
      for (const k of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) delete process.env[k];
      fs.writeFileSync(path.join(dir, 'empty-config'), '');
      process.env.AWS_CONFIG_FILE = path.join(dir, 'empty-config');
      const config = loadConfig({ AWS_ENDPOINT_URL_S3: 'http://10.0.0.5:7070', PARTFLOW_BUCKET: BUCKET, TEMPORAL_ADDRESS: stackInfo().temporalAddress });
      await expect(start(config)).rejects.toThrow('no S3 region for http://10.0.0.5:7070: set AWS_REGION, or region in the profile\'s section of AWS_CONFIG_FILE (~/.aws/config)');
    } finally {
      process.env = saved;
    }
  });
});
