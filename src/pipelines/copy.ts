import { INHERIT_SCHEMA, PipelineDefinition } from '../pipeline/types';

/**
 * Passes every record through unchanged, into Avro. Use it to import flat files, to
 * repartition, or to recompress (set the codec).
 */
export const copyPipeline: PipelineDefinition = {
  name: 'copy',
  description: 'Pass records through unchanged into Avro (import, repartition, recompress).',
  stages: [{ name: 'copy', schema: INHERIT_SCHEMA, version: '1', transform: (r) => r }],
};
