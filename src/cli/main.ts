import { buildProgram } from './program';
import { failureOf } from './exit';

// `partflow cat … | head`: the reader went away, which is not an error of the command.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

buildProgram().parseAsync(process.argv).catch((e: unknown) => {
  const f = failureOf(e);
  // Exit once the message is out: a pipe takes 64 KiB at a time, and exiting at once cuts a long one.
  process.stderr.write(`partflow: ${f.message}\n`, () => process.exit(f.code));
});
