import { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT, TOOLS_DIR } from '../../config/paths';

export interface SetupOptions {
  kafka?: boolean;
  spark?: boolean;
  test?: boolean;
}

/**
 * The runs of scripts/setup-tools.sh the options ask for: it takes one mode at a time, each on
 * top of the stack's tools (installed once, kept after). `--test` installs the Kafka jars too.
 */
export function setupModes(o: SetupOptions): string[] {
  const modes = [...(o.test ? ['--test'] : []), ...(o.kafka && !o.test ? ['--kafka'] : []), ...(o.spark ? ['--spark'] : [])];
  return modes.length ? modes : [''];
}

export function registerSetup(program: Command): void {
  program
    .command('setup')
    // Absolute: a path relative to wherever the help was asked from reads as nonsense (../../work/x/.tools).
    .description(`install the embedded stack's tools (Temporal CLI, versitygw) into ${path.resolve(TOOLS_DIR)} (PARTFLOW_TOOLS_DIR), for \`partflow up\` and partflow/testing's startStack`)
    .option('--kafka', 'also the Apache Kafka broker\'s jars, for `partflow up --kafka` (needs Java 17+ and Maven)')
    .option('--spark', 'also PySpark in a venv and the spark-avro jar (the benchmark\'s Spark comparison; needs Java 17+, Maven, python3-venv)')
    .option('--test', 'also what partflow\'s own tests use: fastavro, the Avro Java tools, Debian\'s chromium, the Kafka jars')
    .action((o: SetupOptions) => {
      for (const mode of setupModes(o)) {
        const r = spawnSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'setup-tools.sh'), ...(mode ? [mode] : [])], {
          stdio: 'inherit', env: { ...process.env, PARTFLOW_TOOLS_DIR: TOOLS_DIR },
        });
        if (r.error) throw new Error(`cannot run scripts/setup-tools.sh: ${r.error.message}`);
        if (r.status !== 0) process.exit(r.status ?? 1);
      }
      process.stdout.write(`tools are in ${path.join(TOOLS_DIR, 'bin')}\n`);
    });
}
