// The problems loadConfig reports for an environment (none: an empty list), for tests of configuration.
import { ConfigError, loadConfig } from '../../src/config.js';

export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
}
