import { endpointPathNote } from '../../src/storage/endpoint-path';

describe('endpointPathNote', () => {
  it('says nothing of an endpoint without a path, or of none', () => {
    expect(['http://127.0.0.1:7070', 'http://127.0.0.1:7070/', 'https://s3.eu-west-1.amazonaws.com', undefined, 'not a url'].map(endpointPathNote)).toEqual(['', '', '', '', '']);
  });

  it('names the path, the bucket a root server would see and the endpoint without it', () => {
    const note = endpointPathNote('http://minio:9000/my%20data/x/');
    expect(note).toContain('has a path (/my%20data/x)');
    expect(note).toContain('goes to http://minio:9000/my%20data/x/<bucket>/<key>');
    expect(note).toContain('takes "my data" for the bucket');
    expect(note).toContain('set AWS_ENDPOINT_URL_S3 to http://minio:9000 and');
  });
});
