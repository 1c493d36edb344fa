// The one line `loadConfig` refuses an environment with, for the configuration tests.
import { expect } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

/** The message of the ConfigError that `env` is refused with; fails the test when it loads. */
export function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}
