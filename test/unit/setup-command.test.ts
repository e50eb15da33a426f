import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildProgram } from '../../src/cli/program';
import { setupModes } from '../../src/cli/commands/setup';
import { PROJECT_ROOT, TOOLS_DIR } from '../../src/config/paths';

/**
 * An installed package's user has `npx partflow setup`, not a path into node_modules: what the
 * docs and messages send them to must be an option of it, and it must run the script's modes.
 */
describe('partflow setup', () => {
  const help = (cmd: string) => buildProgram().commands.find((c) => c.name() === cmd)!.helpInformation();

  it('takes the modes of scripts/setup-tools.sh as options', () => {
    const script = fs.readFileSync(path.join(PROJECT_ROOT, 'scripts', 'setup-tools.sh'), 'utf8');
    const modes = /case "\$MODE" in ""\|([^)]*)\)/.exec(script)![1].split('|');
    expect(modes.sort()).toEqual(['--kafka', '--spark', '--test']);
    for (const m of modes) expect(help('setup')).toContain(m);
    expect(setupModes({})).toEqual(['']);
    expect(setupModes({ kafka: true })).toEqual(['--kafka']);
    // --test installs the Kafka jars too; the script takes one mode per run.
    expect(setupModes({ kafka: true, test: true, spark: true })).toEqual(['--test', '--spark']);
  });

  it('names the tools folder by its absolute path in the help, from whatever directory it is asked', () => {
    const cwd = process.cwd();
    process.chdir(os.tmpdir());
    try {
      const program = buildProgram();
      const setup = program.commands.find((c) => c.name() === 'setup')!;
      expect(setup.description()).toContain(`into ${path.resolve(TOOLS_DIR)} (PARTFLOW_TOOLS_DIR)`);
      expect(program.helpInformation()).toContain(`into ${path.resolve(TOOLS_DIR)} (PARTFLOW_TOOLS_DIR)`);
    } finally {
      process.chdir(cwd);
    }
  });

  it('is what `up --help` and the missing-jars error point to, not a script inside the package', () => {
    expect(help('up').replace(/\s+/g, ' ')).toContain('npx partflow setup --kafka');
    expect(help('up')).not.toContain('setup-tools.sh');
    const saved = process.env.PARTFLOW_KAFKA_LIBS;
    process.env.PARTFLOW_KAFKA_LIBS = path.join(PROJECT_ROOT, 'no-such-dir');
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { kafkaLibs } = require('../../src/stack/kafka') as typeof import('../../src/stack/kafka');
      expect(() => kafkaLibs()).toThrow(/run `npx partflow setup --kafka`/);
    } finally {
      if (saved === undefined) delete process.env.PARTFLOW_KAFKA_LIBS; else process.env.PARTFLOW_KAFKA_LIBS = saved;
    }
  });
});
