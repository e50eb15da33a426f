import os from 'node:os';

/**
 * This worker's identity, as Temporal records it on each activity attempt (the SDK's own default,
 * set explicitly so that the two cannot drift). Failures that only this machine causes (S3
 * refusing its credentials, S3 out of its reach) carry it: with many workers on one task queue,
 * the failure then says which one to fix.
 */
export function workerIdentity(): string {
  return `${process.pid}@${os.hostname()}`;
}
