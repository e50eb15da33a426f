/** Connections made from TemporalConnectionSettings, with errors that say where and how partflow tried. */
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { describeConnection, TemporalConnectionSettings } from './connection';

function connectError(s: TemporalConnectionSettings, err: unknown): Error {
  const e = new Error(`cannot connect to Temporal at ${describeConnection(s)}: ${(err as Error).message ?? err}`);
  (e as { cause?: unknown }).cause = err;
  return e;
}

/** A client connection (src/client, the CLI). */
export async function connectTemporal(s: TemporalConnectionSettings, opts: { connectTimeout?: number } = {}): Promise<Connection> {
  try {
    return await Connection.connect({
      address: s.address, tls: s.tls, apiKey: s.apiKey, metadata: s.metadata, connectTimeout: opts.connectTimeout ?? 5_000,
    });
  } catch (err) {
    throw connectError(s, err);
  }
}

/** A worker's connection (Rust core). */
export async function connectNativeTemporal(s: TemporalConnectionSettings): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect({ address: s.address, tls: s.tls, apiKey: s.apiKey, metadata: s.metadata });
  } catch (err) {
    throw connectError(s, err);
  }
}
