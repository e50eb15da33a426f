/**
 * Answers that say the request went to the wrong place rather than that it failed: a region
 * other than the bucket's or the server's, or an endpoint that answers HTTP but is not an S3 API
 * (MinIO's console port, a web server, plain HTTP where https:// was set). No retry changes
 * them, and S3's own words ("the region is wrong", "UnknownError", an XML parser's complaint
 * about an HTML page) name neither the endpoint nor the setting. These functions only read an
 * error, from the SDK or the direct path (direct.ts); failures.ts words the error to report.
 */

/** S3 error codes about the region a request was signed for or sent to. */
const REGION_CODES: ReadonlySet<string> = new Set([
  'AuthorizationHeaderMalformed', 'PermanentRedirect', 'IllegalLocationConstraint', 'InvalidRegion', 'AuthorizationQueryParametersError',
]);

interface Answered {
  name?: string;
  message?: string;
  code?: string;
  Region?: string;
  Endpoint?: string;
  $metadata?: { httpStatusCode?: number };
  /** The SDK's: the raw response (hidden field). */
  $response?: { statusCode?: number; headers?: Record<string, string | undefined> };
  /** The SDK's, on a body it could not parse. */
  $responseBodyText?: string;
  /** The direct path's (direct.ts): S3's words, "Code: Message", and what the server answered. */
  said?: string;
  answer?: { hasCode: boolean; body?: string; headers: Record<string, string | undefined> };
}

function header(e: Answered, name: string): string | undefined {
  if (e.answer) return e.answer.headers[name];
  const headers = e.$response?.headers ?? {};
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key ? headers[key] : undefined;
}

function statusOf(e: Answered): number | undefined {
  return e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
}

/** The region is wrong: `expected` is the one the server names, when it does. */
export interface RegionMismatch {
  code: string;
  expected?: string;
  /** S3's words, "Code: Message", or the bare status of a HEAD. */
  said: string;
}

