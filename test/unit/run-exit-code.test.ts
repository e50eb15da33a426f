import { EXIT_NO_SNAPSHOT, EXIT_PARTIAL, runExitCode } from '../../src/cli/exit';
import { buildProgram } from '../../src/cli/program';

describe('the exit code of a command that waited on a run', () => {
  it('is 0 only for a run that completed and committed its snapshot', () => {
    expect(runExitCode({ status: 'completed' })).toBe(0);
    expect(runExitCode({ status: 'completed', snapshotError: 'no snapshot: _snapshots/00000002.json is not valid JSON' })).toBe(EXIT_NO_SNAPSHOT);
    expect(runExitCode({ status: 'partial' })).toBe(EXIT_PARTIAL);
    expect(runExitCode({ status: 'partial', snapshotError: 'x' })).toBe(EXIT_PARTIAL);
    expect(runExitCode({ status: 'waiting-for-retry' })).toBe(EXIT_PARTIAL);
    expect([EXIT_PARTIAL, EXIT_NO_SNAPSHOT]).toEqual([3, 4]);
  });

  it('is documented in --help of partflow and of the commands that wait', () => {
    const program = buildProgram();
    let help = '';
    program.configureOutput({ writeOut: (s) => (help += s) });
    program.outputHelp();
    expect(help).toMatch(/Exit codes: 0 done; 1 .*\n.*\n.*and 4 for a run that completed but committed no snapshot/);
    for (const name of ['ingest', 'retry', 'finish']) {
      let text = '';
      const cmd = program.commands.find((c) => c.name() === name)!;
      cmd.configureOutput({ writeOut: (s) => (text += s) });
      cmd.outputHelp();
      expect(text).toMatch(/4 it completed but committed no snapshot/);
    }
  });
});
