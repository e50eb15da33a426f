import { S3Client } from '@aws-sdk/client-s3';
import { DEFAULTS, loadConfig } from '../../src/config';
import { createS3Client, describeEndpoint, s3Client } from '../../src/storage/client';
import { explainS3Failure, S3ConfigError, S3CredentialsError, S3UnreachableError } from '../../src/storage/failures';
import { isNotFound, isTransient } from '../../src/storage/objects';

const s3Error = (name: string, message: string, status: number) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

describe('S3 failures about the set-up', () => {
  const remote = loadConfig({ AWS_ENDPOINT_URL_S3: 'http://10.0.0.5:7070', AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'very-secret', AWS_SESSION_TOKEN: 'tok' }).s3;

  it('a refused key names the endpoint, the key ID (never the secret), where the keys came from, and what to set', async () => {
    const err = await explainS3Failure(s3Error('XAdminUserNotFound', 'No user exists with the provided access key ID.', 404), { cfg: remote });
    expect(err).toBeInstanceOf(S3CredentialsError);
    expect(err!.name).toBe('XAdminUserNotFound');
    expect(err!.message).toBe('S3 at http://10.0.0.5:7070 refused the credentials of access key ID AKIAEXAMPLE (XAdminUserNotFound: No user exists with the provided access key ID.; '
      + 'credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN from the environment): the server does not know this access key ID: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and AWS_ENDPOINT_URL_S3');
    expect(err!.message).not.toContain('very-secret');
    // versitygw's 404 for an unknown key is no missing object; a bare 404 (a HEAD's) still is.
    expect(isNotFound(err)).toBe(false);
    expect(isNotFound(s3Error('XAdminUserNotFound', 'x', 404))).toBe(false);
    expect(isNotFound(s3Error('NotFound', 'UnknownError', 404))).toBe(true);
    expect(isTransient(err)).toBe(false);
  });

  it.each([
    ['SignatureDoesNotMatch', 403, /the secret key does not match the access key ID, or the region does not \(us-east-1\)/],
    ['AccessDenied', 403, /these credentials may not do this here: check their permissions/],
    ['ExpiredToken', 400, /temporary credentials expire: get new ones .* AWS_SESSION_TOKEN/],
    ['InvalidToken', 400, /temporary credentials expire/],
    ['InvalidAccessKeyId', 403, /the server does not know this access key ID/],
  ])('%s is a credential error with its own hint', async (code, status, hint) => {
    const err = await explainS3Failure(s3Error(code, 'S3 said so', status), { cfg: remote });
    expect(err).toBeInstanceOf(S3CredentialsError);
    expect(err!.message).toMatch(new RegExp(`^S3 at http://10\\.0\\.0\\.5:7070 refused the credentials of access key ID AKIAEXAMPLE \\(${code}: S3 said so; credentials: `));
    expect(err!.message).toMatch(hint);
    expect((err as S3CredentialsError).$metadata.httpStatusCode).toBe(status);
  });

  it('the embedded keys refused by some other server say so, and what to set instead', async () => {
    const cfg = loadConfig({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000' }).s3;
    const err = await explainS3Failure(s3Error('XAdminUserNotFound', 'No user exists with the provided access key ID.', 404), { cfg });
    expect(err!.message).toContain(`access key ID ${DEFAULTS.accessKeyId} (XAdminUserNotFound: No user exists with the provided access key ID.; credentials: the embedded stack's built-in keys (no credentials set)): `
      + 'these keys are only for the embedded stack (`partflow up`): for another S3 server set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE');
  });

  it('the chain finding no credentials names the endpoint and the settings', async () => {
    const cfg = loadConfig({ AWS_ENDPOINT_URL_S3: 'https://s3.example.com' }).s3;
    const none = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    const err = await explainS3Failure(none, { cfg });
    expect(err).toBeInstanceOf(S3CredentialsError);
    expect(err!.message).toMatch(/^no S3 credentials for https:\/\/s3\.example\.com: the AWS SDK's credential chain found none \(Could not load credentials from any providers\)\. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY .*, or AWS_PROFILE, or a \[default\] profile in ~\/\.aws\/credentials or AWS_SHARED_CREDENTIALS_FILE/);
  });

  it('no region is a configuration error; other errors are left alone', async () => {
    const cfg = loadConfig({ AWS_PROFILE: 'p' }).s3;
    const err = await explainS3Failure(new Error('Region is missing'), { cfg });
    expect(err).toBeInstanceOf(S3ConfigError);
    expect(err!.message).toBe('no S3 region for AWS S3: set AWS_REGION, or region in the profile\'s section of AWS_CONFIG_FILE (~/.aws/config)');
    expect(await explainS3Failure(s3Error('NoSuchKey', 'gone', 404), { cfg })).toBeUndefined();
    expect(await explainS3Failure(s3Error('InternalError', 'oops', 500), { cfg })).toBeUndefined();
  });

  it('an unreachable endpoint is named with the setting; with no credentials set, `partflow up` too; it stays transient', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7070'), { code: 'ECONNREFUSED' });
    const embedded = await explainS3Failure(refused, { cfg: loadConfig({}).s3 });
    expect(embedded).toBeInstanceOf(S3UnreachableError);
    expect(embedded!.message).toBe('cannot reach the S3 endpoint at http://127.0.0.1:7070 (connect ECONNREFUSED 127.0.0.1:7070); check AWS_ENDPOINT_URL_S3 and that the S3 server runs: '
      + 'with no S3 credentials set, this is where the embedded stack serves S3 (`partflow up` starts it)');
    expect(isTransient(embedded)).toBe(true);
    const wrapped = new Error('AWS SDK error wrapper for Error: getaddrinfo ENOTFOUND s3.internal');
    expect((await explainS3Failure(wrapped, { cfg: remote, endpoint: 'http://s3.internal:7070' }))!.message)
      .toBe('cannot reach the S3 endpoint at http://s3.internal:7070 (getaddrinfo ENOTFOUND s3.internal); check AWS_ENDPOINT_URL_S3 and that the S3 server runs and is reachable from this machine');
  });
});

describe('S3 clients', () => {
  it('a new session token is a new shared client; the same settings share one', () => {
    const env = { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:7070', AWS_ACCESS_KEY_ID: 'ASIAK', AWS_SECRET_ACCESS_KEY: 's' };
    const a = s3Client(loadConfig({ ...env, AWS_SESSION_TOKEN: 'one' }).s3);
    expect(s3Client(loadConfig({ ...env, AWS_SESSION_TOKEN: 'one' }).s3)).toBe(a);
    expect(s3Client(loadConfig({ ...env, AWS_SESSION_TOKEN: 'two' }).s3)).not.toBe(a);
    expect(s3Client(loadConfig(env).s3)).not.toBe(a);
  });

  it('describes where requests go: the endpoint, or AWS S3 and its region', async () => {
    const clients: S3Client[] = [];
    const make = (env: Record<string, string>) => {
      const cfg = loadConfig(env).s3;
      const c = createS3Client(cfg);
      clients.push(c);
      return describeEndpoint(c, cfg);
    };
    expect(await make({ AWS_ENDPOINT_URL_S3: 'http://10.0.0.5:7070' })).toBe('http://10.0.0.5:7070');
    expect(await make({ AWS_PROFILE: 'p', AWS_REGION: 'eu-west-1' })).toBe('AWS S3 (region eu-west-1)');
    for (const c of clients) c.destroy();
  });
});
