import { InvalidInputError, resolveIngestInput, resolveNewIngest } from '../../src/pipeline/input';
import { parseS3Url } from '../../src/storage/s3url';

describe('parseS3Url', () => {
  it('splits bucket and key', () => {
    expect(parseS3Url('s3://my-bucket/a/b.csv')).toEqual({ bucket: 'my-bucket', key: 'a/b.csv' });
    expect(parseS3Url('s3://my-bucket')).toEqual({ bucket: 'my-bucket', key: '' });
    expect(parseS3Url('s3://my-bucket/a', { prefix: true })).toEqual({ bucket: 'my-bucket', key: 'a/' });
  });
  it.each([
    ['http://bucket/key', /must start with s3:\/\//],
    ['s3://Bad_Bucket/key', /bad bucket name/],
    ['s3://bucket/a/../b', /"\.\." segments/],
    ['s3://bucket/a//b', /empty path segment/],
    ['s3://bucket/a\u0001b', /control characters/],
    ['s3:///x/', /no bucket name after s3:\/\//],
    ['s3://', /no bucket name after s3:\/\//],
    [42, /expected a string/],
  ])('rejects %p', (url, msg) => {
    expect(() => parseS3Url(url)).toThrow(msg);
  });
});

describe('resolveIngestInput', () => {
  it('fills defaults and derives the dataset from the source', () => {
    const r = resolveIngestInput({ pipeline: 'copy', source: 's3://data/incoming/shop-feed/' });
    expect(r).toMatchObject({
      pipeline: 'copy', sourceBucket: 'data', sourcePrefix: 'incoming/shop-feed/', dataset: 'shop-feed',
      targetBucket: 'data', targetPrefix: 'datasets/', partitionRecords: 50_000, maxParallel: 8, params: {},
      datasetDefaulted: true,
    });
  });

  it('takes every documented field', () => {
    const r = resolveIngestInput({
      pipeline: 'copy', source: 's3://raw-a/in/x.csv', target: 's3://out-b/out', dataset: 'ds', partitionRecords: 10, maxParallel: 2,
      format: 'csv', params: { k: 'v' },
    });
    expect(r).toMatchObject({ targetBucket: 'out-b', targetPrefix: 'out/', dataset: 'ds', partitionRecords: 10, maxParallel: 2, format: 'csv', params: { k: 'v' } });
    // A dataset given, even one equal to the default, is a decision: planning lets it take another source.
    expect(r.datasetDefaulted).toBeUndefined();
    expect(resolveIngestInput({ pipeline: 'copy', source: 's3://raw-a/in/ds/', dataset: 'ds' }).datasetDefaulted).toBeUndefined();
  });

  it('lists every problem of a bad input at once', () => {
    let err: InvalidInputError | undefined;
    try {
      resolveIngestInput({ source: 's3://bkt/../x', partitionRecords: 0, maxParallel: 1.5, colour: 'red', target: 'file:///tmp' });
    } catch (e) {
      err = e as InvalidInputError;
    }
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err!.problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/unknown field "colour"/),
      expect.stringMatching(/"pipeline" is required/),
      expect.stringMatching(/source: .*"\.\." segments/),
      expect.stringMatching(/target: .*must start with s3/),
      expect.stringMatching(/partitionRecords must be an integer from 1/),
      expect.stringMatching(/maxParallel must be an integer/),
    ]));
  });

  it('names a pipeline that is not a string, and a lookup param that is not an S3 URL', () => {
    expect(() => resolveIngestInput({ pipeline: 5, source: 's3://bkt/x/' })).toThrow(/"pipeline" must be a pipeline's name \(a string\), got 5/);
    expect(() => resolveIngestInput({ pipeline: 'birdstrikes', source: 's3://bkt/x/', params: { 'lookup.airports': 'http://x/y', other: 'http://fine' } }))
      .toThrow(/^invalid ingest input: params\["lookup\.airports"\]: invalid S3 URL "http:\/\/x\/y": must start with s3:\/\/$/);
  });

  it('checks the pipeline name against the registered ones when given', () => {
    expect(() => resolveIngestInput({ pipeline: 'nope', source: 's3://bkt/x/' }, ['copy'])).toThrow(/unknown pipeline "nope" \(registered: copy\)/);
    // A name no pipeline can have is refused here, before it goes into a search attribute (2 KiB at most).
    const long = 'p'.repeat(2100);
    const err = (() => { try { resolveIngestInput({ pipeline: long, source: 's3://bkt/x/' }); } catch (e) { return e as Error; } return undefined; })();
    expect(err?.message).toMatch(/"pipeline" "p{80}"… \(2100 characters\) cannot be a pipeline.s name: names match/);
    expect(err!.message.length).toBeLessThan(400);
    expect(() => resolveIngestInput({ pipeline: 'My Pipeline', source: 's3://bkt/x/' })).toThrow(/"pipeline" "My Pipeline" cannot be a pipeline's name/);
  });

  it('takes partitionTimeout as a duration, 24 hours by default', () => {
    expect(resolveIngestInput({ pipeline: 'copy', source: 's3://bkt/x/' }).partitionTimeoutMs).toBe(24 * 3_600_000);
    expect(resolveIngestInput({ pipeline: 'copy', source: 's3://bkt/x/', partitionTimeout: '12h' }).partitionTimeoutMs).toBe(12 * 3_600_000);
    expect(resolveIngestInput({ pipeline: 'copy', source: 's3://bkt/x/', partitionTimeout: '90m' }).partitionTimeoutMs).toBe(90 * 60_000);
    expect(resolveIngestInput({ pipeline: 'copy', source: 's3://bkt/x/', partitionTimeout: 7200 }).partitionTimeoutMs).toBe(7_200_000);
  });

  it.each(['soon', '0', '30s', '2y', -5, true, '12 hours'])('rejects partitionTimeout %p, saying what it takes', (v) => {
    expect(() => resolveIngestInput({ pipeline: 'copy', source: 's3://bkt/x/', partitionTimeout: v })).toThrow(
      /partitionTimeout must be a duration like "24h", "90m" or "7d" \(from 1m to a year\), got /,
    );
  });

  it.each([null, [], 'copy', 7])('rejects a non-object input %p', (v) => {
    expect(() => resolveIngestInput(v)).toThrow(/expected a JSON object/);
  });
});

describe('input error messages', () => {
  const problems = (input: unknown): string[] => {
    try {
      resolveIngestInput(input);
    } catch (e) {
      return (e as InvalidInputError).problems;
    }
    throw new Error('expected the input to be refused');
  };

  it('say the whole dataset name rule: a letter or digit first, at most 128 characters', () => {
    const rule = 'dataset must be 1 to 128 letters, digits, ".", "_" or "-", starting with a letter or digit, got ';
    expect(problems({ pipeline: 'copy', source: 's3://bkt/x/', dataset: '_orders' })).toEqual([`${rule}"_orders"`]);
    expect(problems({ pipeline: 'copy', source: 's3://bkt/x/', dataset: 'a'.repeat(129) })).toEqual([`${rule}"${'a'.repeat(129)}"`]);
    expect(problems({ pipeline: 'copy', source: 's3://bkt/x/', dataset: 'a b' })).toEqual([`${rule}"a b"`]);
    // Only the message changed: what is accepted is as it was.
    expect(resolveIngestInput({ pipeline: 'copy', source: 's3://bkt/x/', dataset: `9${'a'.repeat(127)}` }).dataset).toHaveLength(128);
  });

  it('refuse a new ingest whose dataset name, taken from the source, is over 128 characters; a run that has one still resolves (replay)', () => {
    const topic = `t${'x'.repeat(140)}`;
    const key = `in/${'k'.repeat(130)}.csv`;
    for (const [source, name] of [[`kafka://127.0.0.1:9092/${topic}`, topic], [`s3://bkt/${key}`, 'k'.repeat(130)]]) {
      const input = { pipeline: 'copy', source, target: 's3://out/' };
      expect(resolveIngestInput(input).dataset).toBe(name);
      expect(() => resolveNewIngest(input)).toThrow(new InvalidInputError([
        `the dataset name taken from the source ("${name.slice(0, 40)}…", ${name.length} characters) is over the 128 characters a dataset name may have: give "dataset" (--dataset)`,
      ]));
      expect(resolveNewIngest({ ...input, dataset: 'short' }).dataset).toBe('short');
    }
    expect(resolveNewIngest({ pipeline: 'copy', source: `s3://bkt/in/${'k'.repeat(128)}.csv` }).dataset).toHaveLength(128);
  });

  it('cut a huge value they repeat to about 200 characters, and say how long it was', () => {
    const url = `s3://bkt/${'k'.repeat(120_000)}`;
    const [source] = problems({ pipeline: 'copy', source: url });
    expect(source).toBe(`source: invalid S3 URL ${JSON.stringify(url.slice(0, 200))}… (120009 characters): key longer than 1024 bytes`);
    const huge = 'x'.repeat(50_000);
    const all = problems({ pipeline: 'copy', source: `kafka://${huge}`, dataset: huge, waitForRetry: huge, [huge]: 1, target: `s3://${huge}/` });
    expect(all).toHaveLength(5);
    for (const p of all) {
      expect(p.length).toBeLessThan(600);
      expect(p).toContain('… (500');
    }
    expect(() => resolveIngestInput({ pipeline: huge, source: 's3://bkt/x/' }, ['copy'])).toThrow(/^invalid ingest input: "pipeline" "x{80}"… \(50000 characters\) cannot be a pipeline's name: names match/);
    expect(() => resolveIngestInput([huge])).toThrow(/^invalid ingest input: expected a JSON object like .*, got \["x{198}… \(50004 characters\)$/);
    // Values that fit are repeated whole.
    expect(problems({ pipeline: 'copy', source: 's3://bkt/x/', partitionRecords: 'lots' })).toEqual(['partitionRecords must be an integer from 1 to 10000000, got "lots"']);
  });

  it('tell a source of another scheme that kafka:// is a source too (not a target)', () => {
    expect(problems({ pipeline: 'copy', source: 'http://acme/x/' })).toEqual([
      'source: invalid URL "http://acme/x/": must start with s3:// (s3://bucket/prefix/ or s3://bucket/key) or kafka:// (kafka://host:port/topic)',
    ]);
    expect(problems({ pipeline: 'copy', source: 7 })).toEqual(['source: expected a URL like s3://bucket/prefix/, s3://bucket/key or kafka://host:port/topic, got 7']);
    expect(problems({ pipeline: 'copy', source: 's3://bkt/x/', target: 'http://acme/x/' })).toEqual(['target: invalid S3 URL "http://acme/x/": must start with s3://']);
  });
});
