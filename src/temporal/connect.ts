/** Connections made from TemporalConnectionSettings, with errors that say where and how partflow tried. */
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { DEFAULT_TEMPORAL_ADDRESS, describeConnection, TemporalConnectionSettings } from './connection';

function connectError(s: TemporalConnectionSettings, err: unknown): Error {
  // The SDK's words ("transport error", "Failed to connect before the deadline") say neither whether
  // anything listens nor whether it speaks gRPC: the usual mix-ups, said once.
  const check = `check that the address is the Temporal frontend's gRPC port (7233 by default; the Web UI's port, 8233 by default, is not it) and that the server runs and is reachable from this machine${s.tls ? ', with TLS settings that match its own' : ''}`;
  const e = new Error(`cannot connect to Temporal at ${describeConnection(s)}: ${(err as Error).message ?? err}; ${check}`);
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

/**
 * Whether err says the namespace does not exist: the client's NamespaceNotFoundError, a NOT_FOUND
 * "Namespace x is not found." from an operator or worker call, or the worker's own check.
 */
export function isNamespaceNotFound(err: unknown): boolean {
  const e = err as { name?: unknown; message?: unknown } | null;
  if (typeof e !== 'object' || e === null) return false;
  return e.name === 'NamespaceNotFoundError' || (typeof e.message === 'string' && /Namespace \S+ (?:is|was) not found/.test(e.message));
}

/**
 * The namespace the settings name does not exist where they point: says which, where, and from
 * which settings. The server's own words ("Namespace x is not found.") add nothing: no cause.
 */
export function namespaceNotFoundError(s: TemporalConnectionSettings): Error {
  const address = s.address === DEFAULT_TEMPORAL_ADDRESS ? '' : ` --address ${s.address}`;
  return new Error(`Temporal namespace "${s.namespace}" does not exist at ${describeConnection(s)}: check the namespace's name, or create it `
    + `(temporal operator namespace create --namespace ${s.namespace}${address})`);
}
