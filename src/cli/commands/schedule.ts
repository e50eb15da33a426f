import { Command } from 'commander';
import { Client } from '@temporalio/client';
import { Config } from '../../config';
import { cliConfig } from '../config';
import { connectClient } from '../../client';
import { IngestInput } from '../../pipeline/input';
import {
  BACKFILL_OVERLAP, backfillPeriod, checkInput, createSchedule, describeSchedule, describeTrigger, durationOption, OVERLAP_POLICIES, overlapPolicy, scheduleInput,
  ScheduleOptionError, scheduleRuns, scheduleSpec, specChanges, TRIGGER_WATCH_MS, triggerAndWatch, updateSchedule, withSchedule, SchedulePolicies,
} from '../../schedules';
import { int, refuseEmptyOptions } from '../args';
import { addIngestInputOptions, ingestInputFromOptions } from '../ingest-options';
import { backfill } from '../schedule-backfill';
import { printList, printSchedule } from '../schedule-print';

const OVERLAP_HELP = `what a firing does while the previous run still runs: ${Object.keys(OVERLAP_POLICIES).join(', ')}`;

/** Connects, runs fn, and closes the connection however fn ends. */
async function withClient(fn: (client: Client, cfg: Config) => Promise<void>): Promise<void> {
  const cfg = cliConfig();
  const { client, connection } = await connectClient(cfg);
  try {
    await fn(client, cfg);
  } finally {
    await connection.close();
  }
}

function addTimingOptions(cmd: Command): Command {
  return cmd
    .option('--cron <expr>', "when to run, a cron expression: minute hour day-of-month month day-of-week, e.g. '0 2 * * *' (02:00 daily); or @daily, @hourly")
    .option('--every <interval>', 'or run at a fixed interval: 30s, 10m, 6h, 1d (aligned to the Unix epoch)')
    .option('--timezone <zone>', 'IANA time zone the cron expression is read in, e.g. Europe/Paris (default UTC)')
    .option('--jitter <duration>', 'start each run up to this much later, at random, e.g. 5m, to spread load (default 0)')
    .option('--catchup-window <duration>', 'after Temporal was down, still start missed runs up to this late, e.g. 1h (Temporal\'s default: 1 year)')
    .option('--note <text>', 'a note shown with the schedule (the reason it is paused, an owner, …)');
}

function policiesOf(o: Record<string, unknown>): SchedulePolicies {
  return {
    ...(o.overlap !== undefined ? { overlap: overlapPolicy(o.overlap as string) } : {}),
    ...(o.catchupWindow !== undefined ? { catchupWindowMs: durationOption('catchup-window', o.catchupWindow as string, 10_000) } : {}),
    ...(o.pauseOnFailure !== undefined ? { pauseOnFailure: o.pauseOnFailure as boolean } : {}),
  };
}

