import { Command, InvalidArgumentError } from 'commander';
import { checkSchemas, COMPAT_MODES, CompatMode } from '../../avro/compat';
import { listSchemaNames, SCHEMAS_DIR } from '../../avro/schemas';

export function registerSchemas(program: Command): void {
  const schemas = program.command('schemas').description('record schemas in schemas/');
  schemas
    .command('check')
    .description('check that every schema version is compatible with all earlier ones (as a schema registry would)')
    .option('--mode <mode>', 'backward, forward or full', 'backward')
    .option('--dir <dir>', 'schema directory', SCHEMAS_DIR)
    .action((o: { mode: string; dir: string }) => {
      if (!(COMPAT_MODES as readonly string[]).includes(o.mode)) throw new InvalidArgumentError('--mode must be backward, forward or full');
      const results = checkSchemas(o.dir, o.mode as CompatMode);
      let bad = 0;
      for (const r of results) {
        if (r.problems.length) {
          bad++;
          for (const p of r.problems) process.stdout.write(`INCOMPATIBLE ${r.name} v${r.version} vs v${r.against}: ${p}\n`);
        } else process.stdout.write(`ok ${r.name} v${r.version} vs v${r.against} (${o.mode})\n`);
      }
      process.stdout.write(`${listSchemaNames(o.dir).length} schemas, ${results.length} checks, ${bad} incompatible\n`);
      if (bad) process.exitCode = 1;
    });
}
