import http from 'node:http';
import net, { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../../src/config';
import { describeEndpoint, directOf, s3Client } from '../../src/storage/client';
import { xmlText } from '../../src/storage/direct';
import { explainS3Failure, S3EndpointError, S3RegionError } from '../../src/storage/failures';
import { probeS3, WorkerS3RefusedError } from '../../src/worker/s3-probe';
import { getObjectBuffer, headObject, isNotFound, isTransient, listFirstPage, ObjectNotFoundError, PreconditionFailedError, putIfAbsent, putObject } from '../../src/storage/objects';

// Local HTTP servers that answer as a wrongly set S3 endpoint does (MinIO in another region, its
// console port, a web server, plain HTTP where https:// was set), through the real clients: the
// direct path (HEAD, GET, PUT without the SDK) and the SDK's (LIST).

interface Answer { status: number; headers?: Record<string, string>; body?: string }

const MINIO_REGION = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is malformed; the region is wrong; expecting &#39;eu-central-1&#39;.</Message><Region>eu-central-1</Region></Error>';
const XML = { 'content-type': 'application/xml' };

let server: http.Server;
let endpoint: string;
let answer: (req: http.IncomingMessage) => Answer;
let requests: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests.push(`${req.method} ${req.url}`);
      const a = answer(req);
      res.writeHead(a.status, a.headers ?? {});
      res.end(req.method === 'HEAD' ? undefined : a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const clients: S3Client[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
  requests = [];
});

let made = 0;
/** A client of its own (a new session token makes a new shared client): the direct path's, or the SDK's only. */
function client(direct: boolean, env: Record<string, string> = {}): S3Client {
  const cfg = loadConfig({
    AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: `t${++made}`, AWS_REGION: 'us-east-1', PARTFLOW_S3_DIRECT: direct ? '1' : '0', ...env,
  }).s3;
  const c = s3Client(cfg);
  clients.push(c);
  expect(directOf(c) !== undefined).toBe(direct);
  return c;
}

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: Error) => e);
const ep = () => endpoint.replace(/[.]/g, '\\.');

