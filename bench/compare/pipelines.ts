/**
 * The bench-only pipeline the compare benchmark registers on its worker
 * (`partflow worker --pipelines dist/bench/compare/pipelines.js`): cleanOffer as a partflow stage.
 */
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths';
import { PipelineDefinition } from '../../src/pipeline/types';
import { cleanOffer } from './data';

export const pipelines: PipelineDefinition[] = [{
  name: 'bench-clean',
  description: 'compare benchmark: trim and type raw offers (drop blank titles, reject bad prices and dates)',
  schemasDir: path.join(PROJECT_ROOT, 'bench', 'compare', 'schemas'),
  stages: [{ name: 'clean', schema: 'bench_offer_clean@1', version: '1', transform: (r) => cleanOffer(r) }],
}];
