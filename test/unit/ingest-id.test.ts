import { ingestOf } from '../../activities/ingest-id';

describe('ingestOf: the ingest a window or batch workflow belongs to', () => {
  it('takes off a window, a reset run\'s window and a batch ending', () => {
    expect(ingestOf('ingest-copy-1/w-000003')).toBe('ingest-copy-1');
    expect(ingestOf('ingest-copy-1/01a2104e-5c77-77fc-b8c3-b5fc699b2327/w-000001')).toBe('ingest-copy-1');
    expect(ingestOf('ingest-copy-1/batch-00010-r1')).toBe('ingest-copy-1');
    expect(ingestOf('ingest-copy-1')).toBe('ingest-copy-1');
  });

  it('keeps a "/" of the ingest\'s own id: two nightly ids are two runs', () => {
    expect(ingestOf('nightly/2026-11-24/w-000001')).toBe('nightly/2026-11-24');
    expect(ingestOf('nightly/2026-11-25')).toBe('nightly/2026-11-25');
  });
});
