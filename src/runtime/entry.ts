// What every dist/<step>/index.js runs: executed directly it runs the step for the
// platform it finds itself on; required (by dist/cli.js or post.js) it exposes the step.
import type { StepDef } from './define';
import { runAndExit, runStep, type RunOptions } from './run';
import { envName } from './inputs';

export interface StepModule {
  step: StepDef;
  exec(opts?: RunOptions): void;
  run(opts?: RunOptions): Promise<number>;
  /** The runtime's variable-name rule (`role-arn` -> `ROLE_ARN`), for the wrapper generator. */
  envName(input: string): string;
}

export function stepModule(step: StepDef): StepModule {
  return {
    step,
    envName,
    exec: (opts = {}) => runAndExit(step, { argv: process.argv.slice(2), ...opts }),
    run: (opts = {}) => runStep(step, opts),
  };
}
