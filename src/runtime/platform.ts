// What every runtime provides to the shared runner; one implementation per platform.
import type { Logger, Platform } from './define';

export interface PlatformIO {
  readonly platform: Platform;
  readonly log: Logger;
  /** `local`: meaningful only in this job (a path, a container): kept out of what later jobs get. */
  setOutput(name: string, value: string, secret: boolean, local?: boolean): void;
  exportVariable(name: string, value: string, secret: boolean): void;
  secret(value: string): void;
  saveState(name: string, value: string): void;
  getState(name: string): string | undefined;
  summary(markdown: string): void;
  /** Prints a failure in the platform's form. */
  fail(message: string, hint: string | undefined): void;
  /** Names this phase wrote to the env file (saved so --post can remove them). */
  exportedNames(): string[];
  /** Removes variables a main phase exported (post/after_script cleanup). */
  /** `before`: the values the job had before main exported them (GitHub restores them). */
  unexport(names: string[], before?: Record<string, string>): void;
  /** Called once inputs are valid, before main or post (GitLab/CLI: opens the private dir). */
  begin?(): void;
  /** Flush files at the end of a phase. */
  finish(): void;
}
