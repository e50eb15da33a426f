import { S3Client } from '@aws-sdk/client-s3';
import { conditionalWrites } from '../../src/storage/conditional';
import { ConditionalConflictError } from '../../src/storage/conflicts';
import { MultipartWriter } from '../../src/storage/multipart';
import { isTransient, PreconditionFailedError, putIfAbsent, putIfUnchanged } from '../../src/storage/objects';

// Only a 412 says a create-only write found the object there: a 409 is a conflict to retry
// (AWS's ConditionalRequestConflict) or the store's own refusal, said with its code.
function s3Error(status: number, code: string, message: string): Error {
  return Object.assign(new Error(message), { name: code, $metadata: { httpStatusCode: status } });
}

/** A client whose every `send` of the named commands fails with `err`; others succeed. */
function failing(err: Error, commands: string[]): { s3: S3Client; sent: string[] } {
  const sent: string[] = [];
  const s3 = {
    send: async (c: object) => {
      const name = c.constructor.name;
      sent.push(name);
      if (commands.includes(name)) throw err;
      return { UploadId: 'u1', ETag: '"e"' };
    },
  } as unknown as S3Client;
  return { s3, sent };
}

const conflict = () => s3Error(409, 'ConditionalRequestConflict', 'A conflicting conditional operation is currently in progress against this resource. Please try again.');
const refused = () => s3Error(409, 'ExistingObjectIsDirectory', 'Existing Object is a directory.');

beforeEach(() => { process.env.PARTFLOW_CONDITIONAL_WRITES = 'on'; });
afterEach(() => { delete process.env.PARTFLOW_CONDITIONAL_WRITES; });

describe('create-only writes and a 409', () => {
  it('putIfAbsent: ConditionalRequestConflict is transient and says so, naming the object', async () => {
    const { s3 } = failing(conflict(), ['PutObjectCommand']);
    const err = await putIfAbsent(s3, 'b', 'ds/_manifests/p.json', '{}').catch((e: Error) => e);
    expect(err).toBeInstanceOf(ConditionalConflictError);
    expect(err).not.toBeInstanceOf(PreconditionFailedError);
    expect(isTransient(err)).toBe(true);
    expect((err as Error).message).toBe('create-only PUT s3://b/ds/_manifests/p.json: another conditional write to this object was under way (S3 409 ConditionalRequestConflict: A conflicting conditional operation is currently in progress against this resource. Please try again.); transient, retried');
  });

  it('putIfAbsent: any other 409 is an error with S3\'s code and words, not "exists"', async () => {
    const { s3 } = failing(refused(), ['PutObjectCommand']);
    const err = await putIfAbsent(s3, 'b', 'ds/p.json', '{}').catch((e: Error) => e);
    expect(err).not.toBeInstanceOf(PreconditionFailedError);
    expect((err as Error).name).toBe('ExistingObjectIsDirectory');
    expect((err as Error).message).toBe('create-only PUT s3://b/ds/p.json: S3 refused the write (409 ExistingObjectIsDirectory: Existing Object is a directory.), which does not mean that the object exists');
  });

  it('putIfAbsent: a 412 is "already exists"', async () => {
    const { s3 } = failing(s3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold'), ['PutObjectCommand']);
    await expect(putIfAbsent(s3, 'b', 'ds/p.json', '{}')).rejects.toBeInstanceOf(PreconditionFailedError);
  });

  it('putIfUnchanged: a 409 is not "changed since it was read"', async () => {
    const { s3 } = failing(conflict(), ['PutObjectCommand']);
    await expect(putIfUnchanged(s3, 'b', 'c.json', '{}', 'application/json', '"e1"')).rejects.toBeInstanceOf(ConditionalConflictError);
  });

  it.each([['ConditionalRequestConflict', conflict], ['ExistingObjectIsDirectory', refused]])('a multipart upload completed with a 409 %s is not "exists", and is kept for the next attempt', async (code, make) => {
    const { s3, sent } = failing(make(), ['CompleteMultipartUploadCommand']);
    const w = new MultipartWriter(s3, 'b', 'ds/copy/p.avro', { partSize: 5 * 1024 * 1024 });
    await w.write(Buffer.alloc(5 * 1024 * 1024));
    const err = await w.complete().catch((e: Error) => e);
    expect(err).not.toBeInstanceOf(PreconditionFailedError);
    expect((err as Error).name).toBe(code);
    expect((err as Error).message).toContain('CompleteMultipartUpload of s3://b/ds/copy/p.avro: ');
    expect(sent).not.toContain('AbortMultipartUploadCommand');
  });

  it('the probe takes only a 412 for support; a 409 fails it, named, and the next write probes again', async () => {
    delete process.env.PARTFLOW_CONDITIONAL_WRITES;
    let puts = 0;
    const s3 = { send: async (c: object) => {
      if (c.constructor.name === 'PutObjectCommand' && ++puts === 2) throw refused();
      return {};
    } } as unknown as S3Client;
    await expect(conditionalWrites(s3, 'probe-409', 'ds/')).rejects.toThrow(/^create-only PUT \(the conditional-write probe\) s3:\/\/probe-409\/ds\/_partflow\/probe\/.*409 ExistingObjectIsDirectory/);
    puts = 10;
    await expect(conditionalWrites(s3, 'probe-409', 'ds/')).resolves.toBe(false);
  });
});
