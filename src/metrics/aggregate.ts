/**
 * One /metrics for a multi-process worker. partflow's own metrics are summed over the processes
 * with prom-client's cluster aggregation (counters and histograms add up, so they still equal a
 * run's result); the Temporal SDK's come from each process's core exporter as text, and get a
 * `partflow_process` label so that their series stay distinct.
 */
import { AggregatorRegistry } from 'prom-client';
import { registry } from './index';
import { sdkMetrics } from './server';

/** What one process reports: its registry as JSON, and its SDK metrics as Prometheus text. */
export interface ProcessMetrics {
  process: number;
  own: object[];
  sdk: string;
}

export async function collectProcessMetrics(index: number, sdkAddress: string | undefined): Promise<ProcessMetrics> {
  const [own, sdk] = await Promise.all([registry.getMetricsAsJSON(), sdkMetrics(sdkAddress)]);
  return { process: index, own, sdk };
}

export async function mergeProcessMetrics(parts: ProcessMetrics[]): Promise<string> {
  const own = parts.length ? await AggregatorRegistry.aggregate(parts.map((p) => p.own)).metrics() : '';
  return `${own}\n${labelAndMerge(parts.map((p) => [String(p.process), p.sdk]))}`;
}

/** Where a sample line's label set ends (after `}`), honouring quoted values; -1 without labels. */
function labelsEnd(line: string, open: number): number {
  let quoted = false;
  for (let i = open + 1; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === '}') return i;
  }
  return -1;
}

/** `name{a="1"} 3` → `name{a="1",partflow_process="0"} 3`. */
export function addLabel(line: string, value: string): string {
  const label = `partflow_process="${value}"`;
  const m = /^[a-zA-Z_:][\w:]*/.exec(line);
  if (!m) return line;
  const name = m[0];
  if (line[name.length] === '{') {
    const end = labelsEnd(line, name.length);
    if (end < 0) return line;
    const inner = line.slice(name.length + 1, end).trim();
    return `${name}{${inner ? `${inner.replace(/,$/, '')},` : ''}${label}}${line.slice(end + 1)}`;
  }
  return `${name}{${label}}${line.slice(name.length)}`;
}

/**
 * Prometheus text of several processes as one exposition: each family's HELP and TYPE once, then
 * its samples from every process, labelled with the process.
 */
export function labelAndMerge(texts: [string, string][]): string {
  const families = new Map<string, { meta: string[]; samples: string[] }>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { meta: [], samples: [] }));
    return f;
  };
  for (const [value, text] of texts) {
    let current: string | undefined;
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const meta = /^#\s+(HELP|TYPE)\s+(\S+)/.exec(line);
      if (meta) {
        current = meta[2];
        const f = family(current);
        // One HELP and one TYPE per family: the first process's stand for all.
        if (!f.meta.some((m) => m.split(/\s+/)[1] === meta[1])) f.meta.push(line);
        continue;
      }
      if (line.startsWith('#')) {
        family('').samples.push(`${line} (process ${value})`);
        continue;
      }
      const name = /^[a-zA-Z_:][\w:]*/.exec(line)?.[0] ?? '';
      const owner = current && name.startsWith(current) ? current : name;
      family(owner).samples.push(addLabel(line, value));
    }
  }
  const out: string[] = [];
  for (const f of families.values()) out.push(...f.meta, ...f.samples);
  return out.length ? `${out.join('\n')}\n` : '';
}
