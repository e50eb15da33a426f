import { spawn } from 'node:child_process';
import net from 'node:net';
import { PROJECT_ROOT } from '../../src/config/paths';

/**
 * An S3 endpoint that accepts connections and never answers (a wrong port that is something
 * else's, a stuck proxy): a command says so after 10 s instead of sitting silent for the minutes
 * its tries take. The built CLI (`npm run build` first); no stack needed.
 */
let server: net.Server;
let endpoint: string;
const sockets: net.Socket[] = [];

beforeAll(async () => {
  server = net.createServer((s) => { sockets.push(s); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

/** Runs `partflow <args>` until its stderr matches `until` (or 30 s pass), then stops it. */
function stderrOf(args: string[], until: RegExp): Promise<{ stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn('node', ['dist/src/cli/main.js', ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_REGION: 'us-east-1', PARTFLOW_LOG_LEVEL: 'error' },
    });
    let stderr = '';
    const done = () => {
      clearTimeout(limit);
      child.kill('SIGKILL');
      resolve({ stderr, ms: Date.now() - started });
    };
    const limit = setTimeout(done, 30_000);
    child.stderr.on('data', (d) => {
      stderr += d;
      if (until.test(stderr)) done();
    });
  });
}

describe('an S3 endpoint that never answers', () => {
  it('cat (a direct GET) and snapshots (an SDK listing) say after 10 s that S3 has not answered, once, naming the endpoint and the request', async () => {
    const [cat, snapshots] = await Promise.all([
      stderrOf(['cat', 's3://bucket1/x.avro'], /Ctrl-C stops\n/),
      stderrOf(['snapshots', 's3://bucket1/ds/'], /Ctrl-C stops\n/),
    ]);
    const note = (what: string) => `partflow: S3 at ${endpoint} has not answered ${what} for 10 s; still waiting (up to 2 min a try, 4 tries). `
      + 'If it should answer at once, check that AWS_ENDPOINT_URL_S3 is the S3 API\'s address; Ctrl-C stops\n';
    expect(cat.stderr).toBe(note('GetObject s3://bucket1/x.avro'));
    expect(snapshots.stderr).toBe(note('ListObjectsV2 s3://bucket1/ds/_snapshots/'));
    for (const r of [cat, snapshots]) expect(r.ms).toBeGreaterThanOrEqual(10_000);
  }, 60_000);
});
