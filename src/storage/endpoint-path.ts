/**
 * An endpoint with a path (http://host:9000/mybucket, often a bucket pasted into it) sends every
 * request to <path>/<bucket>/<key>: a server that serves S3 at its root takes the path's first
 * segment for the bucket, and then says a bucket is missing or invalid, or finds no objects. Some
 * servers do serve S3 under a path (behind a proxy), so this is a note beside such errors, not a
 * refusal. '' for an endpoint without a path, or none.
 */
export function endpointPathNote(endpoint: string | undefined): string {
  if (!endpoint) return '';
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return '';
  }
  const path = url.pathname.replace(/\/+$/, '');
  if (!path) return '';
  const first = decodeURIComponent(path.split('/')[1] ?? '');
  return `. The endpoint ${endpoint} has a path (${path}): every request goes to ${url.origin}${path}/<bucket>/<key>, `
    + `so a server that serves S3 at its root takes "${first}" for the bucket; unless this one serves S3 under ${path}, `
    + `set AWS_ENDPOINT_URL_S3 to ${url.origin} and name the bucket in the s3:// URL (or PARTFLOW_BUCKET)`;
}
