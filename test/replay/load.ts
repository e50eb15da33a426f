import fs from 'node:fs';
import path from 'node:path';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

export const HISTORIES_DIR = path.join(__dirname, 'histories');

/*
 * historyFromJSON (@temporalio/common) cannot read them here: with this lockfile @temporalio/common
 * and @temporalio/proto each get their own copy of protobufjs 8, and protojson of one rejects the
 * types of the other ("type must be a Type"). So parse with the copy @temporalio/proto uses.
 * The files are what `temporal workflow show --output json` writes: canonical proto JSON.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [path.dirname(require.resolve('@temporalio/proto/package.json'))] })) as {
  fromJson(type: unknown, json: unknown, opts?: object): unknown;
};
const historyType = (patchProtobufRoot(proto as unknown as Record<string, unknown>) as unknown as { lookupType(n: string): unknown })
  .lookupType('temporal.api.history.v1.History');

/**
 * Every recorded history under dir (test/replay/histories/, older releases' in subfolders), with
 * the workflow id its file name carries ('/' written '+'), ready for Worker.runReplayHistories.
 */
export function recordedHistories(dir = HISTORIES_DIR): (HistoryAndWorkflowId & { file: string })[] {
  const files = (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.json')).sort();
  return files.map((f) => {
    const json = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as unknown;
    const history = protojson.fromJson(historyType, json, { ignoreUnknownFields: true });
    if (!history) throw new Error(`${f}: not a workflow history`);
    return { file: f, workflowId: path.basename(f, '.json').replace(/\+/g, '/'), history: history as HistoryAndWorkflowId['history'] };
  });
}
