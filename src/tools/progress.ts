import cliProgress from 'cli-progress';

/** A progress bar on a TTY, nothing otherwise (logs and pipes stay clean). */
export function progressBar(label: string, total: number, unit: string): { update(n: number): void; stop(): void } {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar({ stream: process.stderr, format: ` ${label} |{bar}| {value}/{total} ${unit}`, hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return { update: (n) => bar.update(n), stop: () => bar.stop() };
}
