import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { ActivityDeps, nonRetryable, storageRefusal } from '../../activities/deps';
import { guarded, WORKER_S3_REFUSED } from '../../activities/refusal-guard';
import { loadConfig } from '../../src/config';
import { explainS3Failure, S3ConfigError, S3CredentialsError, S3EndpointError, S3RegionError, S3SetupError, S3UnreachableError } from '../../src/storage/failures';
import { WorkerS3RefusedError } from '../../src/worker/s3-probe';
import { RefusalWatch, refusalIn, refusesThisWorker, WorkerRefusal, WorkerS3StoppedError } from '../../src/worker/refusals';

const refused = (code = 'InvalidAccessKeyId') => new S3CredentialsError(code, `S3 at http://s3:1 refused the credentials of access key ID old-key (${code}: no such key; credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from the environment): check them`, 'GetObject s3://b/k', 403, undefined);

describe('refusals that stop a worker', () => {
  it('are refused credentials (not AccessDenied), a wrong region, an endpoint that is no S3 API; not an unreachable store', () => {
    expect(refusesThisWorker(refused())).toBe(true);
    expect(refusesThisWorker(refused('ExpiredToken'))).toBe(true);
    expect(refusesThisWorker(refused('AccessDenied'))).toBe(false);
    expect(refusesThisWorker(new S3RegionError('AuthorizationHeaderMalformed', 'wrong region', undefined, 'eu-west-1', false, undefined))).toBe(true);
    // On AWS a region is a bucket's: other buckets may be in the worker's.
    expect(refusesThisWorker(new S3RegionError('PermanentRedirect', 'wrong region', undefined, 'eu-west-1', true, undefined))).toBe(false);
    expect(refusesThisWorker(new S3EndpointError('not S3', undefined, undefined))).toBe(true);
    expect(refusesThisWorker(new S3UnreachableError('ECONNREFUSED', 'cannot reach', undefined, undefined))).toBe(false);
  });

  it('are no credentials found, not a credentials source that did not answer (container or instance metadata timing out)', async () => {
    const cfg = loadConfig({ PARTFLOW_S3_CREDENTIALS: 'chain', AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: 'http://s3:1' }).s3;
    const provider = (message: string) => Object.assign(new Error(message), { name: 'CredentialsProviderError' });
    const none = await explainS3Failure(provider('Could not load credentials from any providers'), { cfg });
    expect(none).toBeInstanceOf(S3CredentialsError);
    expect(refusesThisWorker(none)).toBe(true);
    for (const message of ['connect ETIMEDOUT 169.254.170.2:80', 'TimeoutError: Connection timed out after 1000 ms', 'socket hang up']) {
      const down = await explainS3Failure(provider(message), { cfg, what: 'GetObject s3://b/k' });
      expect(down).toBeInstanceOf(S3UnreachableError);
      expect(down!.message).toBe(`GetObject s3://b/k: could not get S3 credentials for http://s3:1 from the AWS SDK's credential chain: its source did not answer (${message}); this may pass, and is retried`);
      expect(refusesThisWorker(down)).toBe(false);
    }
  });

  it('are found inside the failures activities wrap them in', () => {
    const err = refused();
    expect(refusalIn(storageRefusal(err, 'planning s3://b/src/', 'http://s3:1'))).toBe(err);
    expect(refusalIn(new Error('x', { cause: new Error('y', { cause: err }) }))).toBe(err);
    expect(refusalIn(new Error('x'))).toBeUndefined();
  });
});

describe("the refusals a library user meets are partflow's exports", () => {
  it('so that instanceof works on what createWorker rejects with and refusals.onRefused passes', () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const api = require('../../src') as Record<string, unknown>;
    expect(api.WorkerS3RefusedError).toBe(WorkerS3RefusedError);
    expect(api.WorkerS3StoppedError).toBe(WorkerS3StoppedError);
    const classes = { S3SetupError, S3CredentialsError, S3RegionError, S3EndpointError, S3UnreachableError, S3ConfigError };
    for (const [name, cls] of Object.entries(classes)) expect([name, api[name]]).toEqual([name, cls]);
    expect(new WorkerS3RefusedError(refused()).cause).toBeInstanceOf(api.S3SetupError as typeof S3SetupError);
  });
});

