import { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT, TOOLS_DIR } from '../../config/paths';

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description(`install the embedded stack's tools (Temporal CLI, versitygw) into ${path.relative(process.cwd(), TOOLS_DIR) || '.'} (PARTFLOW_TOOLS_DIR), for \`partflow up\` and partflow/testing's startStack`)
    .action(() => {
      const r = spawnSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'setup-tools.sh')], {
        stdio: 'inherit', env: { ...process.env, PARTFLOW_TOOLS_DIR: TOOLS_DIR },
      });
      if (r.error) throw new Error(`cannot run scripts/setup-tools.sh: ${r.error.message}`);
      if (r.status !== 0) process.exit(r.status ?? 1);
      process.stdout.write(`tools are in ${path.join(TOOLS_DIR, 'bin')}\n`);
    });
}
