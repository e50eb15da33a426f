/**
 * CPU time and peak memory of processes, read from Linux's /proc, for the side-by-side benchmark:
 * the worker, the Temporal server, versitygw and Spark run as separate processes, and the issue asks
 * for CPU per process and peak RSS per worker.
 */
import fs from 'node:fs';

/** Kernel clock ticks per second (USER_HZ): 100 on every Linux architecture Node runs on. */
export const CLOCK_TICKS = 100;

export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime of the process itself, in seconds. */
  cpuSeconds: number;
  /** cutime + cstime: children it has waited for, in seconds. */
  childrenCpuSeconds: number;
}

/**
 * Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and may itself hold spaces
 * and parentheses, so the fields are counted from the last ')'.
 */
export function parseStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  const pid = Number(text.slice(0, text.indexOf(' ')));
  // After ')': state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17).
  const f = text.slice(close + 2).trim().split(/\s+/);
  const at = (field: number) => Number(f[field - 3]);
  if (!Number.isFinite(at(17))) throw new Error(`/proc/${pid}/stat has too few fields`);
  return { pid, ppid: at(4), cpuSeconds: (at(14) + at(15)) / CLOCK_TICKS, childrenCpuSeconds: (at(16) + at(17)) / CLOCK_TICKS };
}

/** VmHWM (peak resident set) and VmRSS from /proc/<pid>/status, in MiB. */
export function parseStatus(text: string): { peakRssMiB: number; rssMiB: number } {
  const kb = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) / 1024 : 0;
  };
  return { peakRssMiB: kb('VmHWM'), rssMiB: kb('VmRSS') };
}

function read(pid: number, file: string): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined; // exited meanwhile
  }
}

export function statOf(pid: number): ProcStat | undefined {
  const t = read(pid, 'stat');
  return t === undefined ? undefined : parseStat(t);
}

export function peakRssMiB(pid: number): number {
  const t = read(pid, 'status');
  return t === undefined ? 0 : parseStatus(t).peakRssMiB;
}

/**
 * CPU seconds of each thread of one process (tid -> its name and utime+stime), from
 * /proc/<pid>/task. Node names few of its threads: V8's helpers (GC marking, sweeping, the
 * optimizing compiler), libuv's pool and worker_threads are all "node"; the main thread's tid
 * is the pid.
 */
export function threadCpuSeconds(pid: number): Map<number, { name: string; cpuSeconds: number }> {
  const out = new Map<number, { name: string; cpuSeconds: number }>();
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out; // exited
  }
  for (const t of tids) {
    const text = read(pid, `task/${t}/stat`);
    if (text === undefined) continue;
    const name = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
    out.set(Number(t), { name, cpuSeconds: parseStat(text).cpuSeconds });
  }
  return out;
}

/** The pid and every live descendant of it. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = statOf(Number(name));
    if (!s) continue;
    if (!children.has(s.ppid)) children.set(s.ppid, []);
    children.get(s.ppid)!.push(s.pid);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/**
 * Follows a process tree while it runs (Spark: python, its JVM, the JVM's python workers), keeping
 * each process's last CPU reading and highest VmHWM, since short-lived workers are gone by the end.
 * CPU of a process in its last sampling interval before exiting is missed (at most `everyMs`).
 */
export class TreeSampler {
  private last = new Map<number, { cpu: number; peak: number; name: string }>();
  private timer: NodeJS.Timeout;

  constructor(private readonly root: number, everyMs = 200) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  sample(): void {
    for (const pid of processTree(this.root)) {
      const s = statOf(pid);
      if (!s) continue;
      const name = (read(pid, 'comm') ?? '?').trim();
      const prev = this.last.get(pid);
      this.last.set(pid, { cpu: s.cpuSeconds, peak: Math.max(prev?.peak ?? 0, peakRssMiB(pid)), name });
    }
  }

  /** CPU seconds and peak RSS per command name (java, python3, node, …), summed over processes. */
  stop(): { cpuSeconds: number; byName: Record<string, { processes: number; cpuSeconds: number; maxPeakRssMiB: number }> } {
    clearInterval(this.timer);
    const byName: Record<string, { processes: number; cpuSeconds: number; maxPeakRssMiB: number }> = {};
    let total = 0;
    for (const { cpu, peak, name } of this.last.values()) {
      const e = (byName[name] ??= { processes: 0, cpuSeconds: 0, maxPeakRssMiB: 0 });
      e.processes++;
      e.cpuSeconds = round(e.cpuSeconds + cpu);
      e.maxPeakRssMiB = Math.max(e.maxPeakRssMiB, Math.round(peak));
      total += cpu;
    }
    return { cpuSeconds: round(total), byName };
  }
}

/** CPU seconds of a process tree now (live processes plus the children they have reaped). */
export function treeCpuSeconds(root: number): number {
  let total = 0;
  for (const pid of processTree(root)) {
    const s = statOf(pid);
    if (s) total += s.cpuSeconds + s.childrenCpuSeconds;
  }
  return round(total);
}

/** The 1, 5 and 15 minute load averages: the machine is shared, so every result records them. */
export function loadAverages(): number[] {
  return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
