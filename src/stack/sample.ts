import { S3Client } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import path from 'node:path';
import { objectExists, putObject } from '../storage/objects';

/** The vega-datasets files the sample pipeline runs on, and where `partflow up` puts them. */
export const SAMPLE = {
  source: (bucket: string) => `s3://${bucket}/incoming/birdstrikes/`,
  objects: [
    { file: 'birdstrikes.csv', key: 'incoming/birdstrikes/birdstrikes.csv' },
    { file: 'airports.csv', key: 'reference/airports.csv' },
  ],
};

export function vegaDataFile(file: string): string {
  // The package exports only its JS build; the data files sit beside it.
  const dir = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data');
  return path.join(dir, file);
}

/** Uploads the sample data unless it is there already (objects are immutable: never replaced). */
export async function seedSample(s3: S3Client, bucket: string): Promise<string[]> {
  const urls: string[] = [];
  for (const o of SAMPLE.objects) {
    if (!(await objectExists(s3, bucket, o.key))) {
      await putObject(s3, bucket, o.key, fs.readFileSync(vegaDataFile(o.file)), o.file.endsWith('.csv') ? 'text/csv' : 'application/json');
    }
    urls.push(`s3://${bucket}/${o.key}`);
  }
  return urls;
}