describe('RefusalWatch', () => {
  it('stops the worker only when the start-time check is refused too, once, sharing one check among refusals that come together', async () => {
    let answer: WorkerRefusal | undefined;
    let checks = 0;
    const watch = new RefusalWatch({ recheck: async () => { checks++; await new Promise((r) => setTimeout(r, 10)); return answer; } });
    const seen: WorkerRefusal[] = [];
    watch.onRefused((e) => seen.push(e));

    // One odd object's SignatureDoesNotMatch: the check passes, the worker goes on.
    expect(await watch.check(refused('SignatureDoesNotMatch'))).toBeUndefined();
    expect(checks).toBe(1);
    // Not a refusal: no check at all.
    expect(await watch.check(new Error('corrupt input'))).toBeUndefined();
    expect(checks).toBe(1);

    answer = refused();
    const all = await Promise.all([watch.check(refused()), watch.check(refused()), watch.check(refused())]);
    expect(checks).toBe(2);
    expect(all).toEqual([answer, answer, answer]);
    expect(seen).toEqual([answer]);
    expect(watch.refused).toBe(answer);
    // Stopping: later refusals need no check; other failures are not the refusal's.
    expect(await watch.check(refused())).toBe(answer);
    expect(await watch.check(new Error('corrupt input'))).toBeUndefined();
    expect(checks).toBe(2);
    const late: WorkerRefusal[] = [];
    watch.onRefused((e) => late.push(e));
    expect(late).toEqual([answer]);
  });

  it('a listener that throws neither replaces the refusal nor keeps the others from hearing it', async () => {
    const answer = refused();
    const watch = new RefusalWatch({ recheck: async () => answer });
    const heard: string[] = [];
    watch.onRefused(() => { throw new Error('a caller\'s bug'); });
    watch.onRefused(() => heard.push('stop the worker'));
    expect(await watch.check(refused())).toBe(answer);
    expect(heard).toEqual(['stop the worker']);
    watch.onRefused(() => { throw new Error('late'); });
  });

  it('a check that fails otherwise (S3 out of reach) does not stop the worker', async () => {
    const watch = new RefusalWatch({ recheck: async () => { throw new Error('ECONNREFUSED'); } });
    expect(await watch.check(refused())).toBeUndefined();
    expect(watch.refused).toBeUndefined();
  });

  it('says what to fix, with the refusal and the task queue', () => {
    expect(new WorkerS3StoppedError(refused(), 'q1').message).toBe(`S3 refuses this running worker: GetObject s3://b/k: ${refused().reason}. This worker stops taking partitions from task queue q1; fix its credentials and start it again`);
    expect(new WorkerS3StoppedError(new S3EndpointError('no S3', undefined, undefined), 'q1').message).toMatch(/fix its endpoint \(AWS_ENDPOINT_URL_S3\) and start it again$/);
  });
});

describe('an activity on a worker that S3 refuses', () => {
  const env = () => new MockActivityEnvironment({ taskQueue: 'q1', attempt: 2 }, { logger: new DefaultLogger('ERROR') });
  const deps = (answer: WorkerRefusal | undefined) => ({ refusals: new RefusalWatch({ recheck: async () => answer }) }) as unknown as ActivityDeps;

  it('fails retryably when the worker stops for it, so that planning is retried on another worker', async () => {
    const err = refused();
    const planning = guarded(deps(err), async () => { throw storageRefusal(err, 'planning s3://b/src/', 'http://s3:1'); });
    const f = await env().run(planning).then(() => undefined, (e: unknown) => e) as ApplicationFailure;
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect(f.type).toBe(WORKER_S3_REFUSED);
    expect(f.nonRetryable).toBe(false);
    expect(f.message).toMatch(/^planning s3:\/\/b\/src\/: GetObject s3:\/\/b\/k: S3 at http:\/\/s3:1 refused the credentials of access key ID old-key .*\(on worker \d+@.*\); this worker stops taking partitions from task queue q1 for it, so the attempt is retried on another worker$/);
    expect(f.cause).toBe(err);
  });

  it('keeps its failure when the check passes (the refusal was about the request), and any failure that is no refusal', async () => {
    const err = refused('SignatureDoesNotMatch');
    const planning = guarded(deps(undefined), async () => { throw storageRefusal(err, 'planning s3://b/src/', 'http://s3:1'); });
    const f = await env().run(planning).then(() => undefined, (e: unknown) => e) as ApplicationFailure;
    expect(f.type).toBe('AccessDenied');
    expect(f.nonRetryable).toBe(true);
    const other = nonRetryable('CorruptInput', 'bad bytes');
    await expect(env().run(guarded(deps(refused()), async () => { throw other; }))).rejects.toBe(other);
  });
});
