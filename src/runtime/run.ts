// The one runner every bundle and the CLI go through: read raw inputs for the platform,
// validate them (before any heavy module loads), build ctx, run main or post, and turn
// errors into the platform's failure form and an exit code (0 ok, 1 failure, 2 bad input).
import { tmpdir } from 'node:os';
import type { Ctx, Json, Platform, StateSlot, StepDef } from './define';
import { envName, parseInputs, type RawInputs } from './inputs';
import { parseArgs, stepHelp } from './args';
import type { PlatformIO } from './platform';
import { githubIO } from './github';
import { writeErr, writeOut } from './stdio';
import { fileIO } from './gitlab';
import { errorMessage, isShiplineError, ShiplineError } from '../lib/util/errors';
import { registerSecret } from '../lib/util/redact';
import { detectContext, type CiContext } from '../lib/ci/context';
import type { Env } from '../lib/util/env';

export interface RunOptions {
  argv?: string[];
  env?: Env;
  /** Called through `shipline <step>`: inputs from flags, never the GitHub protocol. */
  viaCli?: boolean;
  post?: boolean;
  cwd?: string;
  /** Override output streams (tests). */
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
}

export function detectPlatform(env: Env, viaCli: boolean): Platform {
  if (!viaCli && env.GITHUB_ACTIONS === 'true') return 'github';
  return env.GITLAB_CI === 'true' ? 'gitlab' : 'cli';
}

/** GitHub's own rule for INPUT_ names: spaces to '_', upper case, hyphens kept. */
export function githubInputVar(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

function rawInputs(step: StepDef, env: Env, platform: Platform, flags: RawInputs): RawInputs {
  const raw: RawInputs = {};
  for (const name of Object.keys(step.inputs)) {
    raw[name] =
      platform === 'github' ? env[githubInputVar(name)] : (flags[name] ?? env[`SHIPLINE_INPUT_${envName(name)}`]);
  }
  return raw;
}

const EXPORTED_STATE = 'shipline-exported';

export async function runStep(step: StepDef, opts: RunOptions = {}): Promise<number> {
  const env: Env = opts.env ?? { ...process.env };
  const platform = detectPlatform(env, opts.viaCli === true);
  const workspace =
    (platform === 'github' ? env.GITHUB_WORKSPACE : platform === 'gitlab' ? env.CI_PROJECT_DIR : undefined) ??
    opts.cwd ??
    process.cwd();
  const io: PlatformIO =
    platform === 'github'
      ? githubIO(env, opts.stdout)
      : fileIO({
          step: step.name,
          env,
          workspace,
          platform,
          ...(opts.stdout ? { stdout: opts.stdout } : {}),
          ...(opts.stderr ? { stderr: opts.stderr } : {}),
        });

  // Each secret registered once, whoever gives it (inputs, the step, a library callback).
  const secrets = new Set<string>();
  const secret = (value: string) => {
    if (!value || secrets.has(value)) return;
    secrets.add(value);
    registerSecret(value);
    io.secret(value);
  };
  let post = opts.post === true;
  let inputs: Record<string, unknown>;
  try {
    let flags: RawInputs = {};
    if (platform !== 'github' && opts.argv) {
      const args = parseArgs(step, opts.argv);
      if (args.help) {
        (opts.stdout ?? writeOut)(stepHelp(step));
        return 0;
      }
      post = post || args.post;
      flags = args.inputs;
    }
    const raw = rawInputs(step, env, platform, flags);
    for (const [name, spec] of Object.entries(step.inputs)) {
      const v = raw[name];
      if (spec.secret && typeof v === 'string') secret(v.trim());
    }
    inputs = parseInputs(step.inputs, raw);
  } catch (err) {
    // In post, main already reported bad inputs; cleanup of saved state still runs.
    if (!post) return report(io, err);
    inputs = {};
  }

  let ci: CiContext | undefined;
  const state = <T extends Json>(name: string): StateSlot<T> => ({
    get() {
      const raw = io.getState(name);
      if (raw === undefined || raw === '') return undefined;
      try {
        return JSON.parse(raw) as T;
      } catch {
        return undefined; // not written by this step: ignore it
      }
    },
    set: (value) => io.saveState(name, JSON.stringify(value)),
    clear: () => io.saveState(name, ''),
  });
  const ctx: Ctx<Record<string, unknown>, unknown> = {
    inputs,
    platform,
    env,
    get ci() {
      ci ??= detectContext(env);
      return ci;
    },
    workspace,
    tempDir: env.RUNNER_TEMP || env.TMPDIR || tmpdir(),
    log: io.log,
    setOutput: (name, value) => io.setOutput(name, value, step.outputs[name]?.secret === true),
    exportVariable: (name, value, o) => io.exportVariable(name, value, o?.secret === true),
    secret,
    state,
    lazy: () =>
      step.lazy ? step.lazy() : Promise.reject(new ShiplineError(`${step.name} has no lazy bundle`, { kind: 'bug' })),
    summary: (md) => io.summary(md),
  };

  try {
    if (post) {
      if (step.post) await step.post(ctx as never);
      const names = state<string[]>(EXPORTED_STATE).get();
      if (Array.isArray(names)) io.unexport(names.filter((n) => typeof n === 'string'));
    } else {
      await step.main(ctx as never);
      const exported = io.exportedNames();
      if (exported.length) state<string[]>(EXPORTED_STATE).set(exported);
    }
    io.finish();
    return 0;
  } catch (err) {
    try {
      io.finish();
    } catch {
      // the original error matters more
    }
    return report(io, err);
  }
}

function report(io: PlatformIO, err: unknown): number {
  if (isShiplineError(err) && err.kind !== 'bug') {
    io.fail(err.message, err.hint);
    return err.exitCode;
  }
  io.fail(`unexpected error: ${errorMessage(err)}`, 'this is a shipline bug; please report it with the log above');
  if (err instanceof Error && err.stack) io.log.debug(err.stack);
  return 1;
}

/** Runs and exits the process once stdout/stderr are flushed (open sockets must not hang a job). */
export function runAndExit(step: StepDef, opts: RunOptions = {}): void {
  runStep(step, opts).then(
    // Output went out synchronously (stdio.ts), so exiting now loses nothing.
    (code) => process.exit(code),
    (err: unknown) => {
      writeErr(`shipline: ${errorMessage(err)}\n`);
      process.exit(1);
    },
  );
}
