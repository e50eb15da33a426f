import { enclosingFolders } from '../../src/pipeline/nested-dataset';
import { consumerKey } from '../../src/snapshots/layout';
import { categoryOf, insideAny, nestedDatasets, ORDER, supersededWithinGrace } from '../../src/snapshots/retention-keep';

const H = 3_600_000;

describe('which superseded snapshots gc keeps for consumers', () => {
  const times: Record<number, number> = { 1: 0, 2: 10 * H, 4: 20 * H, 7: 30 * H };
  const reads: number[] = [];
  const at = async (n: number) => {
    reads.push(n);
    return times[n];
  };

  it('keeps each snapshot whose successor was committed less than the grace period ago, judged by commit times', async () => {
    reads.length = 0;
    // now = 31h, grace 12h: 7 (at 30h) supersedes 4, 4 (at 20h) supersedes 2; 2 (at 10h) is 21h ago.
    expect(await supersededWithinGrace([1, 2, 4, 7], at, 31 * H, 12 * H)).toEqual([2, 4]);
    expect(reads).toEqual([7, 4, 2]); // stops at the first successor older than the grace period
    expect(await supersededWithinGrace([1, 2, 4, 7], at, 31 * H, 0)).toEqual([]);
    expect(await supersededWithinGrace([1, 2, 4, 7], at, 31 * H, 100 * H)).toEqual([1, 2, 4]);
    expect(await supersededWithinGrace([7], at, 31 * H, 100 * H)).toEqual([]);
  });

  it('counts a successor whose commit time cannot be read as recent', async () => {
    expect(await supersededWithinGrace([1, 2], async () => Number.NaN, 31 * H, H)).toEqual([1]);
  });
});

describe('what gc may touch', () => {
  it('finds folders holding a dataset marker of their own below the dataset', () => {
    const rels = ['_partflow.json', 'copy/p-000000000001/v.avro', 'inner/_partflow.json', 'inner/copy/p-000000000002/v.avro', 'a/b/_partflow.json'];
    const nested = nestedDatasets(rels);
    expect(nested).toEqual(['a/b/', 'inner/']);
    expect(rels.filter((r) => !insideAny(r, nested))).toEqual(['_partflow.json', 'copy/p-000000000001/v.avro']);
    expect(categoryOf('inner/copy/p-000000000002/v.avro')).toBe('output'); // hence the skip
  });

  it('tells a partition manifest (deleted first) from the output and rejects it commits', () => {
    expect(['copy/p-000000000001/1-ab.json', 'copy/p-000000000001/1-ab.avro', 'copy/p-000000000001/1-ab.rejects.avro', '_runs/wf/r.json', 'copy/notes.json'].map(categoryOf))
      .toEqual(['partition-manifest', 'output', 'output', 'run-manifest', null]);
    expect(ORDER.indexOf('partition-manifest')).toBeLessThan(ORDER.indexOf('output'));
    expect(ORDER.indexOf('run-manifest')).toBeLessThan(ORDER.indexOf('partition-manifest'));
    expect(ORDER.slice(0, 2)).toEqual(['snapshot', 'snapshot-part']);
    expect(ORDER.at(-1)).toBe('plan');
  });

  it('lists the folders above a dataset folder, outermost first, without the bucket root', () => {
    expect(enclosingFolders('datasets/shop/inner/')).toEqual(['datasets/', 'datasets/shop/']);
    expect(enclosingFolders('orders/')).toEqual([]);
  });

  it('a bad consumer name is told the first-character rule', () => {
    for (const bad of ['-x', '_partflow', '.hidden']) {
      expect(() => consumerKey({ bucket: 'b', prefix: 'ds/' }, bad)).toThrow(`bad consumer name ${JSON.stringify(bad)}: up to 128 letters, digits, ".", "_" and "-", starting with a letter or digit`);
    }
    expect(consumerKey({ bucket: 'b', prefix: 'ds/' }, 'solr-2')).toBe('ds/_consumers/solr-2.json');
  });
});
