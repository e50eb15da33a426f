import { Command, InvalidArgumentError } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../config/paths';

const TEMPLATE_DIR = path.join(PROJECT_ROOT, 'templates', 'init');
// npm never packs a file named .gitignore, so the template keeps it under another name.
const RENAMES: Record<string, string> = { gitignore: '.gitignore' };

function partflowVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** A pipeline and package name from a directory name: lower case, letters, digits, - and _. */
export function nameFromDir(dir: string): string {
  const n = path.basename(path.resolve(dir)).toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[^a-z]+/, '').slice(0, 63);
  return n || 'pipeline';
}

function pipelineName(v: string): string {
  if (!/^[a-z][a-z0-9_-]{0,62}$/.test(v)) throw new InvalidArgumentError('a pipeline name is a lower-case letter, then up to 62 of a-z, 0-9, _ and -');
  return v;
}

function copyTemplate(from: string, to: string, vars: Record<string, string>, written: string[]): void {
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, RENAMES[entry.name] ?? entry.name);
    if (entry.isDirectory()) {
      fs.mkdirSync(dst, { recursive: true });
      copyTemplate(src, dst, vars, written);
      continue;
    }
    let text = fs.readFileSync(src, 'utf8');
    for (const [k, v] of Object.entries(vars)) text = text.split(k).join(v);
    fs.writeFileSync(dst, text);
    written.push(dst);
  }
}

/**
 * The partflow dependency of a new project. partflow is not on the npm registry, so a range
 * there cannot install: by default the project depends on the partflow that runs init, when it
 * is a clone (an installed copy, inside node_modules, writes its own version). A path (to a
 * packed tarball or a clone) is made absolute, since npm reads a bare relative path as a GitHub
 * repository and a relative file: spec from the new project's folder, not from where init ran.
 */
export function dependencySpec(spec: string | undefined, cwd = process.cwd()): string {
  if (spec === undefined) {
    return PROJECT_ROOT.split(path.sep).includes('node_modules') ? `^${partflowVersion()}` : `file:${PROJECT_ROOT}`;
  }
  if (spec.startsWith('file:')) return spec;
  const local = path.resolve(cwd, spec);
  const looksLikePath = /^[./~]/.test(spec) || /\.(tgz|tar\.gz)$/.test(spec) || fs.existsSync(local);
  if (!looksLikePath) return spec;
  if (!fs.existsSync(local)) throw new Error(`--partflow-spec ${spec}: ${local} does not exist (give a packed partflow-<version>.tgz, a partflow clone, or a version range)`);
  return `file:${local}`;
}

export interface InitOptions {
  name?: string;
  partflowSpec?: string;
  force?: boolean;
}

/** Writes a pipeline project into dir; returns the files written. */
export function scaffold(dir: string, opts: InitOptions = {}): string[] {
  const target = path.resolve(dir);
  if (fs.existsSync(target)) {
    if (!fs.statSync(target).isDirectory()) throw new Error(`${target} exists and is not a directory`);
    const present = fs.readdirSync(target);
    if (present.length > 0 && !opts.force) {
      throw new Error(`${target} is not empty (${present.slice(0, 5).join(', ')}${present.length > 5 ? ', …' : ''}); choose an empty directory, or pass --force to write over files of the same names`);
    }
  }
  fs.mkdirSync(target, { recursive: true });
  const name = opts.name ?? nameFromDir(target);
  const spec = dependencySpec(opts.partflowSpec);
  const written: string[] = [];
  copyTemplate(TEMPLATE_DIR, target, { __PIPELINE__: name }, written);
  const pkg = {
    name, version: '0.1.0', private: true,
    description: `partflow pipelines: ${name}`,
    scripts: {
      build: 'tsc -p tsconfig.json',
      typecheck: 'tsc -p tsconfig.json --noEmit',
      test: 'node --import tsx --test test/pipelines.test.ts',
      worker: 'partflow worker --pipelines ./pipelines.ts',
      setup: 'partflow setup',
    },
    dependencies: { partflow: spec },
    devDependencies: { '@types/node': '^20.19.0', tsx: '^4.23.0', typescript: '^5.9.0' },
  };
  const pkgFile = path.join(target, 'package.json');
  fs.writeFileSync(pkgFile, JSON.stringify(pkg, null, 2) + '\n');
  written.push(pkgFile);
  return written;
}

export function registerInit(program: Command): void {
  program
    .command('init <dir>')
    .description('create a pipeline project in <dir>: package.json, pipelines.ts with an example stage, its schema, sample data (data/orders.jsonl), a unit test of the stage on that data as an ingest imports it, tsconfig and README')
    .option('--name <pipeline>', 'pipeline and package name (default: from the directory name)', pipelineName)
    .option('--partflow-spec <spec>', 'the partflow dependency to write into package.json: a tarball or clone path (made absolute), a file: spec, or a version range (default: this partflow: its clone as file:<path>, or ^<version> when installed)')
    .option('--force', 'write into a non-empty directory (files of the same names are replaced)')
    .action((dir: string, opts: InitOptions) => {
      const files = scaffold(dir, opts);
      const rel = path.relative(process.cwd(), path.resolve(dir)) || '.';
      const name = opts.name ?? nameFromDir(dir);
      // Its own task queue: a worker already on the default one (npm start's) does not know this pipeline, and would take half the runs.
      process.stdout.write(`created ${files.length} files in ${rel}\n\nnext:\n  cd ${rel}\n  npm install\n  npm test\n`
        + `  npx partflow upload ./data s3://partflow/${name}/\n`
        + `  PARTFLOW_TASK_QUEUE=${name} node node_modules/.bin/partflow worker --pipelines ./pipelines.ts &\n`
        + `  PARTFLOW_TASK_QUEUE=${name} npx partflow ingest ${name} --source s3://partflow/${name}/ --wait\n`
        + `(the worker has a task queue of its own: one on the default queue, as \`npm start\` runs, does not know this pipeline)\n`);
    });
}
