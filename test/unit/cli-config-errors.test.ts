import { CommanderError } from 'commander';
import { buildProgram } from '../../src/cli/program';
import { failureOf } from '../../src/cli/exit';
import { cliConfig } from '../../src/cli/config';
import { ConfigError } from '../../src/config/errors';
import { loadConfig } from '../../src/config';

const BAD: Record<string, string>[] = [
  { TEMPORAL_PROFILE: 'typo' }, { TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' }, { PARTFLOW_S3_DIRECT: 'yes' }, { PARTFLOW_S3_CREDENTIALS: 'profile' },
  { PARTFLOW_UI_PORT: 'x' }, { PARTFLOW_KAFKA_PORT: 'x' }, { PARTFLOW_MAX_COLLECTION_ITEMS: 'abc' },
  { PARTFLOW_LOG_LEVEL: 'verbose' },
];

/** Runs fn with the variables set in process.env (as the CLI reads them), then puts it back. */
function withEnv<T>(vars: Record<string, string>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}

/** What `partflow <args>` writes, parsed in-process; commander's own exits become errors. */
async function run(...args: string[]): Promise<{ out: string; exit?: string }> {
  let out = '';
  const program = buildProgram().exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  for (const c of program.commands) c.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  try {
    await program.parseAsync(['node', 'partflow', ...args]);
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    return { out, exit: e.code };
  }
  return { out };
}

describe('a bad setting does not break registering the commands', () => {
  it.each(BAD)('%o: --version, --help and gc --help still work', async (vars) => {
    await withEnv(vars, async () => {
      expect(await run('--version')).toEqual({ out: expect.stringMatching(/^\d+\.\d+\.\d+\n$/), exit: 'commander.version' });
      expect((await run('--help')).out).toMatch(/^Usage: partflow/);
      const gc = await run('gc', '--help');
      expect(gc.out).toMatch(/--bucket <bucket>\s+with --uploads: bucket to sweep \(default\s+PARTFLOW_BUCKET, else partflow\)/);
      expect((await run('up', '--help')).out).toMatch(/--ui-port <port>\s+Temporal UI port \(default PARTFLOW_UI_PORT, else\s+8233\)/);
    });
  });
});

describe('configuration errors as the CLI reports them', () => {
  it.each([
    [{ TEMPORAL_PROFILE: 'typo', TEMPORAL_CONFIG_FILE: '' }, /^cannot load the Temporal connection settings \(profile "typo" of .*\): TEMPORAL_PROFILE is "typo", but there is no Temporal config file/],
    [{ PARTFLOW_S3_DIRECT: 'yes' }, /^PARTFLOW_S3_DIRECT must be 1 .* or 0, got "yes"$/],
    [{ PARTFLOW_S3_CREDENTIALS: 'profile' }, /^PARTFLOW_S3_CREDENTIALS must be "chain" .* or "embedded", got "profile"$/],
    // Without its scheme an endpoint read as a remote one (no region, "Invalid URL"), or passed unchecked.
    [{ AWS_ENDPOINT_URL_S3: '127.0.0.1:17102' }, /^AWS_ENDPOINT_URL_S3 must be a URL like http:\/\/host:port or https:\/\/host \(with its scheme\), got "127.0.0.1:17102"$/],
    [{ AWS_ENDPOINT_URL: 'localhost:9000' }, /^AWS_ENDPOINT_URL must be a URL like http:\/\/host:port .*got "localhost:9000"$/],
    [{ PARTFLOW_S3_PATH_STYLE: 'no' }, /^PARTFLOW_S3_PATH_STYLE must be true .* or false .*, got "no"$/],
    [{ AWS_ACCESS_KEY_ID: 'partflow' }, /^AWS_ACCESS_KEY_ID is set \("partflow"\) but AWS_SECRET_ACCESS_KEY is not: /],
    [{ PARTFLOW_LOG_LEVEL: 'verbose' }, /^PARTFLOW_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"$/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"$/],
  ])('%o: one line, exit code 2', (vars, message) => {
    const e = (() => {
      try {
        cliConfig({ HOME: '/nonexistent-home', ...vars });
      } catch (err) {
        return err;
      }
      throw new Error('no error');
    })();
    expect(e).toBeInstanceOf(ConfigError);
    const f = failureOf(e);
    expect(f.code).toBe(2);
    expect(f.message).toMatch(message);
    expect(f.message).not.toContain('\n');
  });

  it('a bad PARTFLOW_LOG_LEVEL stops a command that loads no other setting too, before it runs', async () => {
    await withEnv({ PARTFLOW_LOG_LEVEL: 'verbose' }, async () => {
      const e = await run('inspect', '/nonexistent/file.avro').then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(ConfigError);
      expect(failureOf(e)).toEqual({ code: 2, message: 'PARTFLOW_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"' });
    });
    expect(cliConfig({ HOME: '/nonexistent-home', PARTFLOW_LOG_LEVEL: 'DEBUG' }).logLevel).toBe('debug');
  });

  it('other errors still exit 1, with their causes', () => {
    expect(failureOf(new Error('outer', { cause: new Error('inner') }))).toEqual({ code: 1, message: 'outer: inner' });
  });

  it('a namespace that does not exist is named with the address and the settings\' source', () => {
    const nsErr = Object.assign(new Error("Namespace not found: 'teamdta'"), { name: 'NamespaceNotFoundError' });
    expect(failureOf(nsErr, { TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_NAMESPACE: 'teamdta' })).toEqual({
      code: 1,
      message: 'Temporal namespace "teamdta" does not exist at temporal.internal:7233 (namespace teamdta, no TLS; TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE): '
        + 'check the namespace\'s name, or create it (temporal operator namespace create --namespace teamdta --address temporal.internal:7233)',
    });
  });
});

describe('loadConfig, as the library calls it', () => {
  it.each([
    [{ PARTFLOW_S3_CREDENTIALS: 'bogus' }, /^PARTFLOW_S3_CREDENTIALS must be "chain"/],
    [{ PARTFLOW_S3_DIRECT: 'yes' }, /^PARTFLOW_S3_DIRECT must be 1/],
    [{ PARTFLOW_S3_CREDENTIALS: 'embedded', AWS_ENDPOINT_URL_S3: 'http://s3.example.com:9000' }, /^PARTFLOW_S3_CREDENTIALS=embedded sends the embedded stack's built-in keys/],
  ])('%o: a ConfigError, as the README promises (a plain Error was thrown)', (vars, message) => {
    expect(() => loadConfig({ HOME: '/nonexistent-home', ...vars })).toThrow(ConfigError);
    expect(() => loadConfig({ HOME: '/nonexistent-home', ...vars })).toThrow(message);
  });
});