describe('a region the server does not take', () => {
  beforeEach(() => { answer = () => ({ status: 400, headers: XML, body: MINIO_REGION }); });

  it.each([
    ['HEAD (direct)', (s3: S3Client) => headObject(s3, 'bkt', 'a/x.avro'), 'GetObject s3://bkt/a/x.avro', true],
    ['GET (direct)', (s3: S3Client) => getObjectBuffer(s3, 'bkt', 'a/x.avro'), 'GetObject s3://bkt/a/x.avro', true],
    ['PUT (direct)', (s3: S3Client) => putObject(s3, 'bkt', 'a/x.avro', Buffer.from('x')), 'PutObject s3://bkt/a/x.avro', true],
    ['HEAD (SDK)', (s3: S3Client) => headObject(s3, 'bkt', 'a/x.avro'), 'GetObject s3://bkt/a/x.avro', false],
    ['LIST (SDK)', (s3: S3Client) => listFirstPage(s3, 'bkt', 'a/'), 'ListObjectsV2 s3://bkt/a/', false],
  ])('%s fails at once, naming endpoint, request, both regions and AWS_REGION', async (_, op, request, direct) => {
    const s3 = client(direct);
    const t0 = Date.now();
    const err = await failure(op(s3));
    expect(err).toBeInstanceOf(S3RegionError);
    expect(err!.message).toBe(`${request}: S3 at ${endpoint} refused the request for its region: it does not take the one partflow signs for, us-east-1 `
      + '(AuthorizationHeaderMalformed: The authorization header is malformed; the region is wrong; expecting \'eu-central-1\'.); it expects eu-central-1: set AWS_REGION to eu-central-1');
    expect((err as S3RegionError).expected).toBe('eu-central-1');
    // A server's own region (MinIO's): every bucket there wants it, so a worker with another stops.
    expect((err as S3RegionError).bucketsOwn).toBe(false);
    expect(isTransient(err)).toBe(false);
    // Not retried: one request (a HEAD's bare 400 asks a GET what it was).
    expect(requests.filter((r) => !r.startsWith('HEAD'))).toHaveLength(1);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it("AWS's 301 for a bucket in another region: the HEAD's x-amz-bucket-region says which", async () => {
    answer = () => ({
      status: 301, headers: { ...XML, 'x-amz-bucket-region': 'eu-west-1' },
      body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.</Message><Endpoint>bkt.s3.eu-west-1.amazonaws.com</Endpoint><Bucket>bkt</Bucket></Error>',
    });
    for (const direct of [true, false]) {
      const err = await failure(headObject(client(direct), 'bkt', 'a/x.avro'));
      expect(err).toBeInstanceOf(S3RegionError);
      expect(err!.message).toMatch(new RegExp(`^HeadObject s3://bkt/a/x\\.avro: S3 at ${ep()} refused the request for its region: the bucket is in another region than the one partflow signs for, us-east-1 \\(HTTP 301\\); it expects eu-west-1: set AWS_REGION to eu-west-1$`));
      const listed = await failure(listFirstPage(client(direct), 'bkt', 'a/'));
      expect(listed!.message).toMatch(/^ListObjectsV2 s3:\/\/bkt\/a\/: .*\(PermanentRedirect: The bucket you are attempting .*\); it expects eu-west-1: set AWS_REGION to eu-west-1$/);
      expect((listed as S3RegionError).bucketsOwn).toBe(true);
    }
    // The default bucket in another region says nothing of the buckets a worker's runs use: it starts.
    const cfg = loadConfig({ AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: `t${++made}`, AWS_REGION: 'us-east-1', PARTFLOW_BUCKET: 'bkt' });
    const c = s3Client(cfg.s3);
    clients.push(c);
    expect(await probeS3(c, cfg)).toMatchObject({ endpoint });
  });

  it('on AWS (no endpoint set) a region is a bucket\'s: no reason to stop a worker', async () => {
    const wrong = Object.assign(new Error('The authorization header is malformed; the region \'us-east-1\' is wrong; expecting \'eu-central-1\''), { name: 'AuthorizationHeaderMalformed', $metadata: { httpStatusCode: 400 } });
    const onAws = await explainS3Failure(wrong, { cfg: loadConfig({ AWS_REGION: 'us-east-1', PARTFLOW_S3_CREDENTIALS: 'chain' }).s3, endpoint: 'https://bkt.s3.amazonaws.com' });
    expect(onAws).toBeInstanceOf(S3RegionError);
    expect((onAws as S3RegionError).bucketsOwn).toBe(true);
    const awsEndpoint = await explainS3Failure(wrong, { cfg: loadConfig({ AWS_ENDPOINT_URL_S3: 'https://s3.eu-west-1.amazonaws.com', AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_REGION: 'us-east-1' }).s3 });
    expect((awsEndpoint as S3RegionError).bucketsOwn).toBe(true);
  });

  it('with the credential chain, the profile\'s region is named too', async () => {
    const s3 = client(false, { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', PARTFLOW_S3_CREDENTIALS: 'chain', AWS_PROFILE: 'nobody' });
    const err = await explainS3Failure(Object.assign(new Error('The authorization header is malformed; the region is wrong; expecting \'eu-central-1\'.'), { name: 'AuthorizationHeaderMalformed', $metadata: { httpStatusCode: 400 } }), { cfg: { ...loadConfig({ AWS_PROFILE: 'p', AWS_REGION: 'us-east-1' }).s3 } });
    expect(err!.message).toMatch(/set AWS_REGION \(or region in the profile's section of AWS_CONFIG_FILE\) to eu-central-1$/);
    s3.destroy();
  });
});

describe('an endpoint that answers HTTP but is not an S3 API', () => {
  const notS3 = (request: string, what: string) => new RegExp(`^${request.replace(/[./]/g, '\\$&')}: the S3 endpoint ${ep()} answered ${what}, which is not an S3 API answer: check AWS_ENDPOINT_URL_S3 \\(the S3 API's host and port, not a console's or a web page's; http:// or https:// as the server serves\\)$`);

  it("MinIO's console port", async () => {
    answer = () => ({ status: 400, headers: XML, body: '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidArgument</Code><Message>S3 API Requests must be made to API port.</Message><RequestId>0</RequestId></Error>' });
    const what = '"InvalidArgument: S3 API Requests must be made to API port\\." \\(HTTP 400\\): that is MinIO\'s console port, not its S3 API port';
    expect(await failure(listFirstPage(client(false), 'bkt', 'a/'))).toEqual(expect.objectContaining({ name: 'S3EndpointError', message: expect.stringMatching(notS3('ListObjectsV2 s3://bkt/a/', what)) }));
    expect((await failure(getObjectBuffer(client(true), 'bkt', 'a/x')))!.message).toMatch(notS3('GetObject s3://bkt/a/x', what));
    expect((await failure(headObject(client(true), 'bkt', 'a/x')))!.message).toMatch(notS3('GetObject s3://bkt/a/x', what));
  });

  it('a web server: an HTML page, for a LIST; a 404 page, for a GET or a PUT', async () => {
    answer = (req) => (req.method === 'GET' && req.url!.includes('list-type')
      ? { status: 200, headers: { 'content-type': 'text/html' }, body: '<!doctype html><html><head><title>Welcome to nginx!</title><link rel="x"></head><body>hi</body></html>' }
      : { status: 404, headers: { 'content-type': 'text/html' }, body: '<html><head><title>404 Not Found</title></head><body>nope</body></html>' });
    const t0 = Date.now();
    const listed = await failure(listFirstPage(client(false), 'bkt', 'a/'));
    expect(listed).toBeInstanceOf(S3EndpointError);
    expect(listed!.message).toMatch(notS3('ListObjectsV2 s3://bkt/a/', 'HTTP 200 with an HTML page \\("Welcome to nginx!"\\)'));
    expect(listed!.message).not.toMatch(/XML parse|Deserialization/);
    expect((await failure(getObjectBuffer(client(true), 'bkt', 'a/x')))!.message).toMatch(notS3('GetObject s3://bkt/a/x', 'HTTP 404 with an HTML page \\("404 Not Found"\\)'));
    expect((await failure(putObject(client(true), 'bkt', 'a/x', Buffer.from('x'))))!.message).toMatch(notS3('PutObject s3://bkt/a/x', 'HTTP 404 with an HTML page \\("404 Not Found"\\)'));
    expect((await failure(getObjectBuffer(client(false), 'bkt', 'a/x')))!.message).toMatch(notS3('GetObject s3://bkt/a/x', 'HTTP 404 with an HTML page'));
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('a web server that answers 200 with a well-formed page to anything (a single-page app): a LIST finds no listing in it, a worker will not start', async () => {
    answer = () => ({ status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<!doctype html><html><body>app</body></html>' });
    const listed = await failure(listFirstPage(client(false), 'bkt', 'a/'));
    expect(listed).toBeInstanceOf(S3EndpointError);
    expect(listed!.message).toMatch(notS3('ListObjectsV2 s3://bkt/a/', 'HTTP 200 with a text/html body and no listing in it'));
    const cfg = loadConfig({ AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: `t${++made}`, AWS_REGION: 'us-east-1', PARTFLOW_BUCKET: 'bkt' });
    const c = s3Client(cfg.s3);
    clients.push(c);
    const refused = await failure(probeS3(c, cfg));
    expect(refused).toBeInstanceOf(WorkerS3RefusedError);
    expect(refused!.message).toMatch(/^the worker did not start: GetObject s3:\/\/bkt\/datasets\/_partflow\/probe\/[0-9a-f-]+: the S3 endpoint http:\/\/127\.0\.0\.1:\d+ answered HTTP 200 with a text\/html body to a GET of a key that does not exist, which is not an S3 API answer: check AWS_ENDPOINT_URL_S3/);
    // Nothing was written: the GET came first.
    expect(requests.filter((r) => !r.startsWith('GET'))).toEqual([]);
  });

  it('an empty listing from S3 is a listing, whatever it leaves out but IsTruncated', async () => {
    for (const body of [
      '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bkt</Name><Prefix>a/</Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>',
      '<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>',
    ]) {
      answer = () => ({ status: 200, headers: XML, body });
      expect(await listFirstPage(client(false), 'bkt', 'a/')).toEqual({ objects: [], truncated: false });
    }
  });

  it('a 404 with an empty body: not S3 for a GET or a LIST, but a HEAD\'s is S3\'s "not found"', async () => {
    answer = () => ({ status: 404 });
    for (const direct of [true, false]) {
      const listed = await failure(listFirstPage(client(direct), 'bkt', 'a/'));
      expect(listed!.message).toMatch(notS3('ListObjectsV2 s3://bkt/a/', 'HTTP 404 with no S3 error in its body'));
      expect(isNotFound(listed)).toBe(false);
      const got = await failure(getObjectBuffer(client(direct), 'bkt', 'a/x'));
      expect(got).toBeInstanceOf(S3EndpointError);
      expect(isNotFound(got)).toBe(false);
      // The HEAD's bare 404 asks a GET, whose empty 404 gives the server away.
      expect(await failure(headObject(client(direct), 'bkt', 'a/x'))).toBeInstanceOf(S3EndpointError);
    }
    expect((await failure(getObjectBuffer(client(true), 'bkt', 'a/x')))!.message).toMatch(notS3('GetObject s3://bkt/a/x', 'HTTP 404 with an empty body'));
    // Real S3: a HEAD's empty 404, then the GET's NoSuchKey: the object is not there.
    answer = (req) => (req.method === 'HEAD' ? { status: 404 } : { status: 404, headers: XML, body: '<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>' });
    for (const direct of [true, false]) expect(await failure(headObject(client(direct), 'bkt', 'a/x'))).toBeInstanceOf(ObjectNotFoundError);
    expect(await explainS3Failure(Object.assign(new Error('UnknownError'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }), { cfg: loadConfig({}).s3, what: 'HeadObject s3://b/k' })).toBeUndefined();
  });

  it('an S3 error with a code and no message (Ceph RGW\'s NoSuchKey, NoSuchBucket) is S3\'s, not a stranger\'s: a worker starts', async () => {
    for (const message of ['', '<Message></Message>']) {
      answer = (req) => (req.url!.includes('list-type')
        ? { status: 404, headers: XML, body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code>${message}<BucketName>bkt</BucketName><RequestId>tx1</RequestId><HostId>h</HostId></Error>` }
        : { status: 404, headers: XML, body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code>${message}<BucketName>bkt</BucketName><RequestId>tx1</RequestId><HostId>h</HostId></Error>` });
      for (const direct of [true, false]) {
        const got = await failure(getObjectBuffer(client(direct), 'bkt', 'a/x'));
        expect(got).toBeInstanceOf(ObjectNotFoundError);
        const listed = await failure(listFirstPage(client(direct), 'bkt', 'a/'));
        expect(listed).not.toBeInstanceOf(S3EndpointError);
        expect(listed).toMatchObject({ name: 'NoSuchBucket' });
      }
      const cfg = loadConfig({ AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: `t${++made}`, AWS_REGION: 'us-east-1', PARTFLOW_BUCKET: 'bkt', PARTFLOW_CONDITIONAL_WRITES: 'on', PARTFLOW_S3_DIRECT: '0' });
      const c = s3Client(cfg.s3);
      clients.push(c);
      expect(await probeS3(c, cfg)).toMatchObject({ endpoint });
    }
  });

  it('a 412 with no body answers a create-only write: the key exists', async () => {
    answer = () => ({ status: 412 });
    const before = process.env.PARTFLOW_CONDITIONAL_WRITES;
    process.env.PARTFLOW_CONDITIONAL_WRITES = 'on';
    try {
      for (const direct of [true, false]) expect(await failure(putIfAbsent(client(direct), 'bkt', 'a/x', Buffer.from('x')))).toBeInstanceOf(PreconditionFailedError);
    } finally {
      if (before === undefined) delete process.env.PARTFLOW_CONDITIONAL_WRITES;
      else process.env.PARTFLOW_CONDITIONAL_WRITES = before;
    }
  });

  it('a port that speaks no HTTP/1.1 (gRPC, such as Temporal\'s): said at once, not retried, naming the endpoint', async () => {
    // An HTTP/2 server's first frame (SETTINGS), whatever the request.
    const grpc = net.createServer((c) => c.once('data', () => c.end(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]))));
    await new Promise<void>((r) => grpc.listen(0, '127.0.0.1', r));
    const at = `http://127.0.0.1:${(grpc.address() as AddressInfo).port}`;
    try {
      for (const direct of [true, false]) {
        const t0 = Date.now();
        const err = await failure(direct ? getObjectBuffer(client(true, { AWS_ENDPOINT_URL_S3: at }), 'bkt', 'a/x') : listFirstPage(client(false, { AWS_ENDPOINT_URL_S3: at }), 'bkt', 'a/'));
        expect(err).toBeInstanceOf(S3EndpointError);
        expect(err!.message).toMatch(new RegExp(`^(GetObject s3://bkt/a/x|ListObjectsV2 s3://bkt/a/): the S3 endpoint ${at.replace(/[.]/g, '\\.')} answered with no HTTP/1\\.1 at all \\(Parse Error: .*\\): a gRPC or other non-HTTP port, such as a Temporal server's, which is not an S3 API answer: check AWS_ENDPOINT_URL_S3`));
        expect(Date.now() - t0).toBeLessThan(2000);
      }
    } finally {
      grpc.close();
    }
  });

  it('https:// to a plain HTTP server: said at once, not retried', async () => {
    answer = () => ({ status: 200, body: '' });
    const https = endpoint.replace('http:', 'https:');
    for (const direct of [true, false]) {
      const t0 = Date.now();
      const err = await failure(direct ? getObjectBuffer(client(true, { AWS_ENDPOINT_URL_S3: https }), 'bkt', 'a/x') : listFirstPage(client(false, { AWS_ENDPOINT_URL_S3: https }), 'bkt', 'a/'));
      expect(err).toBeInstanceOf(S3EndpointError);
      expect(err!.message).toMatch(new RegExp(`^(GetObject s3://bkt/a/x|ListObjectsV2 s3://bkt/a/): the S3 endpoint ${https.replace(/[.]/g, '\\.')} answered plain HTTP \\(or another protocol\\) to a TLS connection \\(.*wrong version number.*\\), which is not an S3 API answer: check AWS_ENDPOINT_URL_S3`));
      expect(Date.now() - t0).toBeLessThan(1000);
    }
  });

  it('a proxy\'s 502 page stays a transient failure', async () => {
    const err = await explainS3Failure(Object.assign(new Error('UnknownError'), { name: 'Unknown', $metadata: { httpStatusCode: 502 } }), { cfg: loadConfig({}).s3, what: 'GetObject s3://b/k' });
    expect(err).toBeUndefined();
  });
});

describe('what the errors show', () => {
  it('decodes XML entities in S3\'s words', () => {
    expect(xmlText('expecting &#39;eu-central-1&#39; &amp; &lt;a&gt; &quot;b&quot; &apos;c&apos; &#x41;&#66; &bogus; &#x110000;')).toBe('expecting \'eu-central-1\' & <a> "b" \'c\' AB &bogus; &#x110000;');
  });

  it('an endpoint with a path is shown with it', async () => {
    answer = () => ({ status: 400, headers: XML, body: MINIO_REGION });
    const s3 = client(false, { AWS_ENDPOINT_URL_S3: `${endpoint}/storage` });
    const err = await failure(listFirstPage(s3, 'bkt', 'a/'));
    expect(err!.message).toContain(`S3 at ${endpoint}/storage refused`);
    expect(await describeEndpoint(s3)).toBe(`${endpoint}/storage`);
  });
});
