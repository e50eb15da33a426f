import type { WorkflowHandle } from '@temporalio/client';
import { waitWithProgress } from '../../src/client/wait';
import { unreachableCause, withoutEmptyResolutionNote } from '../../src/temporal/unreachable';
import { failureOf } from '../../src/cli/exit';

/** As @temporalio/client rejects when the server is down: a ServiceError whose cause is grpc-js's (status 14). */
function unavailable(): Error {
  const grpc = Object.assign(new Error('14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7600. Resolution note: '), {
    code: 14, details: 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7600. Resolution note: ', metadata: {},
  });
  return Object.assign(new Error(`Failed to get Workflow execution history: ${grpc.message}`), { name: 'ServiceError', cause: grpc });
}

const SUMMARY = { status: 'completed', dataset: 'sig3' };
const PROGRESS = { phase: 'running', stages: { raw: { done: 1, total: 2, failed: 0, blocked: 0, records: { out: 5 } } }, failed: [] };

/** A handle on a run whose Temporal is down for `outages` spells, each `probesDown` probes long. */
function fakeRun(o: { rejections: number; probesDown: number; failWith?: Error }) {
  let results = 0;
  let probes = 0;
  let down = false;
  const handle = {
    workflowId: 'run-sig3',
    result: async () => {
      results++;
      if (o.failWith) throw o.failWith;
      if (results <= o.rejections) {
        down = true;
        probes = 0;
        throw unavailable();
      }
      await new Promise((r) => setTimeout(r, 30));
      return SUMMARY;
    },
    query: async () => {
      if (down) throw unavailable();
      return PROGRESS;
    },
    describe: async () => ({ taskQueue: 'partflow' }),
    client: { connection: { withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn() } },
  } as unknown as WorkflowHandle;
  const probe = async () => {
    if (down && ++probes <= o.probesDown) throw unavailable();
    down = false;
  };
  return { handle, probe, calls: () => results };
}

function sink() {
  const out = { text: '', isTTY: false, write(s: string) { out.text += s; return true; } };
  return out;
}

describe('waitWithProgress while Temporal is out of reach', () => {
  it('keeps waiting with backoff, says when contact is lost and back, and returns the run\'s result', async () => {
    const run = fakeRun({ rejections: 3, probesDown: 2 });
    const out = sink();
    const r = await waitWithProgress(run.handle, out as unknown as NodeJS.WriteStream, { address: '127.0.0.1:7600', retry: { firstMs: 5, maxMs: 20 }, probe: run.probe });
    expect(r).toEqual(SUMMARY);
    expect(run.calls()).toBe(4);
    const lost = out.text.split('\n').filter((l) => l.startsWith('lost contact'));
    expect(lost).toHaveLength(3);
    expect(lost[0]).toBe('lost contact with Temporal at 127.0.0.1:7600: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7600; '
      + 'the run goes on in Temporal; still waiting (Ctrl-C to stop; partflow status run-sig3 later)');
    expect(out.text.split('\n').filter((l) => l.startsWith('back in contact with Temporal at 127.0.0.1:7600'))).toHaveLength(3);
    expect(out.text).not.toContain('Resolution note');
  });

  it('fails at once on a real failure of the run', async () => {
    const failed = Object.assign(new Error('Workflow execution failed'), { name: 'WorkflowFailedError' });
    const run = fakeRun({ rejections: 0, probesDown: 0, failWith: failed });
    const out = sink();
    const started = Date.now();
    await expect(waitWithProgress(run.handle, out as unknown as NodeJS.WriteStream, { address: 'x', retry: { firstMs: 5, maxMs: 20 }, probe: run.probe })).rejects.toBe(failed);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(out.text).not.toContain('lost contact');
  });
});

describe('unreachableCause', () => {
  it('finds UNAVAILABLE and DEADLINE_EXCEEDED down the cause chain, and nothing else', () => {
    expect(unreachableCause(unavailable())).toBe('No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7600');
    const deadline = { code: 4, details: 'Deadline exceeded', metadata: {} };
    expect(unreachableCause(deadline)).toBe('Deadline exceeded');
    expect(unreachableCause(deadline, { deadline: false })).toBeUndefined();
    expect(unreachableCause({ code: 5, details: 'workflow not found', metadata: {} })).toBeUndefined();
    expect(unreachableCause(new Error('Workflow execution failed'))).toBeUndefined();
  });

  it('leaves out an empty resolution note, in the CLI\'s last line too', () => {
    expect(withoutEmptyResolutionNote('Last error: x. Resolution note: ')).toBe('Last error: x');
    expect(withoutEmptyResolutionNote('Resolution note: dns said no')).toBe('Resolution note: dns said no');
    expect(failureOf(unavailable()).message).not.toContain('Resolution note');
  });
});
