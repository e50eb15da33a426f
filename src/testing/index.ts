/**
 * partflow/testing: unit-test a stage with no servers (runStage), and start the embedded
 * stack for integration tests (startStack).
 */
export { runStage } from './run-stage';
export type { RunStageOptions, RunStageResult, StageReject } from './run-stage';
export { startStack } from './stack';
export type { StartStackOptions, TestStack } from './stack';
