import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { PROJECT_ROOT } from '../../src/config/paths';
import { ensureBucket, startS3 } from '../../src/stack/embedded';
import { assertPortFree, freePort } from '../../src/stack/process';
import { s3Client } from '../../src/storage/client';
import { objectExists, putObject } from '../../src/storage/objects';

/** Processes still in a process group (ps exits 1 when there are none). */
function groupMembers(pgid: number): string[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,comm=', '-g', String(pgid)]).toString().trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

function waitFor(child: ChildProcess, out: () => string, pattern: RegExp, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const timer = setInterval(() => {
      if (pattern.test(out())) {
        clearInterval(timer);
        resolve();
      } else if (child.exitCode !== null || Date.now() > deadline) {
        clearInterval(timer);
        reject(new Error(`${child.exitCode !== null ? `exited (${child.exitCode})` : `nothing within ${ms} ms`} before ${pattern}:\n${out()}`));
      }
    }, 200);
  });
}

function exited(child: ChildProcess, ms: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

/** Polls `ok` until it holds; fails after `ms`. */
async function until(ok: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The environment of an embedded stack on free ports, its state in dataDir. */
async function stackEnv(dataDir: string) {
  return {
    ...process.env,
    TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${await freePort()}`,
    PARTFLOW_UI_PORT: String(await freePort()),
    PARTFLOW_DATA_DIR: dataDir,
  };
}

describe('npm start (partflow up)', () => {
  it('runs the sample ingest, reports a taken port clearly, and leaves no process behind after Ctrl-C', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-up-'));
    const env = { ...(await stackEnv(dataDir)), PARTFLOW_LOG_LEVEL: 'info' };
    // Its own process group, like a terminal's foreground job, so Ctrl-C reaches npm and everything under it.
    const up = spawn('npm', ['start'], { cwd: PROJECT_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    up.stdout!.on('data', (d) => (out += d));
    up.stderr!.on('data', (d) => (out += d));
    try {
      await waitFor(up, () => out, /Press Ctrl-C to stop/, 180_000);
      expect(out).toMatch(/Ingest completed: 5 partitions of birdstrikes/);
      expect(out).toMatch(/enrich +5 ok +0 failed .* records in 10000, out 10000/);
      expect(out).toMatch(new RegExp(`Temporal UI: http://127\\.0\\.0\\.1:${env.PARTFLOW_UI_PORT}`));
      expect(out).toMatch(/manifest: s3:\/\/partflow\/datasets\/birdstrikes\/_runs\//);
      // Log lines name the run and the partition, its name too, so an operator can follow one partition.
      const log = fs.readFileSync(path.join(dataDir, 'logs', 'partflow.log'), 'utf8');
      expect(log).toMatch(/"runId":"[0-9a-f-]+","stage":"enrich","partition":"p-[0-9a-f]{12}","name":"birdstrikes\.csv#\d\/5".*"msg":"partition committed"/);
      expect(log).toMatch(/"workflowId":"ingest-birdstrikes-[^"]+","runId":"[0-9a-f-]+".*"msg":"planned ingest"/);
      expect(log).toMatch(/"workflowId":"ingest-birdstrikes-[^"]+","runId":"[0-9a-f-]+","dataset":"birdstrikes","snapshot":1.*"msg":"committed dataset snapshot"/);

      // A second stack on the same ports must refuse with a message that names the port.
      const second = spawn('node', ['dist/src/cli/main.js', 'up', '--data-dir', path.join(dataDir, 'second')], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let secondOut = '';
      second.stderr!.on('data', (d) => (secondOut += d));
      expect(await exited(second, 30_000)).toBe(1);
      expect(secondOut).toMatch(new RegExp(`port ${env.TEMPORAL_ADDRESS.replace(/\./g, '\\.')} \\(Temporal gRPC\\) is already in use`));
      // A Temporal of the user's own on that port: up is not the command to use it with.
      expect(secondOut).toContain('if that is your own Temporal server, run `partflow worker` against it instead of `partflow up`');
      // Nothing was started, so nothing is said to stop.
      expect(secondOut).not.toMatch(/Shutting down|Stopped\./);

      expect(groupMembers(up.pid!).join('\n')).toMatch(/temporal[\s\S]*versitygw|versitygw[\s\S]*temporal/);
      process.kill(-up.pid!, 'SIGINT');
      await exited(up, 60_000);
      // Give the group a moment to drain, then nothing may be left.
      for (let i = 0; i < 50 && groupMembers(up.pid!).length; i++) await new Promise((r) => setTimeout(r, 200));
      expect(groupMembers(up.pid!)).toEqual([]);
      expect(out).toMatch(/Stopped\./);
    } finally {
      try {
        process.kill(-up.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('an interrupt during start-up, or a crash after start, stops Temporal and versitygw and leaves the ports free', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-up-stop-'));
    const ports = { temporal: await freePort(), s3: await freePort(), ui: await freePort() };
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${ports.s3}`,
      PARTFLOW_UI_PORT: String(ports.ui),
      PARTFLOW_DATA_DIR: dataDir,
    };
    const started: ChildProcess[] = [];
    const up = (...nodeArgs: string[]) => {
      const child = spawn('node', [...nodeArgs, 'dist/src/cli/main.js', 'up', '--no-sample'], { cwd: PROJECT_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      started.push(child);
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      return { child, out: () => out };
    };
    const leftOver = async (pgid: number) => {
      for (let i = 0; i < 75 && groupMembers(pgid).length; i++) await new Promise((r) => setTimeout(r, 200));
      return groupMembers(pgid);
    };
    const portsFree = () => Promise.all([
      assertPortFree('127.0.0.1', ports.temporal, 'Temporal gRPC', 'TEMPORAL_ADDRESS'),
      assertPortFree('127.0.0.1', ports.ui, 'Temporal UI', 'PARTFLOW_UI_PORT'),
      assertPortFree('127.0.0.1', ports.s3, 'S3', 'AWS_ENDPOINT_URL_S3'),
    ]);
    try {
      // SIGINT to partflow alone, as `kill -INT <pid>` or a supervisor sends it (a terminal's Ctrl-C
      // would reach the servers too and hide a missing handler), as soon as the Temporal server runs.
      const first = up();
      await until(() => /temporal/.test(groupMembers(first.child.pid!).join('\n')), 30_000, 'the Temporal server process');
      expect(first.out()).not.toMatch(/The stack is up/);
      process.kill(first.child.pid!, 'SIGINT');
      expect(await exited(first.child, 60_000)).toBe(0);
      expect(await leftOver(first.child.pid!)).toEqual([]);
      await portsFree();
      expect(first.out()).toMatch(/Stopped\./);
      expect(first.out()).not.toMatch(/error:/);

      // The next `up` on the same ports starts; a crash (an uncaught exception) after start stops its servers too.
      const second = up('-r', './test/fixtures/crash-when-up.js');
      await waitFor(second.child, second.out, /The stack is up/, 150_000);
      expect(await exited(second.child, 60_000)).toBe(1);
      expect(second.out()).toMatch(/partflow crashed: Error: simulated crash after start/);
      expect(await leftOver(second.child.pid!)).toEqual([]);
      await portsFree();
      expect(second.out()).toMatch(/Stopped\./);
    } finally {
      for (const c of started) {
        try {
          process.kill(-c.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('up --no-worker reports a server that exits under it, with its exit and log, and stops the rest (exit 1)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-up-died-'));
    const env = await stackEnv(dataDir);
    const up = spawn('node', ['dist/src/cli/main.js', 'up', '--no-worker'], { cwd: PROJECT_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    up.stdout!.on('data', (d) => (out += d));
    up.stderr!.on('data', (d) => (out += d));
    try {
      await waitFor(up, () => out, /The stack is up/, 150_000);
      const temporal = groupMembers(up.pid!).map((l) => l.trim().split(/\s+/)).find(([, comm]) => comm === 'temporal');
      expect(temporal).toBeDefined();
      process.kill(Number(temporal![0]), 'SIGKILL');
      expect(await exited(up, 60_000)).toBe(1);
      expect(out).toMatch(/\ntemporal server exited unexpectedly \(signal SIGKILL\); its log: \S+temporal\S*\.log\n/);
      // Only what it started and still runs is stopped: no worker, and the dead server is gone.
      expect(out).toMatch(/\nShutting down: versitygw\.\.\.\n/);
      expect(out).toMatch(/Stopped\./);
      expect(groupMembers(up.pid!)).toEqual([]);
    } finally {
      try {
        process.kill(-up.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('--no-s3 runs the stack on your own S3 server: a taken port points to it, a missing bucket is named, and the server is left running', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-up-own-s3-'));
    const env = { ...(await stackEnv(dataDir)), AWS_ACCESS_KEY_ID: 'own-key', AWS_SECRET_ACCESS_KEY: 'own-secret-1234' };
    // "Your own" server: started apart from up, with another bucket than the sample's.
    const own = await startS3(loadConfig({ ...env, PARTFLOW_BUCKET: 'elsewhere' }), { dataDir: path.join(dataDir, 'own'), uiPort: 0 });
    const cfg = loadConfig(env);
    const run = (args: string[]) => {
      const up = spawn('node', ['dist/src/cli/main.js', 'up', ...args], { cwd: PROJECT_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      const o = { up, out: '' };
      up.stdout!.on('data', (d) => (o.out += d));
      up.stderr!.on('data', (d) => (o.out += d));
      return o;
    };
    try {
      const taken = run([]);
      expect(await exited(taken.up, 30_000)).toBe(1);
      expect(taken.out).toContain(`port ${env.AWS_ENDPOINT_URL_S3.slice('http://'.length)} (S3 (versitygw)) is already in use`);
      expect(taken.out).toContain('or, if that is your own S3 server, use it with `partflow up --no-s3`');

      const noBucket = run(['--no-s3']);
      expect(await exited(noBucket.up, 90_000)).toBe(1);
      expect(noBucket.out).toContain(`S3: ${env.AWS_ENDPOINT_URL_S3}, not started here (--no-s3)`);
      expect(noBucket.out).toContain(`error: the bucket "partflow" does not exist at ${env.AWS_ENDPOINT_URL_S3}, and up --no-s3 does not create buckets in your store: create it, set PARTFLOW_BUCKET to one that exists, or start with --no-sample`);

      await ensureBucket(s3Client(cfg.s3), 'partflow');
      const ok = run(['--no-s3']);
      try {
        await waitFor(ok.up, () => ok.out, /Press Ctrl-C to stop/, 120_000);
        expect(ok.out).toMatch(/enrich +5 ok +0 failed .* records in 10000, out 10000/);
        process.kill(-ok.up.pid!, 'SIGINT');
        expect(await exited(ok.up, 60_000)).toBe(0);
      } finally {
        try {
          process.kill(-ok.up.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      expect(ok.out).toMatch(/Shutting down: worker, temporal server\.\.\./);
      // The outputs are in your server, which up did not stop.
      expect(own.child.exitCode).toBeNull();
      expect(await objectExists(s3Client(cfg.s3), 'partflow', 'datasets/birdstrikes/_snapshots/00000001.json')).toBe(true);
    } finally {
      await own.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('--pipelines registers your pipelines in its worker, so an ingest of them runs on the stack alone', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-up-pipelines-'));
    const env = await stackEnv(dataDir);
    const up = spawn('node', ['dist/src/cli/main.js', 'up', '--no-sample', '--pipelines', 'test/fixtures/metered-pipelines.js'], { cwd: PROJECT_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    up.stdout!.on('data', (d) => (out += d));
    up.stderr!.on('data', (d) => (out += d));
    try {
      await waitFor(up, () => out, /Press Ctrl-C to stop/, 120_000);
      expect(out).toMatch(/Worker on task queue "partflow": pipelines copy, birdstrikes, metered\n/);
      const cfg = loadConfig(env);
      await putObject(s3Client(cfg.s3), cfg.bucket, 'in/metered/a.jsonl', [1, 2, 3, 4].map((id) => JSON.stringify({ id, label: id === 4 ? 'bad' : 'ok' })).join('\n'));
      const ingest = execFileSync('node', ['dist/src/cli/main.js', 'ingest', 'metered', '--source', `s3://${cfg.bucket}/in/metered/`, '--wait'], { cwd: PROJECT_ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
      expect(ingest).toMatch(/Ingest completed: 1 partition of metered/);
      expect(ingest).toMatch(/keep +1 ok +0 failed .* records in 4, out 1, rejected 1, dropped 2/);
      process.kill(-up.pid!, 'SIGINT');
      await exited(up, 60_000);
    } finally {
      try {
        process.kill(-up.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
