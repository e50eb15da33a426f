import { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { addIngestInputOptions, ingestInputFromOptions } from '../../src/cli/ingest-options';
import { failureOf } from '../../src/cli/exit';
import { buildProgram } from '../../src/cli/program';

const parse = (...args: string[]) => {
  const cmd = addIngestInputOptions(new Command(), { sourceRequired: true }).exitOverride();
  cmd.parse(['--source', 's3://b/in/', ...args], { from: 'user' });
  return ingestInputFromOptions(cmd.opts());
};

describe('ingest options', () => {
  it('a partition given twice in --start-offsets is one line naming it, not the whole --help', async () => {
    let out = '';
    const program = buildProgram().exitOverride().configureOutput({ writeOut: (t) => (out += t), writeErr: (t) => (out += t) });
    for (const c of program.commands) c.exitOverride().configureOutput({ writeOut: (t) => (out += t), writeErr: (t) => (out += t) });
    const err = await program.parseAsync(['node', 'partflow', 'ingest', 'copy', '--source', 'kafka://h:1/x', '--target', 's3://b/d/', '--start-offsets', '0=10,0=20'])
      .then(() => null, (e: unknown) => e);
    expect(failureOf(err)).toEqual({ code: 1, message: 'invalid ingest input: --start-offsets names partition 0 twice (0=10,0=20)' });
    expect(out).toBe('');
  });

  it('--no-pack keeps one partition per object; --pack sets the default back; neither leaves it to the input', () => {
    expect(parse('--no-pack').pack).toBe(false);
    expect(parse('--pack').pack).toBe(true);
    expect(parse()).not.toHaveProperty('pack');
    expect(parse('--no-pack', '--partition-bytes', '1KiB')).toMatchObject({ source: 's3://b/in/', pack: false, partitionBytes: 1024 });
  });

  it('leaves a schedule\'s packing alone unless given', () => {
    const cmd = addIngestInputOptions(new Command(), { sourceRequired: false }).exitOverride();
    cmd.parse([], { from: 'user' });
    expect(ingestInputFromOptions(cmd.opts(), { source: 's3://b/in/', pack: false }).pack).toBe(false);
  });

  it('sets every field of the README\'s input table (README: --help lists every option), and says sizes are binary', () => {
    const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
    const rows = readme.slice(readme.indexOf('| field | required |'));
    const fields = [...rows.slice(0, rows.indexOf('\n\n')).matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
    expect(fields).toEqual(expect.arrayContaining(['source', 'heartbeatTimeoutSeconds', 'partitionsPerWorkflow']));
    const input = parse('--target', 's3://b/out/', '--dataset', 'd', '--partition-records', '5', '--partition-bytes', '2mb', '--split-bytes', '4MiB', '--no-pack',
      '--max-parallel', '3', '--partitions-per-activity', '2', '--format', 'csv', '--param', 'a=b', '--partition-timeout', '1h', '--wait-for-retry', '0',
      '--heartbeat-timeout-seconds', '120', '--partitions-per-workflow', '100');
    // "pipeline" is the command's argument.
    expect(fields.filter((f) => f !== 'pipeline' && !(f in input))).toEqual([]);
    expect(input).toMatchObject({ heartbeatTimeoutSeconds: 120, partitionsPerWorkflow: 100, partitionBytes: 2 * 1024 ** 2, splitBytes: 4 * 1024 ** 2 });
    const help = addIngestInputOptions(new Command(), { sourceRequired: true }).helpInformation().replace(/\s+/g, ' ');
    expect(help).toContain('2mb, 2MB and 2MiB are all 2 MiB, 2097152 bytes');
    expect(() => parse('--heartbeat-timeout-seconds', '1')).toThrow('heartbeat-timeout-seconds must be an integer from 5 to 3600');
  });
});
