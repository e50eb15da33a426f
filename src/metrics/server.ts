/**
 * The worker's /metrics endpoint (PARTFLOW_METRICS_PORT): partflow's own metrics and the Temporal
 * SDK's. The SDK's core exports Prometheus on a port of its own; the worker binds that to
 * loopback and appends its text here, so Prometheus scrapes one endpoint per worker.
 */
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { envInteger } from '../config/errors';
import { registry } from './index';

/** PARTFLOW_METRICS_PORT, checked; undefined when unset. */
export function metricsPort(env: NodeJS.ProcessEnv = process.env): number | undefined {
  if ((env.PARTFLOW_METRICS_PORT ?? '').trim() === '') return undefined;
  return envInteger(env, 'PARTFLOW_METRICS_PORT', { min: 0, max: 65535, fallback: 0, what: 'a port number (0-65535)' });
}

export async function sdkMetrics(address: string | undefined): Promise<string> {
  if (!address) return '';
  try {
    const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? await res.text() : `# Temporal SDK metrics unavailable: HTTP ${res.status}\n`;
  } catch (err) {
    return `# Temporal SDK metrics unavailable: ${(err as Error).message}\n`;
  }
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics on port (0: any free one), host PARTFLOW_METRICS_HOST or all interfaces:
 * this process's metrics, or what `collect` gathers (a multi-process worker's supervisor).
 */
export async function startMetricsServer(port: number, opts: { sdkAddress?: string; host?: string; collect?: () => Promise<string> } = {}): Promise<MetricsServer> {
  const collect = opts.collect ?? (async () => {
    const [own, sdk] = await Promise.all([registry.metrics(), sdkMetrics(opts.sdkAddress)]);
    return `${own}\n${sdk}`;
  });
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('partflow serves Prometheus metrics at /metrics\n');
      return;
    }
    collect().then((text) => {
      res.writeHead(200, { 'content-type': registry.contentType }).end(text);
    }, (err: Error) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot serve metrics on port ${port} (PARTFLOW_METRICS_PORT): ${err.message}`)));
    server.listen(port, opts.host, resolve);
  });
  // A worker's exit should not wait for a scraper's idle keep-alive connection.
  server.unref();
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
