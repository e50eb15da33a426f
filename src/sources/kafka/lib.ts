import type * as Platformatic from '@platformatic/kafka';

/**
 * @platformatic/kafka ships ES modules only, and partflow is CommonJS. Node (>= 20.19) loads an
 * ES module with require(); the require is taken from the real `module` builtin so that loaders
 * which replace `require` (jest's) load it natively too.
 */
type ModuleBuiltin = typeof import('node:module');
const nodeModule = (process as unknown as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule?.('node:module') as ModuleBuiltin | undefined;
const load = (nodeModule ?? (require('node:module') as ModuleBuiltin)).createRequire(__filename);
const lib = load('@platformatic/kafka') as typeof Platformatic;

export const { Admin, Consumer, Producer, FetchIsolationLevels } = lib;
export type { Admin as KafkaAdmin, Consumer as KafkaConsumer, RecordsBatch, SASLOptions } from '@platformatic/kafka';
