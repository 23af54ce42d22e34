// What every runtime provides to the shared runner; one implementation per platform.
import type { Logger, Platform } from './define';

export interface PlatformIO {
  readonly platform: Platform;
  readonly log: Logger;
  setOutput(name: string, value: string, secret: boolean): void;
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
  unexport(names: string[]): void;
  /** Flush files at the end of a phase. */
  finish(): void;
}
