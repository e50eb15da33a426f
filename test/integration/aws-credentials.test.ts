import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { ensureBucket } from '../../src/stack/embedded';
import { createS3Client, s3Client } from '../../src/storage/client';
import { stackInfo } from '../helpers/stack';

/** S3 keeps to the AWS SDK's own credential chain: a named profile of a shared credentials file, here against versitygw. */
const BUCKET = 'it-aws-creds';
let dir: string;
const saved: Record<string, string | undefined> = {};
const CHAIN_ENV = ['AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_REGION', 'AWS_DEFAULT_REGION'];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partflow-aws-'));
  const embedded = loadConfig({ AWS_ENDPOINT_URL_S3: stackInfo().s3Endpoint });
  await ensureBucket(s3Client(embedded.s3), BUCKET);
  await s3Client(embedded.s3).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'hello.txt', Body: 'hi' }));
  fs.writeFileSync(path.join(dir, 'credentials'), [
    '[pipeline]', `aws_access_key_id = ${embedded.s3.accessKeyId}`, `aws_secret_access_key = ${embedded.s3.secretAccessKey}`, '',
    '[stranger]', 'aws_access_key_id = nobody', 'aws_secret_access_key = wrong-secret', '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'config'), '[profile pipeline]\nregion = us-east-1\n[profile stranger]\nregion = us-east-1\n');
  // The SDK's chain reads these from the process environment, as it would in production.
  for (const k of CHAIN_ENV) saved[k] = process.env[k];
  for (const k of CHAIN_ENV) delete process.env[k];
  process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(dir, 'credentials');
  process.env.AWS_CONFIG_FILE = path.join(dir, 'config');
});

afterAll(() => {
  for (const k of CHAIN_ENV) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

async function listWith(profile: string): Promise<string[]> {
  const cfg = loadConfig({ AWS_ENDPOINT_URL_S3: stackInfo().s3Endpoint, AWS_PROFILE: profile });
  // No static keys: the SDK resolves them from the profile (the region too, from the shared config file).
  expect(cfg.s3).toEqual({ endpoint: stackInfo().s3Endpoint, profile, forcePathStyle: true, credentials: 'chain' });
  const s3 = createS3Client(cfg.s3);
  try {
    const res = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    return (res.Contents ?? []).map((o) => o.Key!);
  } finally {
    s3.destroy();
  }
}

describe('S3 credentials from the AWS SDK chain', () => {
  it('AWS_PROFILE with a shared credentials file: its keys are used', async () => {
    expect(await listWith('pipeline')).toEqual(['hello.txt']);
  });

  it('a profile with other keys is refused by the server, so the profile really is what signs', async () => {
    await expect(listWith('stranger')).rejects.toThrow(/access key|InvalidAccessKeyId|AccessDenied|signature/i);
  });
});

describe('a [default] profile in AWS_SHARED_CREDENTIALS_FILE, with no AWS_PROFILE', () => {
  let files = 0;
  /** New files (the SDK caches a file's contents by its path), set in the environment as a user would: the SDK reads them from there. */
  function useFiles(credentials: string, config: string): NodeJS.ProcessEnv {
    files++;
    const env = { AWS_SHARED_CREDENTIALS_FILE: path.join(dir, `credentials-${files}`), AWS_CONFIG_FILE: path.join(dir, `config-${files}`) };
    fs.writeFileSync(env.AWS_SHARED_CREDENTIALS_FILE, credentials);
    fs.writeFileSync(env.AWS_CONFIG_FILE, config);
    Object.assign(process.env, env);
    return { AWS_ENDPOINT_URL_S3: stackInfo().s3Endpoint, ...env };
  }
  afterEach(() => {
    process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(dir, 'credentials');
    process.env.AWS_CONFIG_FILE = path.join(dir, 'config');
  });

  async function list(env: NodeJS.ProcessEnv): Promise<string[]> {
    const s3 = createS3Client(loadConfig(env).s3);
    try {
      return ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map((o) => o.Key!);
    } finally {
      s3.destroy();
    }
  }

  it('its keys sign, not the embedded stack\'s built-in ones', async () => {
    const env = useFiles('[default]\naws_access_key_id = nobody-here\naws_secret_access_key = wrong-secret\n', '[default]\nregion = us-east-1\n');
    expect(loadConfig(env).s3).toEqual({ endpoint: stackInfo().s3Endpoint, forcePathStyle: true, credentials: 'chain' });
    // versitygw answers an unknown key with a 404 (XAdminUserNotFound): a credential error that names the key and its source.
    await expect(list(env)).rejects.toThrow(new RegExp(`^ListObjectsV2 s3://${BUCKET}/: S3 at ${stackInfo().s3Endpoint.replace(/[.]/g, '\\.')} refused the credentials of access key ID nobody-here \\(XAdminUserNotFound: .*; credentials: the AWS SDK's credential chain\\): `));
  });

  it('with the right keys, the region comes from the config file\'s [default] profile, or AWS_REGION over it', async () => {
    const keys = `[default]\naws_access_key_id = ${loadConfig({}).s3.accessKeyId}\naws_secret_access_key = ${loadConfig({}).s3.secretAccessKey}\n`;
    expect(await list(useFiles(keys, '[default]\nregion = us-east-1\n'))).toEqual(['hello.txt']);
    // versitygw wants us-east-1: a wrong region from the file is refused, AWS_REGION wins over it.
    const elsewhere = useFiles(keys, '[default]\nregion = eu-west-3\n');
    await expect(list(elsewhere)).rejects.toThrow(/eu-west-3/);
    expect(await list({ ...elsewhere, AWS_REGION: 'us-east-1' })).toEqual(['hello.txt']);
  });
});