export function regionMismatch(err: unknown): RegionMismatch | undefined {
  const e = (err ?? {}) as Answered;
  const name = e.name ?? '';
  const status = statusOf(e);
  const bucketRegion = header(e, 'x-amz-bucket-region');
  const known = REGION_CODES.has(name) && (name !== 'AuthorizationHeaderMalformed' || /region/i.test(e.message ?? '') || e.Region !== undefined);
  // AWS answers a bucket in another region with a 301 (a HEAD's has no body, only x-amz-bucket-region).
  // A web server's redirect (to https://, say) is no S3 answer at all: notS3Answer says that.
  const moved = status === 301 && (bucketRegion !== undefined || name === 'PermanentRedirect');
  if (!known && !moved) return undefined;
  const expected = e.Region ?? bucketRegion
    ?? /expecting '([a-z0-9-]+)'/.exec(e.message ?? '')?.[1]
    ?? /\bs3[.-]([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com/.exec(e.Endpoint ?? '')?.[1];
  // The direct path's errors keep S3's words apart ("Code: Message"); a HEAD's have only a status.
  const bare = /^Http\d+$/.test(name) || SDK_UNCODED.test(name);
  const said = bare ? `HTTP ${status}` : e.said ?? (e.message === 'UnknownError' ? name : `${name}: ${e.message}`);
  return { code: REGION_CODES.has(name) ? name : 'PermanentRedirect', ...(expected ? { expected } : {}), said };
}

const TLS_MISMATCH = /wrong version number|ssl3_get_record|packet length too long|unknown protocol|WRONG_VERSION_NUMBER/i;

/** An https:// request answered in plain HTTP (or some other protocol): the TLS handshake cannot succeed. */
export function tlsMismatch(err: unknown): boolean {
  const e = (err ?? {}) as { code?: string; message?: string };
  return e.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || ((e.code === 'EPROTO' || e.code === undefined) && TLS_MISMATCH.test(e.message ?? ''));
}

/** The names the SDK gives an error whose body held no S3 <Code> (see @smithy's throwDefaultError). */
const SDK_UNCODED = /^(|UnknownError|Unknown|NotFound|\d{3})$/;

/** Node's HTTP parser failed on the answer (HPE_*): the port speaks something else (HTTP/2, gRPC, a database). */
export function httpParseError(err: unknown): boolean {
  const e = (err ?? {}) as { code?: string; message?: string };
  // The SDK may wrap it ("AWS SDK error wrapper for Error: Parse Error: …"), keeping only the text.
  return (typeof e.code === 'string' && e.code.startsWith('HPE_')) || /(^|: )Parse Error: /.test(e.message ?? '');
}

function squeeze(text: string, max = 120): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/** "a text/html body", or "a body" with no content type. */
export function contentTypeInWords(contentType: string | undefined): string {
  return contentType ? `a ${contentType.split(';')[0].trim()} body` : 'a body';
}

/** "an HTML page (\"Welcome to nginx!\")", "an empty body", "a text/plain body (\"…\")": a body, in words. */
function bodyInWords(contentType: string | undefined, body: string | undefined): string {
  const text = (body ?? '').trim();
  if (!text) return 'an empty body';
  if (/html/i.test(contentType ?? '') || /^<!doctype html|^<html/i.test(text)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1];
    return `an HTML page${title?.trim() ? ` ("${squeeze(title, 80)}")` : ''}`;
  }
  return `${contentTypeInWords(contentType)} ("${squeeze(text, 80)}")`;
}

/**
 * What a server that is not an S3 API answered, in words ("HTTP 404 with an empty body"), or
 * undefined for an S3 API's answer. `head`: the request was a HEAD, whose answers have no body:
 * a bare 404 there is S3's "not found", and nothing can be told from a bare status.
 */
export function notS3Answer(err: unknown, head: boolean): string | undefined {
  const e = (err ?? {}) as Answered;
  if (tlsMismatch(err)) return `plain HTTP (or another protocol) to a TLS connection (${squeeze(e.message ?? '', 160)})`;
  if (httpParseError(err)) return `with no HTTP/1.1 at all (${squeeze((e.message ?? '').replace(/^AWS SDK error wrapper for (Error: )?/, ''), 160)}): a gRPC or other non-HTTP port, such as a Temporal server's`;
  const status = statusOf(e);
  if (/S3 API Requests must be made to API port/i.test(e.message ?? '')) {
    return `"${squeeze(e.said ?? `${e.name}: ${e.message}`)}" (HTTP ${status}): that is MinIO's console port, not its S3 API port`;
  }
  if (head || status === undefined) {
    // A body the SDK could not parse comes with the raw response, whatever the status.
    if (head || e.$responseBodyText === undefined) return undefined;
  }
  // A load balancer's or proxy's 5xx page is transient, and throttling is S3's own: both are left
  // alone. A 412 or 304 answers a conditional request, body or not: the condition decided it.
  if (status !== undefined && (status >= 500 || status === 429 || status === 408 || status === 412 || status === 304)) return undefined;
  const contentType = header(e, 'content-type');
  if (e.$responseBodyText !== undefined && /Deserialization error|parse error|Expected closing tag|Unexpected close tag|not expected|Invalid character/i.test(e.message ?? '')) {
    return `HTTP ${status} with ${bodyInWords(contentType, e.$responseBodyText)}`;
  }
  if (status === undefined || status < 300) return undefined;
  // No S3 error code: the direct path knows it found no <Code>. The SDK names an error by its
  // <Code>, or else by a 404's "NotFound", the bare status or "UnknownError"; its message is
  // "UnknownError" for a <Code> with no <Message> too (Ceph RGW's NoSuchKey), so the name decides.
  const noCode = e.answer ? !e.answer.hasCode : SDK_UNCODED.test(e.name ?? '') && (e.message === 'UnknownError' || e.message === undefined);
  if (!noCode) return undefined;
  const location = header(e, 'location');
  if (status < 400 && location) return `HTTP ${status}, a redirect to ${location}`;
  if (e.answer) return `HTTP ${status} with ${bodyInWords(contentType, e.answer.body)}`;
  // The SDK keeps no body it could parse: its content type and parsed fields say what it was.
  if (/html/i.test(contentType ?? '')) return `HTTP ${status} with an HTML page`;
  const parsed = Object.keys(e).some((k) => !k.startsWith('$') && !['name', 'message', 'stack'].includes(k));
  return `HTTP ${status} with ${parsed ? 'a body that is not an S3 error' : 'no S3 error in its body'}${contentType ? ` (${contentType.split(';')[0]})` : ''}`;
}
