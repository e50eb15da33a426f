import { Admin } from '../sources/kafka/lib';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { TOOLS_DIR } from '../config/paths';
import { Managed, StackError, startProcess, waitReady } from './process';

export interface KafkaOptions {
  host?: string;
  port: number;
  /** The KRaft controller's own port (any free one). */
  controllerPort: number;
  /** Logs (the topics' data) and the formatted metadata live here; kept across restarts. */
  dataDir: string;
  logDir?: string;
  /** Extra server.properties lines, e.g. a short log.retention.check.interval.ms for tests. */
  extra?: Record<string, string | number>;
}

export interface KafkaBroker {
  managed: Managed;
  bootstrap: string;
  stop(): Promise<void>;
}

/** Where scripts/setup-tools.sh (`partflow setup --kafka`, or `--test`) puts the broker's jars. */
export function kafkaLibs(): string {
  const dir = process.env.PARTFLOW_KAFKA_LIBS ?? path.join(TOOLS_DIR, 'kafka', 'libs');
  if (!fs.existsSync(dir) || !fs.readdirSync(dir).some((f) => f.startsWith('kafka_2.13-'))) {
    throw new StackError(`the Kafka broker's jars are not in ${dir}: run \`npx partflow setup --kafka\` (needs Java 17+ and Maven), or set PARTFLOW_KAFKA_LIBS to a folder of kafka_2.13 jars`);
  }
  return dir;
}

function properties(o: KafkaOptions): string {
  const host = o.host ?? '127.0.0.1';
  const props: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@${host}:${o.controllerPort}`,
    listeners: `PLAINTEXT://${host}:${o.port},CONTROLLER://${host}:${o.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${host}:${o.port}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': path.join(o.dataDir, 'logs'),
    // One node: every internal topic has one replica, or transactions and groups never start.
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': 'false',
    ...o.extra,
  };
  return Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
}

/**
 * A single-node Apache Kafka in KRaft mode, run from the jars in $PARTFLOW_TOOLS_DIR/kafka/libs (.tools by default), where setup-tools.sh puts them: the data dir
 * is formatted once (kafka.tools.StorageTool), then `kafka.Kafka server.properties` runs until stop().
 */
export async function startKafka(o: KafkaOptions): Promise<KafkaBroker> {
  const libs = kafkaLibs();
  const cp = `${libs}${path.sep}*`;
  fs.mkdirSync(o.dataDir, { recursive: true });
  const propsFile = path.join(o.dataDir, 'server.properties');
  fs.writeFileSync(propsFile, properties(o));
  const log4j = path.join(libs, '..', 'log4j.properties');
  const jvm = ['-Xms128m', '-Xmx512m', ...(fs.existsSync(log4j) ? [`-Dlog4j.configuration=file:${log4j}`] : []), '-cp', cp];
  const logDir = o.logDir ?? path.join(o.dataDir, 'log');
  if (!fs.existsSync(path.join(o.dataDir, 'logs', 'meta.properties'))) {
    const clusterId = kraftClusterId();
    try {
      // `--cluster-id=<id>` rather than `-t <id>`: argparse would read an id starting with '-' as an option.
      await promisify(execFile)('java', [...jvm, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '-c', propsFile, '--ignore-formatted'], { timeout: 120_000 });
    } catch (err) {
      throw new StackError(`formatting the Kafka data dir ${o.dataDir} failed: ${(err as Error).message}`);
    }
  }
  const bootstrap = `${o.host ?? '127.0.0.1'}:${o.port}`;
  const managed = startProcess('kafka', 'java', [...jvm, 'kafka.Kafka', propsFile], { logFile: path.join(logDir, 'kafka.log') });
  try {
    await waitReady(managed, async () => {
      const admin = new Admin({ clientId: 'partflow-probe', bootstrapBrokers: [bootstrap], retries: 0, connectTimeout: 1000 });
      try {
        await admin.listTopics();
        return true;
      } finally {
        await admin.close().catch(() => undefined);
      }
    }, 90_000);
  } catch (err) {
    await managed.stop();
    throw err;
  }
  return { managed, bootstrap, stop: () => managed.stop() };
}

/** A KRaft cluster id: 16 random bytes in URL-safe base64, as `StorageTool random-uuid` makes them, never starting with '-'. */
export function kraftClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
