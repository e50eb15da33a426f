/**
 * How partflow reaches Temporal: Temporal's own conventions (@temporalio/envconfig), so a worker,
 * the client and every CLI command accept what the `temporal` CLI and the other SDKs accept:
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_GRPC_META_*,
 * and a profile (TEMPORAL_PROFILE) of the TOML config file (TEMPORAL_CONFIG_FILE, by default
 * ~/.config/temporalio/temporal.toml). Environment variables override the profile.
 */
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { loadClientConfig, loadClientConfigProfile, loadClientConnectConfig } from '@temporalio/envconfig';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../config/errors';

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
  /** Where the settings came from, for messages: `profile "prod" of /etc/temporal.toml and TEMPORAL_NAMESPACE`. */
  source: string;
}

/**
 * Where Temporal's conventions look for the config file: TEMPORAL_CONFIG_FILE, else the user's
 * config folder (as @temporalio/envconfig finds it); undefined when neither can be told.
 */
export function temporalConfigFile(vars: Record<string, string>): string | undefined {
  if (vars.TEMPORAL_CONFIG_FILE) return vars.TEMPORAL_CONFIG_FILE;
  let dir: string | undefined;
  if (os.platform() === 'win32') dir = vars.APPDATA;
  else if (os.platform() === 'darwin') dir = vars.HOME && path.join(vars.HOME, 'Library', 'Application Support');
  else dir = vars.XDG_CONFIG_HOME && path.isAbsolute(vars.XDG_CONFIG_HOME) ? vars.XDG_CONFIG_HOME : vars.HOME && path.join(vars.HOME, '.config');
  return dir ? path.join(dir, 'temporalio', 'temporal.toml') : undefined;
}

// The variables that set connection fields (TEMPORAL_PROFILE and TEMPORAL_CONFIG_FILE choose a profile instead).
const FIELD_VARS = TEMPORAL_ENV_VARS.filter((v) => v !== 'TEMPORAL_PROFILE' && v !== 'TEMPORAL_CONFIG_FILE');

/**
 * Where the settings came from, for messages: the profile of the config file that was read (one
 * chosen by TEMPORAL_PROFILE, or the file's "default"), the variables that were set, or neither.
 */
function describeSource(vars: Record<string, string>, file: string | undefined): string {
  const profile = vars.TEMPORAL_PROFILE || 'default';
  let fromFile = false;
  try {
    const p = loadClientConfigProfile({ overrideEnvVars: vars, disableEnv: true, ...(vars.TEMPORAL_PROFILE ? { profile } : {}) });
    fromFile = Object.values(p).some((v) => v !== undefined && (typeof v !== 'object' || Object.keys(v as object).length > 0));
  } catch {
    // Already loaded once without error; a file that changed since would tell nothing more.
  }
  const set = [...FIELD_VARS.filter((v) => vars[v]), ...Object.keys(vars).filter((k) => k.startsWith('TEMPORAL_GRPC_META_'))];
  const parts = [...(fromFile ? [`profile "${profile}" of ${file ?? 'the Temporal config file'}`] : []), ...(set.length ? [set.join(', ')] : [])];
  return parts.length ? parts.join(' and ') : 'defaults: no TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE or Temporal profile set';
}

/** Why the settings cannot be loaded, in terms of what the person set. */
function loadError(vars: Record<string, string>, file: string | undefined, err: unknown): ConfigError {
  const profile = vars.TEMPORAL_PROFILE;
  const exists = file !== undefined && fs.existsSync(file);
  let why = (err as Error).message;
  if (profile && /Profile '.*' not found/.test(why)) {
    if (!exists) why = `TEMPORAL_PROFILE is "${profile}", but there is no Temporal config file${file ? ` at ${file}` : ''} (TEMPORAL_CONFIG_FILE names one)`;
    else {
      const names = profileNames(file!);
      if (names) why += ` (${file} has ${names.length ? `the profiles ${names.join(', ')}` : 'no profiles'})`;
    }
  }
  const where = profile ? `profile "${profile}" of ${file ?? 'the Temporal config file'}` : `TEMPORAL_* settings${vars.TEMPORAL_CONFIG_FILE ? `, ${vars.TEMPORAL_CONFIG_FILE}` : ''}`;
  return new ConfigError(`cannot load the Temporal connection settings (${where}): ${why}`, { cause: err });
}

function profileNames(file: string): string[] | undefined {
  try {
    return Object.keys(loadClientConfig({ configSource: { path: file } }).profiles);
  } catch {
    return undefined;
  }
}

/**
 * Reads the connection settings from env (and the config file it names, or the default one).
 * Empty variables count as unset, as everywhere else in partflow. A TEMPORAL_CONFIG_FILE that does
 * not exist is an error (Temporal's own loader would quietly use the defaults, another server).
 */
export function loadTemporalConnection(env: NodeJS.ProcessEnv = process.env): TemporalConnectionSettings {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') vars[k] = v;
  const file = temporalConfigFile(vars);
  if (vars.TEMPORAL_CONFIG_FILE && !fs.existsSync(vars.TEMPORAL_CONFIG_FILE)) {
    throw new ConfigError(`cannot load the Temporal connection settings: TEMPORAL_CONFIG_FILE names ${vars.TEMPORAL_CONFIG_FILE}, which does not exist`);
  }
  let loaded: ReturnType<typeof loadClientConnectConfig>;
  try {
    loaded = loadClientConnectConfig({ overrideEnvVars: vars });
  } catch (err) {
    throw loadError(vars, file, err);
  }
  const o = loaded.connectionOptions;
  const tls = o.tls ?? undefined;
  return {
    address: o.address || DEFAULT_TEMPORAL_ADDRESS,
    namespace: loaded.namespace || DEFAULT_TEMPORAL_NAMESPACE,
    ...(tls !== undefined ? { tls } : {}),
    ...(o.apiKey ? { apiKey: o.apiKey as string } : {}),
    ...(o.metadata && Object.keys(o.metadata).length ? { metadata: o.metadata as Record<string, string> } : {}),
    source: describeSource(vars, file),
  };
}

/** One line for logs and errors: address, namespace, how it authenticates. Never the key itself. */
export function describeConnection(s: TemporalConnectionSettings): string {
  const tls = s.tls === undefined || s.tls === false ? 'no TLS'
    : s.tls === true ? 'TLS' : s.tls.clientCertPair ? 'mTLS' : 'TLS';
  return `${s.address} (namespace ${s.namespace}, ${tls}${s.apiKey ? ', API key' : ''}; ${s.source})`;
}
