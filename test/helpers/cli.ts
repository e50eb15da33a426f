import { spawn } from 'node:child_process';
import { Config } from '../../src/config';
import { PROJECT_ROOT } from '../../src/config/paths';

/**
 * Runs the built CLI against a test stack. Asynchronous on purpose: the test process hosts the
 * worker, and a blocking spawn would stall it.
 */
export function runCli(cfg: Config, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCliWith(cfg, {}, ...args);
}

/** runCli with more (or other) environment variables, as a person's shell would have them. */
export function runCliWith(cfg: Config, env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('node', ['dist/src/cli/main.js', ...args], {
      cwd: PROJECT_ROOT, timeout: 60_000,
      env: { ...process.env, TEMPORAL_ADDRESS: cfg.temporalAddress, TEMPORAL_NAMESPACE: cfg.temporalNamespace, AWS_ENDPOINT_URL_S3: cfg.s3.endpoint, PARTFLOW_TASK_QUEUE: cfg.taskQueue, PARTFLOW_LOG_LEVEL: 'error', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
