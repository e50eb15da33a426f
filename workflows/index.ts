export { ingest, ingestBatch, progressQuery } from './ingest';
