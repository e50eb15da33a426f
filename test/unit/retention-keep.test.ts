import { enclosingFolders } from '../../src/pipeline/nested-dataset';
import { consumerKey } from '../../src/snapshots/layout';
import { categoryOf, insideAny, nestedDatasets, ORDER, supersededWithinGrace, windowFoldersToDelete } from '../../src/snapshots/retention-keep';

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

  it('takes window results for one run folder each, deleted before run manifests', () => {
    expect(['_windows/wf/r1/000001.json', '_windows/wf/r1/x.txt', '_windows/wf/r1/deeper/000001.json', '_windows/wf/000001.json'].map(categoryOf))
      .toEqual(['window-result', null, null, null]);
    expect(ORDER.indexOf('window-result')).toBeLessThan(ORDER.indexOf('run-manifest'));
  });

  it('deletes a run\'s window results once its run manifest has existed for the grace period, or, with none, once they are abandoned', () => {
    const D = 24 * H;
    const objects = [
      // Run manifest written 2 days ago: done with.
      { rel: '_windows/wf/done/000001.json', at: 0 }, { rel: '_runs/wf/done.json', at: 98 * D },
      // Run manifest written an hour ago: a retried manifest write may still read them.
      { rel: '_windows/wf/fresh/000001.json', at: 0 }, { rel: '_runs/wf/fresh.json', at: 100 * D - H },
      // No run manifest, newest result 10 days old: waiting for a retry, perhaps.
      { rel: '_windows/wf/waiting/000001.json', at: 0 }, { rel: '_windows/wf/waiting/000002.json', at: 90 * D },
      // No run manifest, newest result 100 days old.
      { rel: '_windows/wf/dead/000001.json', at: 0 },
      // Another workflow's run of the same run id has a manifest; this one has not.
      { rel: '_windows/other/done/000001.json', at: 95 * D },
    ];
    expect([...windowFoldersToDelete(objects, 100 * D, D, 30 * D)].sort()).toEqual(['_windows/wf/dead/', '_windows/wf/done/']);
    expect([...windowFoldersToDelete(objects, 100 * D, D, 731 * D)]).toEqual(['_windows/wf/done/']);
    expect([...windowFoldersToDelete(objects, 100 * D, 0, 5 * D)].sort()).toEqual(['_windows/other/done/', '_windows/wf/dead/', '_windows/wf/done/', '_windows/wf/fresh/', '_windows/wf/waiting/']);
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
