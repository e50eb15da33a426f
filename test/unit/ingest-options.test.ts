import { Command } from 'commander';
import { addIngestInputOptions, ingestInputFromOptions } from '../../src/cli/ingest-options';

const parse = (...args: string[]) => {
  const cmd = addIngestInputOptions(new Command(), { sourceRequired: true }).exitOverride();
  cmd.parse(['--source', 's3://b/in/', ...args], { from: 'user' });
  return ingestInputFromOptions(cmd.opts());
};

describe('ingest options', () => {
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
});
