import { WorkflowHandle, WorkflowNotFoundError } from '@temporalio/client';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { ConfigError } from '../../src/config/errors';
import { describeRun } from '../../src/cli/workflow-lookup';
import { connectTemporal } from '../../src/temporal/connect';
import { describeConnection, loadTemporalConnection } from '../../src/temporal/connection';

let dir: string;
let file: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-tsettings-'));
  file = path.join(dir, 'temporal.toml');
  fs.writeFileSync(file, ['[profile.default]', 'address = "10.0.0.1:7233"', '', '[profile.teamdata]', 'address = "temporal.internal:7233"', 'namespace = "teamdata"', ''].join('\n'));
  fs.mkdirSync(path.join(dir, 'xdg', 'temporalio'), { recursive: true });
  fs.copyFileSync(file, path.join(dir, 'xdg', 'temporalio', 'temporal.toml'));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('where the Temporal settings came from', () => {
  it('a profile chosen with TEMPORAL_PROFILE of TEMPORAL_CONFIG_FILE is credited, not the variables', () => {
    const s = loadTemporalConnection({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'teamdata' });
    expect(s).toMatchObject({ address: 'temporal.internal:7233', namespace: 'teamdata', source: `profile "teamdata" of ${file}` });
    expect(describeConnection(s)).toBe(`temporal.internal:7233 (namespace teamdata, no TLS; profile "teamdata" of ${file})`);
  });

  it('variables that override the profile are named with it', () => {
    expect(loadTemporalConnection({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'teamdata', TEMPORAL_NAMESPACE: 'other' }).source)
      .toBe(`profile "teamdata" of ${file} and TEMPORAL_NAMESPACE`);
  });

  it("the default file's default profile, read with no TEMPORAL_PROFILE, is credited too", () => {
    const s = loadTemporalConnection({ XDG_CONFIG_HOME: path.join(dir, 'xdg') });
    expect(s.address).toBe('10.0.0.1:7233');
    expect(s.source).toBe(`profile "default" of ${path.join(dir, 'xdg', 'temporalio', 'temporal.toml')}`);
  });

  it('variables alone, and nothing at all', () => {
    expect(loadTemporalConnection({ TEMPORAL_ADDRESS: 'a:1', TEMPORAL_NAMESPACE: 'n' }).source).toBe('TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE');
    expect(loadTemporalConnection({}).source).toBe('defaults: no TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE or Temporal profile set');
  });

  it('"no workflow" names the settings\' real source (a profile), not TEMPORAL_NAMESPACE and TEMPORAL_ADDRESS', async () => {
    const cfg = loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'teamdata' });
    const handle = { workflowId: 'ingest-x', describe: async () => { throw new WorkflowNotFoundError('not found', 'ingest-x', undefined); } } as unknown as WorkflowHandle;
    await expect(describeRun(handle, cfg)).rejects.toThrow(
      `no workflow ingest-x in namespace teamdata at temporal.internal:7233 (from profile "teamdata" of ${file}): check the id, or point the CLI at the Temporal that runs it`,
    );
  });
});

describe('Temporal settings that cannot be loaded are ConfigErrors that say why', () => {
  const err = (env: NodeJS.ProcessEnv) => {
    try {
      loadTemporalConnection(env);
    } catch (e) {
      return e as Error;
    }
    throw new Error('loaded');
  };

  it('a TEMPORAL_PROFILE that the file lacks lists the profiles it has', () => {
    const e = err({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'teamdta' });
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toBe(`cannot load the Temporal connection settings (profile "teamdta" of ${file}): Profile 'teamdta' not found in config data (${file} has the profiles default, teamdata)`);
  });

  it('a TEMPORAL_PROFILE with no config file at all says so', () => {
    const xdg = path.join(dir, 'empty-xdg');
    const e = err({ XDG_CONFIG_HOME: xdg, TEMPORAL_PROFILE: 'prod' });
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toBe(`cannot load the Temporal connection settings (profile "prod" of ${xdg}/temporalio/temporal.toml): TEMPORAL_PROFILE is "prod", but there is no Temporal config file at ${xdg}/temporalio/temporal.toml (TEMPORAL_CONFIG_FILE names one)`);
  });

  it('a TEMPORAL_CONFIG_FILE that does not exist is an error, not a quiet fall back to 127.0.0.1:7233', () => {
    const e = err({ TEMPORAL_CONFIG_FILE: path.join(dir, 'nope.toml') });
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toBe(`cannot load the Temporal connection settings: TEMPORAL_CONFIG_FILE names ${path.join(dir, 'nope.toml')}, which does not exist`);
  });
});

describe('a Temporal that cannot be reached', () => {
  it('is named with the settings and what to check (the gRPC port, not the UI\'s; a running server)', async () => {
    const s = loadConfig({ TEMPORAL_ADDRESS: '127.0.0.1:1' }).temporal;
    const err = await connectTemporal(s, { connectTimeout: 2_000 }).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^cannot connect to Temporal at 127\.0\.0\.1:1 \(namespace default, no TLS.*\): .+; check that the address is the Temporal frontend's gRPC port \(7233 by default; the Web UI's port, 8233 by default, is not it\) and that the server runs and is reachable from this machine$/s);
  });
});
