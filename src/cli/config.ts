import { Config, loadConfig } from '../config';
import { asConfigError } from '../config/errors';

/**
 * The configuration, read when a command runs, never while the commands are registered (a bad
 * setting must not break `--help`, `--version` or the other commands' help). Whatever stops it
 * loading is a setting to fix: a ConfigError, which the CLI prints as one line and exits 2 on.
 */
export function cliConfig(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    throw asConfigError(err);
  }
}
