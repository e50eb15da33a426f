import { buildProgram } from './program';
import { failureOf } from './exit';

// `partflow cat … | head`: the reader went away, which is not an error of the command.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

buildProgram().parseAsync(process.argv).then(() => {
  // A finished command does not linger on requests it gave up on (an S3 endpoint that never
  // answers, say): a script's `id=$(partflow ingest …)` would wait minutes. Commands that run
  // until stopped (worker, up) finish only when stopped. The clock starts once all it printed is
  // out: a slow reader of a pipe (`partflow cat … | script`) got only what it took in 2 s.
  process.stdout.write('', () => setTimeout(() => process.exit(process.exitCode ?? 0), 2_000).unref());
}, (e: unknown) => {
  const f = failureOf(e);
  // Exit once the message is out: a pipe takes 64 KiB at a time, and exiting at once cuts a long one.
  process.stderr.write(`partflow: ${f.message}\n`, () => process.exit(f.code));
});
