import { Consumer, type KafkaConsumer, type SASLOptions } from './lib';
import fs from 'node:fs';
import { ConfigError, envBoolean } from '../../config/errors';

/**
 * The client settings of a Kafka source, from the environment (never from the workflow input,
 * which Temporal keeps in its history):
 *
 *   PARTFLOW_KAFKA_SASL_MECHANISM   PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
 *   PARTFLOW_KAFKA_SASL_USERNAME / PARTFLOW_KAFKA_SASL_PASSWORD
 *   PARTFLOW_KAFKA_TLS              true (or 1) to connect with TLS (implied by a CA, cert or key file); false or 0
 *                                   (or unset) for none; any other value is refused
 *   PARTFLOW_KAFKA_TLS_CA           a PEM file of the CAs to trust (default: Node's)
 *   PARTFLOW_KAFKA_TLS_CERT / PARTFLOW_KAFKA_TLS_KEY   PEM files of a client certificate (mTLS)
 *   PARTFLOW_KAFKA_CLIENT_ID        the client id brokers see (default "partflow")
 */
export interface KafkaClientSettings {
  clientId: string;
  sasl?: SASLOptions;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

const MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'];

/**
 * The settings, or a ConfigError naming the variable that is wrong. No broker is contacted, so the
 * worker checks them when it starts (checkWorkerSettings): a bad one then stops it, instead of
 * failing the planning of every Kafka ingest (after its connect attempts) while it takes work.
 */
export function clientSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaClientSettings {
  const out: KafkaClientSettings = { clientId: env.PARTFLOW_KAFKA_CLIENT_ID || 'partflow' };
  const mech = env.PARTFLOW_KAFKA_SASL_MECHANISM;
  if (mech) {
    if (!MECHANISMS.includes(mech)) throw new ConfigError(`PARTFLOW_KAFKA_SASL_MECHANISM=${mech}: expected one of ${MECHANISMS.join(', ')}`);
    if (!env.PARTFLOW_KAFKA_SASL_USERNAME || env.PARTFLOW_KAFKA_SASL_PASSWORD === undefined) {
      throw new ConfigError('PARTFLOW_KAFKA_SASL_MECHANISM is set: PARTFLOW_KAFKA_SASL_USERNAME and PARTFLOW_KAFKA_SASL_PASSWORD are needed too');
    }
    out.sasl = { mechanism: mech as SASLOptions['mechanism'], username: env.PARTFLOW_KAFKA_SASL_USERNAME, password: env.PARTFLOW_KAFKA_SASL_PASSWORD };
  }
  const file = (name: string): Buffer | undefined => {
    const p = env[name];
    if (!p) return undefined;
    try {
      return fs.readFileSync(p);
    } catch (err) {
      throw new ConfigError(`${name}=${p}: cannot read it: ${(err as Error).message}`, { cause: err });
    }
  };
  const ca = file('PARTFLOW_KAFKA_TLS_CA');
  const cert = file('PARTFLOW_KAFKA_TLS_CERT');
  const key = file('PARTFLOW_KAFKA_TLS_KEY');
  const tls = envBoolean(env, 'PARTFLOW_KAFKA_TLS', { fallback: false, what: 'true (or 1) to connect to the brokers with TLS, or false (or 0)' });
  if (ca || cert || key || tls) out.tls = { ca, cert, key };
  return out;
}

/**
 * "host:port" or "[v6 address]:port" as host and port. The client splits a broker string at its
 * first ":", which leaves "[" of an IPv6 address as the host to look up (ENOTFOUND [); it takes
 * host and port given apart as they are.
 */
export function brokerAddress(broker: string): { host: string; port: number } {
  const i = broker.lastIndexOf(':');
  const host = broker.slice(0, i);
  return { host: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, port: Number(broker.slice(i + 1)) };
}

/**
 * A consumer used without a consumer group: partflow fetches exact offsets itself and keeps the
 * offsets it has ingested in S3, never in the cluster. The group id is required by the client's
 * constructor only; no group is ever joined.
 */
export function openConsumer(brokers: string[], settings = clientSettingsFromEnv(), timeouts: { requestTimeout?: number; retries?: number } = {}): KafkaConsumer {
  return new Consumer({
    clientId: settings.clientId, groupId: 'partflow-unused', bootstrapBrokers: brokers.map(brokerAddress),
    ...(settings.sasl ? { sasl: settings.sasl } : {}),
    ...(settings.tls ? { tls: settings.tls } : {}),
    retries: timeouts.retries ?? 3, connectTimeout: 10_000, requestTimeout: timeouts.requestTimeout ?? 60_000,
  });
}
