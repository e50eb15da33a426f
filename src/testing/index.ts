/**
 * partflow/testing: unit-test a stage with no servers (runStage), on the records an ingest
 * imports from a flat file (rawRecords), and start the embedded stack for integration tests
 * (startStack).
 */
export { runStage } from './run-stage';
export type { RunStageOptions, RunStageResult, StageReject } from './run-stage';
export { rawRecords } from './raw-records';
export type { RawRecords, RawRecordsOptions } from './raw-records';
export { startStack } from './stack';
export type { StartStackOptions, TestStack } from './stack';
