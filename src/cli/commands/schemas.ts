import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { checkSchemas, COMPAT_MODES, CompatMode } from '../../avro/compat';
import { listSchemaNames } from '../../avro/schemas';
import { counted } from '../../log/shown';

export function registerSchemas(program: Command): void {
  const schemas = program.command('schemas').description('record schemas in schemas/');
  schemas
    .command('check')
    .description('check that every schema version is compatible with all earlier ones (as a schema registry would)')
    .option('--mode <mode>', 'backward, forward or full', 'backward')
    // The project's schemas are where the command runs, as for `worker --pipelines`: partflow's
    // own folder, the default before, passed a project's incompatible schemas unchecked.
    .option('--dir <dir>', 'schema directory (default: schemas/ in the current directory)')
    .action((o: { mode: string; dir?: string }) => {
      if (!(COMPAT_MODES as readonly string[]).includes(o.mode)) throw new InvalidArgumentError('--mode must be backward, forward or full');
      const dir = path.resolve(o.dir ?? 'schemas');
      if (!fs.existsSync(dir)) throw new InvalidArgumentError(`no schema directory ${dir}${o.dir ? '' : ': run this in your project\'s folder, which holds schemas/, or give --dir'}`);
      const results = checkSchemas(dir, o.mode as CompatMode);
      let bad = 0;
      for (const r of results) {
        if (r.problems.length) {
          bad++;
          for (const p of r.problems) process.stdout.write(`INCOMPATIBLE ${r.name} v${r.version} vs v${r.against}: ${p}\n`);
        } else process.stdout.write(`ok ${r.name} v${r.version} vs v${r.against} (${o.mode})\n`);
      }
      process.stdout.write(`${counted(listSchemaNames(dir).length, 'schema')} in ${dir}, ${counted(results.length, 'check')}, ${bad} incompatible\n`);
      if (bad) process.exitCode = 1;
    });
}
