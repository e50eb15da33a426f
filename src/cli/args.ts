import { InvalidArgumentError } from 'commander';
import { durationOption } from '../schedules/spec';

/** Option parsers shared by the commands: each says what a bad value should look like. */

/**
 * An integer argument or option, in decimal digits only: Number() would also take 1e3, 0x29,
 * 0b1, " 7 " and "", so `diff … 0x29 43` would quietly read snapshot 41.
 */
export function int(name: string, min: number, max: number) {
  return (v: string) => {
    const n = /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max} in decimal digits, got "${v}"`);
    return n;
  };
}

/** A duration option's parser (durationOption: 30s, 10m, 1.5h, 3d), as commander wants it. */
export function durationArg(option: string, min = 0) {
  return (v: string) => {
    try {
      return durationOption(option, v, min);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}

/** A byte size: 1048576, 512KiB, 64MiB, 1GiB (k/M/G are taken as binary too). */
export function bytesArg(name: string, min: number, max: number) {
  return (v: string) => {
    const m = /^(\d+)\s*(?:([kKmMgG])i?[bB]?)?$/.exec(v.trim());
    const n = m ? Number(m[1]) * 1024 ** ({ k: 1, m: 2, g: 3 }[(m[2] ?? '').toLowerCase() as 'k'] ?? 0) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a size from ${min} bytes to ${max / 1024 ** 3}GiB, like 64MiB`);
    return n;
  };
}

export function keyValue(v: string, acc: Record<string, string>) {
  const i = v.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`expected key=value, got "${v}"`);
  return { ...acc, [v.slice(0, i)]: v.slice(i + 1) };
}

/**
 * Refuses an option given as an empty string (`--pipeline ''`): commands test options for
 * truth, so an empty one would quietly count as not given ("nothing to change").
 */
export function refuseEmptyOptions(o: Record<string, unknown>, allowed: string[] = []): void {
  for (const [k, v] of Object.entries(o)) {
    if (v === '' && !allowed.includes(k)) throw new InvalidArgumentError(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is empty: give a value, or leave the option out`);
  }
}
