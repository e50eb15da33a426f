import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths';
import { Admin } from '../../src/sources/kafka/lib';
import { assertPortFree, freePort } from '../../src/stack/process';

/** `partflow up --kafka` (built dist/: `npm run build` first) starts a broker beside the rest and stops it on SIGINT. */
function groupMembers(pgid: number): string[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,comm=', '-g', String(pgid)]).toString().trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

async function until(ok: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('partflow up --kafka starts a Kafka broker next to Temporal and versitygw, and SIGINT stops all of them', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-up-kafka-'));
  const kafkaPort = await freePort();
  const env = {
    ...process.env, TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${await freePort()}`,
    PARTFLOW_UI_PORT: String(await freePort()), PARTFLOW_DATA_DIR: dataDir,
  };
  const up: ChildProcess = spawn('node', ['dist/src/cli/main.js', 'up', '--no-sample', '--kafka', '--kafka-port', String(kafkaPort)], { cwd: PROJECT_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  up.stdout!.on('data', (d) => (out += d));
  up.stderr!.on('data', (d) => (out += d));
  try {
    await until(() => /The stack is up/.test(out) || up.exitCode !== null, 150_000, `the stack (output so far:\n${out})`);
    expect(out).toContain(`Kafka: kafka://127.0.0.1:${kafkaPort}/<topic>`);
    const admin = new Admin({ clientId: 'up-test', bootstrapBrokers: [`127.0.0.1:${kafkaPort}`] });
    await admin.createTopics({ topics: ['hello'], partitions: 2, replicas: 1 });
    expect(await admin.listTopics()).toContain('hello');
    await admin.close();
    expect(groupMembers(up.pid!).join('\n')).toMatch(/java/);
    expect(fs.existsSync(path.join(dataDir, 'kafka', 'logs', 'meta.properties'))).toBe(true);

    process.kill(up.pid!, 'SIGINT');
    await until(() => up.exitCode !== null, 60_000, 'partflow to exit');
    expect(up.exitCode).toBe(0);
    for (let i = 0; i < 75 && groupMembers(up.pid!).length; i++) await new Promise((r) => setTimeout(r, 200));
    expect(groupMembers(up.pid!)).toEqual([]);
    await assertPortFree('127.0.0.1', kafkaPort, 'Kafka', 'PARTFLOW_KAFKA_PORT');
  } finally {
    try {
      process.kill(-up.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
