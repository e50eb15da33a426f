import { stageDifferences } from '../../activities/stage-skew';
import type { StageInfo } from '../../src/pipeline/types';

const stage = (extra: Partial<StageInfo> = {}): StageInfo => ({
  name: 'map', after: ['raw'], version: '3', schemaRef: 'offer.v2', schemaFingerprint: 'a'.repeat(64), codec: 'snappy', lookups: [], ...extra,
});

describe('stageDifferences: what the planning worker and this worker define differently', () => {
  it('says nothing when the definitions agree, with or without schema extras', () => {
    expect(stageDifferences(stage(), stage())).toEqual([]);
    expect(stageDifferences(stage({ schemaExtras: 'e'.repeat(64) }), stage({ schemaExtras: 'e'.repeat(64) }))).toEqual([]);
  });

  it('names a version and a fingerprint that differ', () => {
    expect(stageDifferences(stage({ version: '2' }), stage())).toEqual(['version 3 here, 2 in the plan']);
    expect(stageDifferences(stage({ schemaFingerprint: 'b'.repeat(64) }), stage())).toEqual([`output schema offer.v2 ${'a'.repeat(12)} here, offer.v2 ${'b'.repeat(12)} in the plan`]);
  });

  it('names schemas that differ only beyond their canonical form (a default, an alias), which the fingerprint cannot tell', () => {
    expect(stageDifferences(stage(), stage({ schemaExtras: 'c'.repeat(64) }))).toEqual([
      `output schema offer.v2 says more beyond its canonical form (defaults, aliases, doc, logical types): extras ${'c'.repeat(12)} here, none in the plan`,
    ]);
    expect(stageDifferences(stage({ schemaExtras: 'd'.repeat(64) }), stage({ schemaExtras: 'c'.repeat(64) }))).toHaveLength(1);
  });

  it('says the planning worker had no such stage', () => {
    expect(stageDifferences(undefined, stage())).toEqual(['the planning worker had no such stage']);
  });
});
