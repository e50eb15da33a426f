import { DEFAULTS, loadConfig } from '../../src/config';
import { describeConnection } from '../../src/temporal/connection';

describe('loadConfig: S3 credentials', () => {
  it('with nothing set, points at the embedded stack with its keys', () => {
    expect(loadConfig({}).s3).toEqual({
      endpoint: DEFAULTS.s3Endpoint, region: DEFAULTS.s3Region, accessKeyId: DEFAULTS.accessKeyId, secretAccessKey: DEFAULTS.secretAccessKey, forcePathStyle: true,
    });
  });

  it('static keys from the environment win', () => {
    expect(loadConfig({ AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_PROFILE: 'p' }).s3).toMatchObject({ accessKeyId: 'k', secretAccessKey: 's', endpoint: DEFAULTS.s3Endpoint });
  });

  it.each([
    ['AWS_PROFILE', 'prod'], ['AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', '/v2/credentials/x'], ['AWS_CONTAINER_CREDENTIALS_FULL_URI', 'http://169.254.170.23/v1/credentials'],
    ['AWS_WEB_IDENTITY_TOKEN_FILE', '/var/run/secrets/token'], ['PARTFLOW_S3_CREDENTIALS', 'chain'],
  ])('%s leaves credentials, region and endpoint (AWS itself) to the SDK', (k, v) => {
    const s3 = loadConfig({ [k]: v }).s3;
    expect(s3.accessKeyId).toBeUndefined();
    expect(s3.secretAccessKey).toBeUndefined();
    expect(s3.endpoint).toBeUndefined();
    expect(s3.region).toBeUndefined();
  });

  it('keeps an explicit endpoint and region with the chain', () => {
    expect(loadConfig({ AWS_PROFILE: 'minio', AWS_ENDPOINT_URL_S3: 'http://minio:9000', AWS_REGION: 'eu-west-1' }).s3)
      .toEqual({ endpoint: 'http://minio:9000', region: 'eu-west-1', profile: 'minio', forcePathStyle: true });
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
