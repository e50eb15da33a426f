import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { TOOLS_BIN } from '../config/paths';

export class StackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StackError';
  }
}

/** Fails with a clear message when something already listens on host:port. */
export async function assertPortFree(host: string, port: number, what: string, envHint: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new StackError(`port ${host}:${port} (${what}) is already in use. Stop whatever is using it (\`ss -ltnp 'sport = :${port}'\` shows it), or choose another port with ${envHint}.`));
      } else reject(new StackError(`cannot listen on ${host}:${port} (${what}): ${err.message}`));
    });
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve()));
  });
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ host, port: 0 }, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Path of a tool: an explicit env var, then .tools/bin (scripts/setup-tools.sh), then PATH. */
export function toolPath(name: 'temporal' | 'versitygw'): string {
  const env = name === 'temporal' ? process.env.PARTFLOW_TEMPORAL_BIN : process.env.PARTFLOW_VERSITYGW_BIN;
  if (env) return env;
  const local = path.join(TOOLS_BIN, name);
  if (fs.existsSync(local)) return local;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) return p;
  }
  throw new StackError(`${name} not found: run \`npm run setup\` in a partflow checkout, or \`npx partflow setup\` in a project using partflow, to install it into ${TOOLS_BIN}, or set ${name === 'temporal' ? 'PARTFLOW_TEMPORAL_BIN' : 'PARTFLOW_VERSITYGW_BIN'}`);
}

export interface Managed {
  name: string;
  child: ChildProcess;
  logFile: string;
  stop(): Promise<void>;
}

// Every server this process started that has not exited yet, so that exit hooks (shutdown.ts) can
// stop them even while start-up is still waiting for them.
const live = new Set<Managed>();
let closing = false;

/** Told when a server exits that nobody asked to stop (a crash, a kill from outside). */
export type UnexpectedExit = (m: Managed, code: number | null, signal: NodeJS.Signals | null) => void;
let onUnexpectedExit: UnexpectedExit | undefined;

/** Sets (or, with undefined, clears) what hears of a server exiting unasked; `up` sets it once its stack is up. */
export function whenUnexpectedExit(fn: UnexpectedExit | undefined): void {
  onUnexpectedExit = fn;
}

/** The names of the servers this process started that still run, in the order started. */
export function liveProcessNames(): string[] {
  return [...live].map((m) => m.name);
}

/** Starts a server process with its output in a log file; stop() sends SIGTERM, then SIGKILL after a grace period. */
export function startProcess(name: string, bin: string, args: string[], opts: { env?: NodeJS.ProcessEnv; logFile: string }): Managed {
  // A start-up still in flight when shutdown begins must not leave a server behind it.
  if (closing) throw new StackError(`not starting ${name}: shutting down`);
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const log = fs.openSync(opts.logFile, 'a');
  const child = spawn(bin, args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exited = child.exitCode !== null;
  let asked = false;
  // An 'error' with no pid means it never started: no 'exit' will come.
  const exitedP = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      live.delete(m);
      resolve();
      if (!asked && !closing) onUnexpectedExit?.(m, code, signal);
    });
    child.once('error', () => { if (child.pid === undefined) { exited = true; resolve(); } });
  });
  const m: Managed = {
    name, child, logFile: opts.logFile,
    async stop() {
      asked = true;
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 10_000);
      await exitedP;
      clearTimeout(timer);
    },
  };
  live.add(m);
  void exitedP.then(() => live.delete(m));
  return m;
}

/** Stops every server this process started that still runs, and refuses to start more. */
export async function stopAllProcesses(): Promise<void> {
  closing = true;
  await Promise.all([...live].map((m) => m.stop()));
}

/** For synchronous exit hooks, where nothing can be awaited: SIGKILL whatever still runs. */
export function killAllProcesses(): void {
  closing = true;
  for (const m of live) m.child.kill('SIGKILL');
}

/** Polls `probe` until it succeeds, the process dies, or the time is up. */
export async function waitReady(m: Managed, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (m.child.pid === undefined) throw new StackError(`${m.name} could not be started (${m.child.spawnfile})`);
    if (m.child.exitCode !== null || m.child.signalCode !== null) {
      throw new StackError(`${m.name} exited during start-up (code ${m.child.exitCode ?? m.child.signalCode}); see ${m.logFile}:\n${tail(m.logFile)}`);
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new StackError(`${m.name} did not become ready within ${timeoutMs / 1000}s; see ${m.logFile}:\n${tail(m.logFile)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
