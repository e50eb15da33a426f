process.env.PARTFLOW_LOG_LEVEL ??= 'error';

import { ensureSearchAttributes, SearchAttributeOperator, SearchAttributesMissing } from '../../src/temporal/search-attributes';

// Indexed value types as the server reports them (temporal.api.enums.v1.IndexedValueType).
const TEXT = 1;
const KEYWORD = 2;
const INT = 3;
const ALL = { PartflowPipeline: KEYWORD, PartflowDataset: KEYWORD, PartflowStatus: KEYWORD, PartflowFailedPartitions: INT };

/** An operator service over a map; `add` decides what an add call does. */
function fakeOperator(have: Record<string, number>, add: (req: Record<string, number>) => void = (req) => Object.assign(have, req)) {
  const calls = { list: 0, add: [] as Record<string, number>[] };
  const op = {
    listSearchAttributes: async () => {
      calls.list++;
      return { customAttributes: { ...have }, systemAttributes: {}, storageSchema: {} };
    },
    addSearchAttributes: async (req: { searchAttributes: Record<string, number> }) => {
      calls.add.push(req.searchAttributes);
      add(req.searchAttributes);
      return {};
    },
  } as unknown as SearchAttributeOperator;
  return { op, calls };
}

describe('ensureSearchAttributes', () => {
  it('does nothing when the namespace has them all', async () => {
    const { op, calls } = fakeOperator({ ...ALL, Other: TEXT });
    await expect(ensureSearchAttributes(op, { namespace: 'ns' })).resolves.toEqual([]);
    expect(calls).toEqual({ list: 1, add: [] });
  });

  it('registers only the missing ones, with their types, and waits until they are visible', async () => {
    const have: Record<string, number> = { PartflowPipeline: KEYWORD };
    let pending: Record<string, number> = {};
    const { op, calls } = fakeOperator(have, (req) => { pending = req; });
    // Visible only from the third listing on, as an eventually consistent server would do.
    const list = op.listSearchAttributes.bind(op);
    (op as { listSearchAttributes: unknown }).listSearchAttributes = async (req: { namespace: string }) => {
      if (calls.list === 2) Object.assign(have, pending);
      return list(req);
    };
    await expect(ensureSearchAttributes(op, { namespace: 'ns' })).resolves.toEqual(['PartflowDataset', 'PartflowStatus', 'PartflowFailedPartitions']);
    expect(calls.add).toEqual([{ PartflowDataset: KEYWORD, PartflowStatus: KEYWORD, PartflowFailedPartitions: INT }]);
    expect(calls.list).toBe(3);
  });

  it('refuses, naming each missing attribute, its type and the command, when the server will not register them', async () => {
    const { op } = fakeOperator({ PartflowPipeline: KEYWORD, PartflowDataset: KEYWORD }, () => {
      throw Object.assign(new Error('7 PERMISSION_DENIED: Request unauthorized.'), { code: 7 });
    });
    const err = (await ensureSearchAttributes(op, { namespace: 'prod', address: 'temporal.example:7233' }).catch((e) => e)) as SearchAttributesMissing;
    expect(err).toBeInstanceOf(SearchAttributesMissing);
    expect(err.problems.map((p) => p.name)).toEqual(['PartflowStatus', 'PartflowFailedPartitions']);
    expect(err.message).toBe([
      'Temporal namespace "prod" at temporal.example:7233 lacks search attributes that partflow\'s ingest workflow sets (registering them failed: 7 PERMISSION_DENIED: Request unauthorized.):',
      '  PartflowStatus (Keyword): missing',
      '  PartflowFailedPartitions (Int): missing',
      'Without them every ingest would retry its first workflow task forever. Create them once, then start again:',
      '  temporal operator search-attribute create --name PartflowStatus --type Keyword --namespace prod --address temporal.example:7233',
      '  temporal operator search-attribute create --name PartflowFailedPartitions --type Int --namespace prod --address temporal.example:7233',
    ].join('\n'));
  });

  it('starts when a concurrent starter registered them first and this add fails', async () => {
    const have: Record<string, number> = {};
    const { op, calls } = fakeOperator(have, () => {
      Object.assign(have, ALL);
      throw Object.assign(new Error('6 ALREADY_EXISTS: Search attribute PartflowPipeline already exists.'), { code: 6 });
    });
    await expect(ensureSearchAttributes(op, { namespace: 'ns' })).resolves.toEqual([]);
    expect(calls.add).toHaveLength(1);
  });

  it('refuses without registering anything when one exists with another type', async () => {
    const { op, calls } = fakeOperator({ ...ALL, PartflowStatus: TEXT });
    const err = (await ensureSearchAttributes(op, { namespace: 'teamdata', address: 'temporal.internal:7233' }).catch((e) => e)) as Error;
    expect(err).toBeInstanceOf(SearchAttributesMissing);
    // Every command names the namespace (and the server): run as printed, it acts where the problem is, not on "default".
    expect(err.message).toContain('PartflowStatus (Keyword): registered as Text; remove it '
      + '(temporal operator search-attribute remove --name PartflowStatus --namespace teamdata --address temporal.internal:7233) before creating it');
    expect(err.message).toContain('temporal operator search-attribute create --name PartflowStatus --type Keyword --namespace teamdata --address temporal.internal:7233');
    for (const line of err.message.split('\n').filter((l) => l.includes('temporal operator'))) expect(line).toContain('--namespace teamdata');
    expect(calls.add).toEqual([]);
  });

  it("leaves out --address for the temporal CLI's own default server, never --namespace", async () => {
    const { op } = fakeOperator({ ...ALL, PartflowStatus: TEXT });
    const err = (await ensureSearchAttributes(op, { namespace: 'teamdata', address: '127.0.0.1:7233' }).catch((e) => e)) as Error;
    expect(err.message).toContain('(temporal operator search-attribute remove --name PartflowStatus --namespace teamdata) before creating it');
    expect(err.message.endsWith('\n  temporal operator search-attribute create --name PartflowStatus --type Keyword --namespace teamdata')).toBe(true);
  });

  it('gives up, bounded, when registered attributes never show up', async () => {
    const { op, calls } = fakeOperator({}, () => undefined);
    const err = (await ensureSearchAttributes(op, { namespace: 'ns', visibleWithinMs: 300 }).catch((e) => e)) as Error;
    expect(err.message).toContain('registered, but still not visible after 0.3s');
    expect(calls.add).toHaveLength(1);
    expect(calls.list).toBeLessThan(10);
  });

  it('goes on (with a warning) where the server will not even list them, as Temporal Cloud does', async () => {
    const op = {
      listSearchAttributes: async () => { throw Object.assign(new Error('7 PERMISSION_DENIED: Request unauthorized.'), { code: 7 }); },
      addSearchAttributes: async () => { throw new Error('not called'); },
    } as unknown as SearchAttributeOperator;
    await expect(ensureSearchAttributes(op, { namespace: 'ns' })).resolves.toEqual([]);
  });

  it('passes on other failures to list, such as an unreachable server', async () => {
    const op = {
      listSearchAttributes: async () => { throw Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: 14 }); },
      addSearchAttributes: async () => ({}),
    } as unknown as SearchAttributeOperator;
    await expect(ensureSearchAttributes(op, { namespace: 'ns' })).rejects.toThrow('14 UNAVAILABLE');
  });
});
