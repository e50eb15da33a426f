/**
 * How partflow reaches Temporal: Temporal's own conventions (@temporalio/envconfig), so a worker,
 * the client and every CLI command accept what the `temporal` CLI and the other SDKs accept:
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_GRPC_META_*,
 * and a profile (TEMPORAL_PROFILE) of the TOML config file (TEMPORAL_CONFIG_FILE, by default
 * ~/.config/temporalio/temporal.toml). Environment variables override the profile.
 */
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { loadClientConnectConfig } from '@temporalio/envconfig';

/** Where the embedded stack (`partflow up`) listens: the default when nothing is configured. */
export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';

/** The environment variables Temporal's conventions read (TEMPORAL_GRPC_META_<header> too). */
export const TEMPORAL_ENV_VARS = [
  'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_API_KEY', 'TEMPORAL_PROFILE', 'TEMPORAL_CONFIG_FILE',
  'TEMPORAL_TLS', 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_CERT_DATA', 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_DATA', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_SERVER_CA_CERT_DATA', 'TEMPORAL_TLS_SERVER_NAME',
] as const;

export interface TemporalConnectionSettings {
  address: string;
  namespace: string;
  /** false or absent: plain gRPC; true: TLS with the system's roots; or CA, client pair, server name. */
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
  /** Where the settings came from, for error messages ("profile prod of /etc/temporal.toml"). */
  source: string;
}

/**
 * Reads the connection settings from env (and the config file it names, or the default one).
 * Empty variables count as unset, as everywhere else in partflow.
 */
export function loadTemporalConnection(env: NodeJS.ProcessEnv = process.env): TemporalConnectionSettings {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') vars[k] = v;
  const file = vars.TEMPORAL_CONFIG_FILE;
  const source = vars.TEMPORAL_PROFILE ? `profile "${vars.TEMPORAL_PROFILE}" of ${file ?? 'the Temporal config file'}` : 'TEMPORAL_* settings';
  let loaded: ReturnType<typeof loadClientConnectConfig>;
  try {
    loaded = loadClientConnectConfig({ overrideEnvVars: vars });
  } catch (err) {
    throw new Error(`cannot load the Temporal connection settings (${source}${file && !vars.TEMPORAL_PROFILE ? `, ${file}` : ''}): ${(err as Error).message}`);
  }
  const o = loaded.connectionOptions;
  const tls = o.tls ?? undefined;
  return {
    address: o.address || DEFAULT_TEMPORAL_ADDRESS,
    namespace: loaded.namespace || DEFAULT_TEMPORAL_NAMESPACE,
    ...(tls !== undefined ? { tls } : {}),
    ...(o.apiKey ? { apiKey: o.apiKey as string } : {}),
    ...(o.metadata && Object.keys(o.metadata).length ? { metadata: o.metadata as Record<string, string> } : {}),
    source,
  };
}

/** One line for logs and errors: address, namespace, how it authenticates. Never the key itself. */
export function describeConnection(s: TemporalConnectionSettings): string {
  const tls = s.tls === undefined || s.tls === false ? 'no TLS'
    : s.tls === true ? 'TLS' : s.tls.clientCertPair ? 'mTLS' : 'TLS';
  return `${s.address} (namespace ${s.namespace}, ${tls}${s.apiKey ? ', API key' : ''}; ${s.source})`;
}
