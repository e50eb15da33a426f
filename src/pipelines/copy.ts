import { INHERIT_SCHEMA, passThrough, PipelineDefinition } from '../pipeline/types';

/**
 * Passes every record through unchanged, into Avro. Use it to import flat files, to
 * repartition, or to recompress (set the codec).
 */
export const copyPipeline: PipelineDefinition = {
  name: 'copy',
  description: 'Pass records through unchanged into Avro (import, repartition, recompress).',
  // Version 2 keeps null records, which version 1 counted as dropped: its outputs are recomputed.
  stages: [{ name: 'copy', schema: INHERIT_SCHEMA, version: '2', transform: passThrough }],
};
