import { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { ContainerReader } from '../avro/container-reader';
import { offsetsProblem } from '../manifest/offsets';
import { PartitionManifest } from '../manifest/partition';
import { getJson, getObjectStream, listObjects, ObjectNotFoundError } from '../storage/objects';
import { formatS3Url, parseS3Url } from '../storage/s3url';
import { progressBar } from './progress';
import { partitionFileOf } from '../pipeline/layout';

export interface ObjectCheck {
  url: string;
  records: number;
  sha256: string;
  bytes: number;
}

/** Decodes every record of an object (so every block, CRC and sync marker is checked) and hashes it. */
export async function checkObject(s3: S3Client, url: string): Promise<ObjectCheck> {
  const loc = parseS3Url(url);
  const body = await getObjectStream(s3, loc.bucket, loc.key);
  const hash = createHash('sha256');
  let bytes = 0;
  body.on('data', (c: Buffer) => {
    hash.update(c);
    bytes += c.length;
  });
  const reader = await ContainerReader.open(body, { name: url });
  let records = 0;
  for await (const _ of reader.records()) records++;
  return { url, records, sha256: hash.digest('hex'), bytes };
}

export interface VerifyReport {
  checked: number;
  problems: string[];
  /** For directories: how many objects were listed under them, manifests or not. */
  listed?: number;
}

/** Checks one partition manifest against the objects it names. */
export async function verifyManifest(s3: S3Client, manifestUrl: string): Promise<string[]> {
  const loc = parseS3Url(manifestUrl);
  const m = await getJson<PartitionManifest>(s3, loc.bucket, loc.key);
  const where = `${m.stage} ${m.partition} (${manifestUrl})`;
  const problems: string[] = [];
  const c = m.counts;
  if (c.in !== c.out + c.rejected + c.dropped) problems.push(`${where}: counts do not add up: in ${c.in} != out ${c.out} + rejected ${c.rejected} + dropped ${c.dropped}`);
  // Kafka: every offset of the range is a record or a counted non-record (older manifests have no count).
  const offsets = offsetsProblem(m);
  if (offsets) problems.push(`${where}: ${offsets}`);
  const check = async (kind: string, want: { url: string; records: number; sha256: string; bytes: number }) => {
    try {
      const got = await checkObject(s3, want.url);
      if (got.records !== want.records) problems.push(`${where}: ${kind} ${want.url} has ${got.records} records, manifest says ${want.records}`);
      if (got.sha256 !== want.sha256) problems.push(`${where}: ${kind} ${want.url} sha256 ${got.sha256} != manifest ${want.sha256}`);
      if (got.bytes !== want.bytes) problems.push(`${where}: ${kind} ${want.url} is ${got.bytes} bytes, manifest says ${want.bytes}`);
    } catch (err) {
      problems.push(`${where}: ${kind}: ${err instanceof ObjectNotFoundError ? `${want.url} is missing` : (err as Error).message}`);
    }
  };
  await check('output', m.output);
  if (m.output.records !== c.out) problems.push(`${where}: output holds ${m.output.records} records but counts say out ${c.out}`);
  if (m.rejects) {
    await check('rejects', m.rejects);
    if (m.rejects.records !== c.rejected) problems.push(`${where}: rejects hold ${m.rejects.records} records but counts say rejected ${c.rejected}`);
  } else if (c.rejected > 0) problems.push(`${where}: ${c.rejected} rejected records but no rejects object`);
  return problems;
}

/** Verifies every partition manifest under the given stage output directories. */
export async function verifyStageDirs(s3: S3Client, dirs: string[]): Promise<VerifyReport> {
  const { manifests, listed } = await manifestsUnder(s3, dirs);
  return { ...(await verifyManifests(s3, manifests)), listed };
}

/** What verify looks for under a prefix, for the message that it found none. */
export const MANIFESTS_LOOKED_FOR = 'partition manifests: <partition>/<version>.json beside an ingest stage\'s outputs, or _manifests/*.json of partflow import';

async function manifestsUnder(s3: S3Client, dirs: string[]): Promise<{ manifests: string[]; listed: number }> {
  const manifests: string[] = [];
  let listed = 0;
  for (const d of dirs) {
    const loc = parseS3Url(d.endsWith('/') ? d : d + '/');
    // An ingest stage keeps <partition>/<version>.json beside each output; `partflow import` keeps _manifests/.
    for (const o of await listObjects(s3, loc.bucket, loc.key)) {
      listed++;
      const rel = o.key.slice(loc.key.length);
      if (/^_manifests\/[^/]+\.json$/.test(rel) || partitionFileOf(rel)?.kind === 'manifest') manifests.push(formatS3Url({ bucket: loc.bucket, key: o.key }));
    }
  }
  return { manifests, listed };
}

/** Verifies the given partition manifests (s3:// URLs): for a run, those its run manifest lists. */
export async function verifyManifests(s3: S3Client, manifests: string[]): Promise<VerifyReport> {
  const bar = progressBar('verify', manifests.length, 'partitions');
  const problems: string[] = [];
  let n = 0;
  try {
    for (const m of manifests) {
      problems.push(...(await verifyManifest(s3, m)));
      bar.update(++n);
    }
  } finally {
    bar.stop();
  }
  return { checked: manifests.length, problems };
}

/** Verifies one object: decodes it, and if a partition manifest stands beside it, checks it too. */
export async function verifyObject(s3: S3Client, url: string): Promise<VerifyReport> {
  const m = /^(.*)\/(part-\d{5,})\.avro$/.exec(url);
  const v = partitionFileOf(url);
  if (m || v?.kind === 'output') {
    const manifestUrl = m ? `${m[1]}/_manifests/${m[2]}.json` : `${v!.stem}.json`;
    try {
      return { checked: 1, problems: await verifyManifest(s3, manifestUrl) };
    } catch (err) {
      if (!(err instanceof ObjectNotFoundError)) throw err;
    }
  }
  await checkObject(s3, url);
  return { checked: 1, problems: [] };
}
