import { PipelineDefinition } from '../pipeline/types';
import { birdstrikesPipeline } from './birdstrikes';
import { copyPipeline } from './copy';

/** The pipelines the stock worker registers. Add yours here, or pass them to createWorker(). */
export const builtinPipelines: PipelineDefinition[] = [copyPipeline, birdstrikesPipeline];
