import { S3Client } from '@aws-sdk/client-s3';
import { S3Config } from '../../src/config';
import { createS3Client } from '../../src/storage/client';

/**
 * Answers a command in the server's place when it returns a promise (a failure to inject, or a
 * changed response); undefined lets the command through.
 */
export type Fault = (cmd: unknown, send: (cmd: unknown) => Promise<unknown>) => Promise<unknown> | undefined;

/** A client of the real server (SDK only, no direct path) whose commands go through `fault()` first. */
export function faultyS3(cfg: S3Config, fault: () => Fault | undefined): S3Client {
  const s3 = createS3Client(cfg);
  const send = s3.send.bind(s3) as (cmd: unknown) => Promise<unknown>;
  (s3 as unknown as { send: (cmd: unknown) => Promise<unknown> }).send = (cmd) => fault()?.(cmd, send) ?? send(cmd);
  return s3;
}

/** An S3 error as the SDK raises it. */
export function s3Error(name: string, message: string, status: number): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}
