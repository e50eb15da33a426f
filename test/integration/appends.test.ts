import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { IngestSummary, RunManifest } from '../../src/manifest/run';
import { builtinPipelines } from '../../src/pipelines';
import { s3Client } from '../../src/storage/client';
import { runCli } from '../helpers/cli';
import { runOf } from '../helpers/runs';
import { decodeUrl } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';

/**
 * A daily-appended CSV log, cut into chunks of 10 rows, ingested again after each append on the
 * real stack: the chunks before the appended rows keep their ids and are reused at every stage;
 * diff shows the chunk the rows filled up as changed and the chunks they added.
 */
const BUCKET = 'it-appends';
const DS = `s3://${BUCKET}/out/log/`;
let h: TestHarness;
let s3: S3Client;
const cli = (...args: string[]) => runCli(h.cfg, ...args);
const csv = (n: number) => `id,message\n${Array.from({ length: n }, (_, i) => `${i},"event ${i}${i % 7 ? '' : '\nwith a second line'}"`).join('\n')}\n`;

async function ingestRows(n: number, id: string): Promise<{ summary: IngestSummary; run: RunManifest }> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'logs/log.csv', Body: csv(n) }));
  const summary = (await h.client.workflow.execute('ingest', {
    taskQueue: h.cfg.taskQueue, workflowId: `${id}-${process.pid}`, workflowExecutionTimeout: '3m',
    args: [{ pipeline: 'copy', source: `s3://${BUCKET}/logs/`, target: `s3://${BUCKET}/out/`, dataset: 'log', partitionRecords: 10 }],
  })) as IngestSummary;
  return { summary, run: await runOf(s3, summary) };
}

/** Per stage, "name result" of each committed partition, in plan order. */
const results = (run: RunManifest) => Object.fromEntries(Object.entries(run.committed).map(([s, list]) => [s, list.map((p) => `${p.name} ${p.result}`)]));
const idsOf = (run: RunManifest, stage: string) => run.committed[stage].map((p) => p.partition);

async function diff(from: number, to: number): Promise<string[]> {
  const r = await cli('diff', DS, String(from), String(to), '--json');
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout).changes.map((c: { stage: string; change: string; name: string }) => `${c.stage} ${c.change} ${c.name}`);
}

beforeAll(async () => {
  h = await startHarness('appends', builtinPipelines, { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
});

afterAll(async () => {
  await h?.stop();
});

describe('rows appended to a cut CSV', () => {
  it('keep the earlier chunks\' ids and outputs; only the chunk they fill up and the ones they add are computed', async () => {
    const first = await ingestRows(25, 'append-1');
    expect(first.summary.snapshot?.number).toBe(1);
    expect(results(first.run)).toEqual({
      raw: ['log.csv#1/3 computed', 'log.csv#2/3 computed', 'log.csv#3/3 computed'],
      copy: ['log.csv#1/3 computed', 'log.csv#2/3 computed', 'log.csv#3/3 computed'],
    });

    // 12 more rows: chunk 3 fills up (5 -> 10 rows), chunk 4 is new.
    const second = await ingestRows(37, 'append-2');
    expect(second.summary.snapshot?.number).toBe(2);
    expect(results(second.run)).toEqual({
      raw: ['log.csv#1/4 reused', 'log.csv#2/4 reused', 'log.csv#3/4 computed', 'log.csv#4/4 computed'],
      copy: ['log.csv#1/4 reused', 'log.csv#2/4 reused', 'log.csv#3/4 computed', 'log.csv#4/4 computed'],
    });
    expect(second.summary.stages.raw).toMatchObject({ succeeded: 4, skipped: 2 });
    expect(second.summary.stages.copy).toMatchObject({ succeeded: 4, skipped: 2, records: { in: 37, out: 37 } });
    for (const stage of ['raw', 'copy']) {
      expect(idsOf(second.run, stage).slice(0, 3)).toEqual(idsOf(first.run, stage));
      expect(second.run.committed[stage].slice(0, 2).map((p) => p.output)).toEqual(first.run.committed[stage].slice(0, 2).map((p) => p.output));
    }
    expect(await diff(1, 2)).toEqual(['copy changed log.csv#3/4', 'copy added log.csv#4/4', 'raw changed log.csv#3/4', 'raw added log.csv#4/4']);
    // Every row once, in order, across the chunks.
    const rows: { id: string }[] = [];
    for (const p of second.run.committed.copy) rows.push(...((await decodeUrl(s3, p.output)) as { id: string }[]));
    expect(rows.map((r) => Number(r.id))).toEqual(Array.from({ length: 37 }, (_, i) => i));

    // 3 more fill chunk 4 exactly; then 5 more start chunk 5, and chunk 4, full, is left alone.
    const third = await ingestRows(40, 'append-3');
    expect(results(third.run).copy).toEqual(['log.csv#1/4 reused', 'log.csv#2/4 reused', 'log.csv#3/4 reused', 'log.csv#4/4 computed']);
    expect(await diff(2, 3)).toEqual(['copy changed log.csv#4/4', 'raw changed log.csv#4/4']);
    const fourth = await ingestRows(45, 'append-4');
    expect(results(fourth.run).copy).toEqual(['log.csv#1/5 reused', 'log.csv#2/5 reused', 'log.csv#3/5 reused', 'log.csv#4/5 reused', 'log.csv#5/5 computed']);
    expect(await diff(3, 4)).toEqual(['copy added log.csv#5/5', 'raw added log.csv#5/5']);
    expect(idsOf(fourth.run, 'copy').slice(0, 3)).toEqual(idsOf(first.run, 'copy'));

    // The first chunk's history follows it through every run by its id.
    const r = await cli('history', DS, '--partition', idsOf(first.run, 'copy')[0], '--json');
    expect(r.stderr).toBe('');
    const hist = (JSON.parse(r.stdout) as { stage: string; result: string; snapshot?: number; change?: string }[]).filter((e) => e.stage === 'copy');
    expect(hist.map((e) => (e.result === 'snapshot' ? `snapshot ${e.snapshot} ${e.change}` : e.result))).toEqual(['computed', 'snapshot 1 added', 'reused', 'reused', 'reused']);
  });
});
