import type { PipelineDefinition, SetupContext, StageDefinition, TransformContext } from '../pipeline/types';

/** What a typed stage's transform gets: the usual context, with its setup()'s state typed. */
export interface StageContext<State = unknown> extends Omit<TransformContext, 'state'> {
  state: State;
}

/**
 * A stage, typed: records of type `In` in, `Out` (or null/undefined to drop the record) out.
 * Throw to reject a record; throw a PartitionError to fail the whole partition attempt.
 */
export interface StageSpec<In, Out, State = unknown> extends Omit<StageDefinition, 'transform' | 'setup'> {
  transform: (record: In, ctx: StageContext<State>) => Out | null | undefined | Promise<Out | null | undefined>;
  setup?: (ctx: SetupContext) => State | Promise<State>;
}

declare const recordTypes: unique symbol;

/** A stage definition that remembers its record types (partflow/testing's runStage uses them). */
export type Stage<In = any, Out = any> = StageDefinition & { readonly [recordTypes]?: { in: In; out: Out } };

/** A pipeline: stages (typed with defineStage, or plain StageDefinitions) and their settings. */
export interface PipelineSpec extends Omit<PipelineDefinition, 'stages'> {
  stages: (Stage | StageDefinition)[];
}

/**
 * Defines a stage. The record types come from the transform's parameter and return type, or
 * are given: `defineStage<RawTrip, Trip>({ ... })`. Given types infer nothing else, so a stage
 * with a setup() names its state's type too, `defineStage<RawTrip, Trip, { rates: Map<string, number> }>`,
 * or `ctx.state` is `unknown`.
 */
export function defineStage<In = Record<string, unknown>, Out = Record<string, unknown>, State = unknown>(spec: StageSpec<In, Out, State>): Stage<In, Out> {
  // The typed context differs from TransformContext only in `state`, which setup() produced.
  return spec as unknown as Stage<In, Out>;
}

/**
 * Defines a pipeline. It is checked in full (stage DAG, schemas, lookups) when a worker
 * registers it, or when partflow/testing runs one of its stages.
 */
export function definePipeline(spec: PipelineSpec): PipelineDefinition {
  return spec as PipelineDefinition;
}
