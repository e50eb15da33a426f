import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { ConfigError } from '../config/errors';
import { logger } from '../log';
import { conflictOf } from './conflicts';

/**
 * Whether a bucket's store honours create-only writes (`If-None-Match: *`). partflow's commit
 * point relies on them; without them it falls back to check-then-write, which is still safe
 * because every output key only ever receives the same bytes (outputs are deterministic), and
 * a manifest raced over is replaced by an equivalent one.
 */
const support = new Map<string, Promise<boolean>>();

/**
 * PARTFLOW_CONDITIONAL_WRITES: "auto" (probe each bucket once, the default), "on" (trust the
 * store), or "off" (always check-then-write, e.g. for a store that claims support but is buggy).
 */
export function conditionalWritesSetting(env: NodeJS.ProcessEnv = process.env): boolean | undefined {
  const v = (env.PARTFLOW_CONDITIONAL_WRITES ?? 'auto').toLowerCase();
  if (v === 'on') return true;
  if (v === 'off') return false;
  if (v !== 'auto') throw new ConfigError(`PARTFLOW_CONDITIONAL_WRITES must be auto, on or off, got ${JSON.stringify(env.PARTFLOW_CONDITIONAL_WRITES)}`);
  return undefined;
}

/**
 * Where a probe for a write to `key` goes: the key's directory, stepped out of partflow's own
 * `_…` subdirectories (`_manifests/`, `_rejects/`, `_plans/`, `_runs/<id>/`), whose every object
 * readers parse. Credentials scoped to the target prefix can write there; the bucket root they
 * may not.
 */
export function probePrefixFor(key: string): string {
  const dirs = key.split('/').slice(0, -1);
  for (let i = Math.max(0, dirs.length - 2); i < dirs.length; i++) {
    if (dirs[i].startsWith('_')) return dirs.slice(0, i).map((d) => `${d}/`).join('');
  }
  return dirs.map((d) => `${d}/`).join('');
}

/** The key a probe under `prefix` writes (and deletes). */
function probeKey(prefix: string): string {
  const p = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  return `${p}_partflow/probe/${randomUUID()}`;
}

/**
 * Whether to send `If-None-Match: *` to this bucket. In auto mode the first call per bucket
 * probes with an object under `prefix`, which must be a prefix the credentials may write to.
 */
export function conditionalWrites(s3: S3Client, bucket: string, prefix = ''): Promise<boolean> {
  const forced = conditionalWritesSetting();
  if (forced !== undefined) return Promise.resolve(forced);
  let p = support.get(bucket);
  if (!p) {
    p = probe(s3, bucket, probeKey(prefix)).catch((err) => {
      support.delete(bucket);
      throw err;
    });
    support.set(bucket, p);
  }
  return p;
}

async function probe(s3: S3Client, bucket: string, Key: string): Promise<boolean> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'probe', IfNoneMatch: '*' })).catch((err) => {
    throw conflictOf(err, bucket, Key, 'create-only PUT (the conditional-write probe)') ?? err;
  });
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'probe again', IfNoneMatch: '*' }));
    logger().warn({ bucket }, 'this S3 store ignores If-None-Match (create-only writes); partflow falls back to check-then-write, which is safe only because outputs are deterministic. Use a store with conditional writes for concurrent workers.');
    return false;
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    // Only a 412 says the store refused to replace the object: a 409 is a conflict or a refusal (conflicts.ts), thrown, so the next write probes again.
    if (status === 412 || (err as Error)?.name === 'PreconditionFailed') return true;
    throw conflictOf(err, bucket, Key, 'create-only PUT (the conditional-write probe)') ?? err;
  } finally {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key })).catch(() => undefined);
  }
}
