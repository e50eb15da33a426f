import { DEFAULTS, loadConfig } from '../../src/config';
import { ConfigError } from '../../src/config/errors';
import { describeConnection } from '../../src/temporal/connection';

describe('loadConfig: S3 credentials', () => {
  it('with nothing set, points at the embedded stack with its keys', () => {
    expect(loadConfig({}).s3).toEqual({
      endpoint: DEFAULTS.s3Endpoint, region: DEFAULTS.s3Region, accessKeyId: DEFAULTS.accessKeyId, secretAccessKey: DEFAULTS.secretAccessKey, forcePathStyle: true, credentials: 'embedded',
    });
  });

  it('PARTFLOW_S3_PATH_STYLE takes true, false, 1 or 0', () => {
    expect(loadConfig({ PARTFLOW_S3_PATH_STYLE: 'False' }).s3.forcePathStyle).toBe(false);
    expect(loadConfig({ PARTFLOW_S3_PATH_STYLE: '0' }).s3.forcePathStyle).toBe(false);
    expect(loadConfig({ PARTFLOW_S3_PATH_STYLE: '1' }).s3.forcePathStyle).toBe(true);
    expect(loadConfig({ PARTFLOW_S3_PATH_STYLE: '' }).s3.forcePathStyle).toBe(true);
    expect(loadConfig({ AWS_ENDPOINT_URL_S3: 'https://s3.example.com' }).s3.endpoint).toBe('https://s3.example.com');
  });

  it('static keys from the environment win', () => {
    expect(loadConfig({ AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_PROFILE: 'p' }).s3).toMatchObject({ accessKeyId: 'k', secretAccessKey: 's', endpoint: DEFAULTS.s3Endpoint, credentials: 'static' });
  });

  it('static keys carry AWS_SESSION_TOKEN (temporary credentials: STS, SSO, CI OIDC); the embedded keys never do', () => {
    const env = { AWS_ACCESS_KEY_ID: 'ASIAK', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 'tok', AWS_ENDPOINT_URL_S3: 'https://s3.example.com' };
    expect(loadConfig(env).s3).toMatchObject({ accessKeyId: 'ASIAK', secretAccessKey: 's', sessionToken: 'tok', credentials: 'static' });
    expect(loadConfig({ AWS_SESSION_TOKEN: 'tok' }).s3.sessionToken).toBeUndefined();
  });

  it.each([
    ['AWS_PROFILE', 'prod'], ['AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', '/v2/credentials/x'], ['AWS_CONTAINER_CREDENTIALS_FULL_URI', 'http://169.254.170.23/v1/credentials'],
    ['AWS_WEB_IDENTITY_TOKEN_FILE', '/var/run/secrets/token'], ['PARTFLOW_S3_CREDENTIALS', 'chain'],
    // The chain reads the [default] profile of these files without AWS_PROFILE.
    ['AWS_SHARED_CREDENTIALS_FILE', '/etc/partflow/credentials'], ['AWS_CONFIG_FILE', '/etc/partflow/config'],
  ])('%s leaves credentials, region and endpoint (AWS itself) to the SDK', (k, v) => {
    const s3 = loadConfig({ [k]: v }).s3;
    expect(s3.accessKeyId).toBeUndefined();
    expect(s3.secretAccessKey).toBeUndefined();
    expect(s3.endpoint).toBeUndefined();
    expect(s3.region).toBeUndefined();
    expect(s3.credentials).toBe('chain');
  });

  it('never sends the embedded keys to an endpoint that is not this machine: with no credentials set, that is the chain', () => {
    for (const endpoint of ['http://10.0.0.5:7070', 'https://s3.example.com', 'http://localhost.example.com:7070', 'http://128.0.0.1:7070']) {
      const s3 = loadConfig({ AWS_ENDPOINT_URL_S3: endpoint }).s3;
      expect(s3).toEqual({ endpoint, forcePathStyle: true, credentials: 'chain' });
    }
    // Not a URL at all: refused, rather than taken for a remote endpoint.
    expect(() => loadConfig({ AWS_ENDPOINT_URL_S3: 'not a url' })).toThrow(/must be a URL like http:\/\/host:port/);
    expect(loadConfig({ AWS_ENDPOINT_URL: 'http://192.168.1.2:7070', AWS_REGION: 'us-east-1' }).s3.accessKeyId).toBeUndefined();
    for (const endpoint of ['http://127.0.0.1:7070', 'http://127.3.2.1:9000/', 'http://localhost:7070', 'http://[::1]:7070']) {
      expect(loadConfig({ AWS_ENDPOINT_URL_S3: endpoint }).s3).toMatchObject({ endpoint, accessKeyId: DEFAULTS.accessKeyId, credentials: 'embedded' });
    }
    expect(() => loadConfig({ AWS_ENDPOINT_URL_S3: 'http://10.0.0.5:7070', PARTFLOW_S3_CREDENTIALS: 'embedded' }))
      .toThrow('PARTFLOW_S3_CREDENTIALS=embedded sends the embedded stack\'s built-in keys, which only ever go to this machine, but AWS_ENDPOINT_URL_S3 is http://10.0.0.5:7070');
  });

  it('keeps an explicit endpoint and region with the chain', () => {
    expect(loadConfig({ AWS_PROFILE: 'minio', AWS_ENDPOINT_URL_S3: 'http://minio:9000', AWS_REGION: 'eu-west-1' }).s3)
      .toEqual({ endpoint: 'http://minio:9000', region: 'eu-west-1', profile: 'minio', forcePathStyle: true, credentials: 'chain' });
  });

  it('half a key pair is an error naming the missing half, whatever else is set: it would be silently ignored', () => {
    for (const more of [{}, { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:7070' }, { AWS_ENDPOINT_URL_S3: 'https://s3.example.com' }, { PARTFLOW_S3_CREDENTIALS: 'chain' }, { AWS_PROFILE: 'p' }]) {
      expect(() => loadConfig({ AWS_ACCESS_KEY_ID: 'partflow', ...more }))
        .toThrow(new ConfigError('AWS_ACCESS_KEY_ID is set ("partflow") but AWS_SECRET_ACCESS_KEY is not: static S3 keys need both; set AWS_SECRET_ACCESS_KEY to its secret, or unset AWS_ACCESS_KEY_ID (see "S3 credentials" in the README)'));
      expect(() => loadConfig({ AWS_SECRET_ACCESS_KEY: 'top-secret', AWS_ACCESS_KEY_ID: '', ...more }))
        .toThrow(/^AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: static S3 keys need both; set AWS_ACCESS_KEY_ID/);
    }
    let e: unknown;
    try {
      loadConfig({ AWS_SECRET_ACCESS_KEY: 'top-secret' });
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).not.toContain('top-secret');
  });

  it('PARTFLOW_S3_CREDENTIALS=embedded ignores a shell AWS_PROFILE; a bad value is an error', () => {
    expect(loadConfig({ AWS_PROFILE: 'x', PARTFLOW_S3_CREDENTIALS: 'embedded' }).s3.accessKeyId).toBe(DEFAULTS.accessKeyId);
    expect(() => loadConfig({ PARTFLOW_S3_CREDENTIALS: 'iam' })).toThrow('PARTFLOW_S3_CREDENTIALS must be "chain" (the AWS SDK\'s credential chain) or "embedded", got "iam"');
  });
});

describe('loadConfig: Temporal connection', () => {
  it('defaults to the embedded dev server, plaintext; empty variables count as unset', () => {
    const cfg = loadConfig({ TEMPORAL_ADDRESS: '', TEMPORAL_NAMESPACE: '' });
    expect(cfg.temporalAddress).toBe(DEFAULTS.temporalAddress);
    expect(cfg.temporalNamespace).toBe('default');
    expect(cfg.temporal.tls).toBeUndefined();
    expect(describeConnection(cfg.temporal)).toBe('127.0.0.1:7233 (namespace default, no TLS; defaults: no TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE or Temporal profile set)');
  });

  it('an API key turns TLS on (Temporal Cloud) and is never printed', () => {
    const cfg = loadConfig({ TEMPORAL_ADDRESS: 'eu-west-1.aws.api.temporal.io:7233', TEMPORAL_NAMESPACE: 'acme.a1b2c', TEMPORAL_API_KEY: 'secret-key' });
    expect(cfg.temporal).toMatchObject({ address: 'eu-west-1.aws.api.temporal.io:7233', namespace: 'acme.a1b2c', apiKey: 'secret-key', tls: true });
    expect(describeConnection(cfg.temporal)).toBe('eu-west-1.aws.api.temporal.io:7233 (namespace acme.a1b2c, TLS, API key; TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY)');
  });

  it('TEMPORAL_TLS=true uses the system roots; gRPC metadata comes from TEMPORAL_GRPC_META_*', () => {
    const cfg = loadConfig({ TEMPORAL_TLS: 'true', TEMPORAL_GRPC_META_X_TENANT: 'data' });
    expect(cfg.temporal.tls).toEqual(expect.objectContaining({}));
    expect(cfg.temporal.metadata).toEqual({ 'x-tenant': 'data' });
  });

  it('a missing certificate file is an error naming it', () => {
    expect(() => loadConfig({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/nonexistent/ca.pem' })).toThrow(/cannot load the Temporal connection settings.*\/nonexistent\/ca\.pem/);
  });
});
