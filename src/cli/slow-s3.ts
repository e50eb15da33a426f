import { onSlowS3Request, S3_IDLE_TIMEOUT_MS, S3_MAX_ATTEMPTS, SLOW_MS } from '../storage/slow-requests';

/**
 * Says, once per command, that S3 has not answered a request for SLOW_MS: an endpoint that
 * accepts connections and never answers would keep `cat` or `snapshots` silent for minutes (each
 * try waits up to 2 minutes, 4 tries). Not for `worker`, which logs to its own output and waits
 * on busy stores by design.
 */
export function sayWhenS3IsSlow(command: string, err: NodeJS.WritableStream = process.stderr): void {
  if (command === 'worker') return;
  const stop = onSlowS3Request((r) => {
    stop();
    err.write(`partflow: S3 at ${r.endpoint} has not answered ${r.what} for ${SLOW_MS / 1000} s; still waiting `
      + `(up to ${S3_IDLE_TIMEOUT_MS / 60_000} min a try, ${S3_MAX_ATTEMPTS} tries). If it should answer at once, check that AWS_ENDPOINT_URL_S3 is the S3 API's address; Ctrl-C stops\n`);
  });
}
