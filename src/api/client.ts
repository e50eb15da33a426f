import { Client, Connection, WorkflowHandle } from '@temporalio/client';
import { connectClient, startIngest as startIngestWorkflow } from '../client';
import { Config, loadConfig } from '../config';
import type { IngestSummary } from '../manifest/run';
import { ONLY_WAITING, refuseEnded } from '../client/run-ended';
import type { IngestInput } from '../pipeline/input';
// Types only: a client process never loads workflow code.
import type { PartitionsQuery, RetryRequest, RetryResult } from '../../workflows/ingest';
import type { PartitionState, Progress } from '../../workflows/state';

/** A running (or finished) ingest workflow. */
export class IngestRun {
  constructor(readonly handle: WorkflowHandle) {}

  get workflowId(): string {
    return this.handle.workflowId;
  }

  /** Waits for the run to end; a run with failed partitions ends `partial` after its wait-for-retry window. */
  result(): Promise<IngestSummary> {
    return this.handle.result() as Promise<IngestSummary>;
  }

  /** Per-stage counts of partitions and records, the phase, and the failures waiting for a retry. */
  progress(): Promise<Progress> {
    return this.handle.query<Progress>('progress');
  }

  /** One page of partitions, filtered by status and stage. */
  partitions(q: PartitionsQuery = {}): Promise<{ total: number; partitions: PartitionState[] }> {
    return this.handle.query<{ total: number; partitions: PartitionState[] }, [PartitionsQuery]>('partitions', q);
  }

  /** Runs failed partitions again (all of them, or those named), e.g. after fixing their cause. */
  retryFailed(req: RetryRequest = {}): Promise<RetryResult> {
    return this.handle.executeUpdate<RetryResult, [RetryRequest]>('retryFailed', { args: [req] })
      .catch((err: unknown) => refuseEnded(this.handle, err, 'only a running run takes a retry; start a new ingest of its input, which reuses every committed partition (as `partflow retry` does)'));
  }

  /**
   * Ends a run that waits for a retry now, as `partial`: it writes its run manifest and commits the
   * dataset snapshot with what succeeded. Refused (with the reason) unless the run is waiting;
   * a run that has closed is refused with a RunEndedError.
   */
  finishPartial(): Promise<{ failed: number }> {
    return this.handle.executeUpdate<{ failed: number }, []>('finishPartial')
      .catch((err: unknown) => refuseEnded(this.handle, err, ONLY_WAITING));
  }

  cancel(): Promise<void> {
    return this.handle.cancel().then(() => undefined);
  }
}

/** A connection to Temporal for starting and watching ingests. close() it when done. */
export class PartflowClient {
  constructor(readonly client: Client, readonly connection: Connection, readonly config: Config) {}

  /** Starts an ingest of `input.source` with `input.pipeline`; a worker with that pipeline runs it. */
  async startIngest(input: IngestInput, opts: { workflowId?: string } = {}): Promise<IngestRun> {
    return new IngestRun(await startIngestWorkflow(this.client, this.config, input, opts.workflowId));
  }

  /** An ingest started earlier, by workflow id. */
  getIngest(workflowId: string): IngestRun {
    return new IngestRun(this.client.workflow.getHandle(workflowId));
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/** Connects to Temporal as the configuration says (default: from the environment, see loadConfig). */
export async function connect(config: Config = loadConfig()): Promise<PartflowClient> {
  const { client, connection } = await connectClient(config);
  return new PartflowClient(client, connection, config);
}
