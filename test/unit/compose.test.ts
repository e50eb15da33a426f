import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { CONFIG_ENV_VARS, DEFAULTS, loadConfig } from '../../src/config';
import { PROJECT_ROOT } from '../../src/config/paths';
import { SEARCH_ATTRIBUTES } from '../../src/stack/search-attributes';
import { registry } from '../../src/metrics';
import { metricsPort } from '../../src/metrics/server';

// There is no Docker engine here, so the compose file is checked statically against the code.
const compose = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
const services = compose.services as Record<string, Record<string, unknown>>;

function env(service: string): Record<string, string> {
  const e = services[service].environment as Record<string, unknown>;
  // Resolve ${VAR:-default} the way compose does when VAR is unset.
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]));
}

describe('docker-compose.yml', () => {
  it('has the production-like services', () => {
    expect(Object.keys(services).sort()).toEqual(['grafana', 'kafka', 'postgresql', 'prometheus', 's3', 's3-setup', 'temporal', 'temporal-setup', 'temporal-ui', 'worker']);
    expect(String(services.temporal.image)).toMatch(/^temporalio\/auto-setup:/);
    expect(env('temporal').DB).toMatch(/^postgres/);
    expect(String(services.s3.image)).toBe('versity/versitygw:v1.7.0');
    expect(services.s3.command).toEqual(expect.arrayContaining(['posix']));
    expect(services.s3.volumes).toEqual(expect.arrayContaining([expect.stringMatching(/:\/data$/)]));
  });

  it('publishes the same ports as the embedded stack', () => {
    const ports = (s: string) => (services[s].ports as string[]).map((p) => p.split(':')[0]);
    expect(ports('temporal')).toEqual([DEFAULTS.temporalAddress.split(':')[1]]);
    expect(ports('temporal-ui')).toEqual([String(DEFAULTS.temporalUiPort)]);
    expect(ports('s3')).toEqual([new URL(DEFAULTS.s3Endpoint).port]);
  });

  it('gives workers only variables the code reads, and a config that points at the compose services', () => {
    const w = env('worker');
    for (const k of Object.keys(w)) expect(CONFIG_ENV_VARS).toContain(k);
    const cfg = loadConfig(w);
    expect(cfg.temporalAddress).toBe('temporal:7233');
    expect(new URL(cfg.s3.endpoint!).hostname).toBe('s3');
    expect(new URL(cfg.s3.endpoint!).port).toBe(String((services.s3.command as string[])[1]).replace(':', ''));
    expect(cfg.taskQueue).toBe(DEFAULTS.taskQueue);
    expect(cfg.s3.accessKeyId).toBe(env('s3').ROOT_ACCESS_KEY);
    expect(cfg.s3.secretAccessKey).toBe(env('s3').ROOT_SECRET_KEY);
    expect(env('temporal-ui').TEMPORAL_ADDRESS).toBe(cfg.temporalAddress);
  });

  it('lets workers scale: built from the Dockerfile, running the worker command, no fixed name or host port', () => {
    const w = services.worker;
    expect(w.build).toBe('.');
    // The image builds the worker from the production sources only (no test or bench dependencies).
    const dockerfile = fs.readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/tsc -p tsconfig\.prod\.json/);
    expect(JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'tsconfig.prod.json'), 'utf8')).include).toEqual(['src', 'workflows', 'activities']);
    expect(w.command).toEqual(['node', 'dist/src/cli/main.js', 'worker']);
    expect(w.container_name).toBeUndefined();
    expect(w.ports).toBeUndefined();
  });

  it('runs Kafka in KRaft mode, on the embedded stack\'s port, with the same Kafka version as .tools/kafka', () => {
    const k = env('kafka');
    expect(String(services.kafka.image)).toMatch(/^apache\/kafka:/);
    const pom = fs.readFileSync(path.join(PROJECT_ROOT, 'scripts', 'kafka', 'pom.xml'), 'utf8');
    expect(pom).toContain(`<artifactId>kafka_2.13</artifactId><version>${String(services.kafka.image).split(':')[1]}</version>`);
    expect(k.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(k.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR).toBe('1');
    expect((services.kafka.ports as string[]).map((p) => p.split(':')[0])).toEqual(['9092']);
    expect(k.KAFKA_ADVERTISED_LISTENERS).toContain('EXTERNAL://localhost:9092');
    expect(k.KAFKA_ADVERTISED_LISTENERS).toContain('INTERNAL://kafka:19092');
  });

  it('registers the search attributes the code defines and creates the bucket', () => {
    const cmd = (services['temporal-setup'].command as string[]).join(' ');
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) expect(cmd).toContain(`${name}=${type}`);
    expect((services['s3-setup'].command as string[]).join(' ')).toContain(`--bucket ${DEFAULTS.bucket}`);
  });

  it('runs Prometheus scraping every worker replica on the metrics port, and Grafana with the dashboard', async () => {
    const port = metricsPort(env('worker'));
    expect(port).toBeGreaterThan(0);
    expect(String(services.prometheus.image)).toMatch(/^prom\/prometheus:v\d/);
    expect(services.prometheus.volumes).toEqual(expect.arrayContaining(['./ops/prometheus.yml:/etc/prometheus/prometheus.yml:ro']));
    const prom = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'ops/prometheus.yml'), 'utf8'));
    const job = prom.scrape_configs.find((j: { job_name: string }) => j.job_name === 'partflow-worker');
    expect(job.metrics_path).toBe('/metrics');
    // DNS discovery of the service name finds each replica of `--scale worker=N`.
    expect(job.dns_sd_configs).toEqual([expect.objectContaining({ names: ['worker'], type: 'A', port })]);

    const mounts = (services.grafana.volumes as string[]).map((v) => v.split(':')[0]);
    for (const m of mounts) expect(fs.existsSync(path.join(PROJECT_ROOT, m))).toBe(true);
    const ds = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'ops/grafana/provisioning/datasources/prometheus.yml'), 'utf8'));
    expect(ds.datasources[0].url).toBe(`http://prometheus:${(services.prometheus.ports as string[])[0].split(':')[1]}`);
    // Every partflow metric the dashboard queries is one the worker exports.
    const dash = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'ops/grafana/partflow.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr));
    const exported = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    const used = [...new Set(exprs.flatMap((e) => e.match(/partflow_[a-z_]+/g) ?? []))];
    expect(used.length).toBeGreaterThan(8);
    for (const name of used) expect([name, exported.has(name.replace(/_(bucket|count|sum)$/, ''))]).toEqual([name, true]);
  });
});