export function registerSchedule(program: Command): void {
  const schedule = program
    .command('schedule')
    .description('run ingests on a Temporal Schedule (nightly reprocessing): create, list, describe, pause, unpause, trigger, backfill, update, delete')
    .addHelpText('after', `
Each firing starts an ordinary, incremental ingest on this task queue (PARTFLOW_TASK_QUEUE), with
workflow id <schedule id>-<firing time>. The schedules are Temporal Schedules: they show on the
Temporal UI's Schedules page and work with \`temporal schedule …\` too.

Example:
  partflow schedule create nightly-birdstrikes --pipeline birdstrikes \\
    --source s3://partflow/incoming/birdstrikes/ --cron '0 2 * * *' --timezone Europe/Paris`);

  const create = schedule
    .command('create <id>')
    .description('create a schedule that starts an ingest of --pipeline at --cron or --every times')
    .requiredOption('--pipeline <name>', 'pipeline the runs ingest with (one the workers register)');
  addIngestInputOptions(create, { sourceRequired: true });
  addTimingOptions(create)
    .option('--overlap <policy>', OVERLAP_HELP, 'skip')
    .option('--pause-on-failure', 'pause the schedule when a run fails (a partial run, with failed partitions, is not a failure)')
    .option('--paused', 'create it paused')
    .action((id: string, o: Record<string, unknown>) => withClient(async (client, cfg) => {
      refuseEmptyOptions(o, ['note']);
      const input = { pipeline: o.pipeline as string, ...ingestInputFromOptions(o) } as IngestInput;
      const spec = scheduleSpec(o);
      await createSchedule(client, cfg, { id, input, spec, policies: policiesOf(o), note: o.note as string | undefined, paused: Boolean(o.paused) });
      process.stdout.write(`created schedule ${id}\n`);
      printSchedule(await describeSchedule(client, id), [], { next: 3 });
    }));

  schedule
    .command('list')
    .description('list the namespace\'s schedules with their times, state and last run')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => withClient(async (client) => {
      const all = [];
      for await (const s of client.schedule.list()) all.push(s);
      printList(all, Boolean(o.json));
    }));

  schedule
    .command('describe <id>')
    .description('a schedule\'s times, policies and ingest input, its next run times, and its recent runs with their results')
    .option('--next <n>', 'how many next run times to show (Temporal gives up to 10)', int('next', 0, 10), 5)
    .option('--json', 'print JSON')
    .action((id: string, o: { next: number; json?: boolean }) => withClient(async (client) => {
      const d = await describeSchedule(client, id);
      const runs = await scheduleRuns(client, d);
      printSchedule(d, runs, { next: o.next, json: o.json });
    }));

  schedule
    .command('pause <id>')
    .description('stop starting runs at the schedule\'s times until unpaused (a running run goes on, and so does a backfill: only delete stops one)')
    .option('--note <text>', 'why: it replaces the schedule\'s note (Temporal keeps one); without it the note stays')
    .action((id: string, o: { note?: string }) => withClient(async (client) => {
      const d = await describeSchedule(client, id);
      if (d.state.paused && o.note === undefined) {
        process.stdout.write(`${id} is already paused${d.state.note ? `: ${d.state.note}` : ''}\n`);
        return;
      }
      const note = o.note ?? d.state.note ?? 'paused with partflow schedule pause';
      await withSchedule(client, id, (h) => h.pause(note));
      process.stdout.write(`paused ${id}: ${note}\n`);
    }));

  schedule
    .command('unpause <id>')
    .description('start runs again at the schedule\'s times')
    .option('--note <text>', 'why: it replaces the schedule\'s note (Temporal keeps one); without it the note stays')
    .action((id: string, o: { note?: string }) => withClient(async (client) => {
      const d = await describeSchedule(client, id);
      if (!d.state.paused && o.note === undefined) {
        process.stdout.write(`${id} is not paused\n`);
        return;
      }
      const note = o.note ?? d.state.note ?? 'unpaused with partflow schedule unpause';
      await withSchedule(client, id, (h) => h.unpause(note));
      process.stdout.write(`unpaused ${id}${note ? `: ${note}` : ''}\n`);
    }));

  schedule
    .command('trigger <id>')
    .description('start a run now, outside the schedule\'s times (works while paused)')
    .option('--overlap <policy>', `${OVERLAP_HELP} (default: the schedule's)`)
    .addHelpText('after', `
Then watches the schedule for up to ${TRIGGER_WATCH_MS / 1000} seconds and says what Temporal made of the firing: the run
it started (and, with terminate-other, the run it terminated), or that it waits for the run that
is going (buffer-one, buffer-all, cancel-other). A
firing skipped for overlap (a run is still going, overlap skip) starts nothing: that is said, with
the run that is going, and the command exits 1.`)
    .action((id: string, o: { overlap?: string }) => withClient(async (client) => {
      const overlap = o.overlap ? overlapPolicy(o.overlap) : undefined;
      const outcome = await withSchedule(client, id, () => triggerAndWatch(client, id, () => describeSchedule(client, id), overlap));
      const { text, skipped } = describeTrigger(id, outcome);
      if (skipped) throw new Error(text);
      process.stdout.write(`${text}\n`);
    }));

  schedule
    .command('backfill <id>')
    .description('start the runs the schedule would have started from --from to --to (both included), now')
    .requiredOption('--from <time>', 'start of the period, an ISO date or time, UTC unless it gives an offset (2026-11-01, 2026-11-01T02:00:00Z, 2026-11-01T03:00+01:00)')
    .requiredOption('--to <time>', 'end of the period, an ISO date or time (a date alone is its 00:00 UTC); not in the future')
    .option('--overlap <policy>', `what the period's firings, which all come at once, do while another run still runs: ${Object.keys(OVERLAP_POLICIES).join(', ')} (below; not the schedule's own)`, 'buffer-all')
    .addHelpText('after', `
Prints how many firings the period holds, then what Temporal made of them: started, skipped for
overlap, or waiting to run. A --to in the future is refused: a backfill is for firings that have
passed. Temporal takes the period's firings a batch at a time, and a firing overlaps only if a run
of the schedule is going when its batch comes. Overlap policies, for a backfill:
${Object.entries(BACKFILL_OVERLAP).map(([k, v]) => `  ${k.padEnd(16)}${v}`).join('\n')}

Pausing the schedule does not stop a backfill (Temporal starts backfilled firings as it starts a
trigger, paused or not). Only deleting the schedule drops the firings not yet started; the runs
already started go on (cancel them with \`temporal workflow cancel\`), and create it again after.

Each run ingests the source as it is now: a firing's time only names the run (<id>-<time>), so
after the first run, the others find every partition committed and reuse them. To catch up after a
pause, one run is enough: \`partflow schedule trigger <id>\`.`)
    .action((id: string, o: { from: string; to: string; overlap: string }) => withClient(async (client) => {
      const { start, end } = backfillPeriod(o.from, o.to);
      await backfill(client, id, start, end, overlapPolicy(o.overlap));
    }));

  const update = schedule
    .command('update <id>')
    .description('change a schedule\'s times, policies or ingest input; what is not given stays as it is (--param replaces all parameters)')
    .option('--pipeline <name>', 'pipeline the runs ingest with');
  addIngestInputOptions(update, { sourceRequired: false });
  addTimingOptions(update)
    .option('--overlap <policy>', OVERLAP_HELP)
    .option('--pause-on-failure', 'pause the schedule when a run fails')
    .option('--no-pause-on-failure', 'keep firing after a failed run')
    .action((id: string, o: Record<string, unknown>) => withClient(async (client, cfg) => {
      // An empty --note clears the note; any other empty value is a mistake, not "keep it".
      refuseEmptyOptions(o, ['note']);
      const spec = specChanges(o);
      const changesInput = Boolean(o.pipeline) || Object.keys(ingestInputFromOptions(o)).length > 0;
      let input: IngestInput | undefined;
      if (changesInput) {
        const prev = scheduleInput(await describeSchedule(client, id));
        input = { ...prev, ...ingestInputFromOptions(o), ...(o.pipeline ? { pipeline: o.pipeline as string } : {}) } as IngestInput;
        checkInput(id, input);
      }
      const policies = policiesOf(o);
      const given = Object.keys(spec).length + Object.keys(policies).length + (input ? 1 : 0) + (o.note !== undefined ? 1 : 0);
      if (!given) throw new ScheduleOptionError(`nothing to change: give the options to change (\`partflow schedule update --help\`)`);
      await updateSchedule(client, cfg, id, { spec: Object.keys(spec).length ? spec : undefined, input, policies, note: o.note as string | undefined });
      process.stdout.write(`updated schedule ${id}\n`);
      printSchedule(await describeSchedule(client, id), [], { next: 3 });
    }));

  schedule
    .command('delete <id>')
    .description('delete a schedule (its runs, running or done, are left as they are)')
    .action((id: string) => withClient(async (client) => {
      await withSchedule(client, id, (h) => h.delete());
      process.stdout.write(`deleted schedule ${id}\n`);
    }));
}
