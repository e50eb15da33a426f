import { blockedByCancel } from '../../src/pipeline/blocked';

describe('blockedByCancel', () => {
  const stages = [{ name: 'a', after: ['raw'] }, { name: 'b', after: ['a'] }, { name: 'c', after: ['b'] }, { name: 'd', after: ['a', 'x'] }, { name: 'x', after: ['raw'] }];
  const of = (m: Record<string, string>) => (s: string) => m[s];

  it('finds the blocked stages no failure upstream explains, through chains of them', () => {
    expect([...blockedByCancel(stages, of({ raw: 'cancelled', b: 'blocked', c: 'blocked' }))]).toEqual(['b', 'c']);
    expect([...blockedByCancel(stages, of({ a: 'failed', b: 'blocked', c: 'blocked' }))]).toEqual([]);
    // One failed upstream of two is enough to call it blocked.
    expect([...blockedByCancel(stages.slice(0, 4), of({ a: 'done', x: 'failed', d: 'blocked' }))]).toEqual([]);
    expect([...blockedByCancel(stages.slice(0, 4), of({ a: 'done', d: 'blocked' }))]).toEqual(['d']);
  });
});
