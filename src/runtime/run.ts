// The one runner every bundle and the CLI go through: read raw inputs for the platform,
// validate them (before any heavy module loads), build ctx, run main or post, and turn
// errors into the platform's failure form and an exit code (0 ok, 1 failure, 2 bad input).
import { join } from 'node:path';
import { outputSpec, type Ctx, type Json, type Platform, type StateSlot, type StepDef } from './define';
import { envName, InputError, parseInputs, type RawInputs } from './inputs';
import { asWritten, inputNames, resolveAliases } from './aliases';
import { closest, parseArgs, stepHelp } from './args';
import type { PlatformIO } from './platform';
import { githubIO } from './github';
import { writeErr, writeOut } from './stdio';
import { fileIO } from './gitlab';
import { errorMessage, isShiplineError, ShiplineError } from '../lib/util/errors';
import { maskable, registerSecret } from '../lib/util/redact';
import { ensurePrivateDir, openRunDir, runDirPath } from './private';
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
  /**
   * Where SIGTERM/SIGINT come from while main runs (runAndExit: the process). On one, the
   * step's post runs once and runStep resolves 143 (SIGTERM) or 130 (SIGINT).
   */
  signals?: SignalSource;
}

export interface SignalSource {
  on(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  removeListener(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
}

const SIGNAL_EXIT = { SIGTERM: 143, SIGINT: 130 } as const;

export function detectPlatform(env: Env, viaCli: boolean): Platform {
  if (!viaCli && env.GITHUB_ACTIONS === 'true') return 'github';
  return env.GITLAB_CI === 'true' ? 'gitlab' : 'cli';
}

/** GitHub's own rule for INPUT_ names: spaces to '_', upper case, hyphens kept. */
export function githubInputVar(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/**
 * Whether SHIPLINE_INPUT_* variables are this step's: a template names its own step in
 * SHIPLINE_STEP, and the steps it composes in the same job (assume-role before build-push)
 * take theirs as flags, never the template step's variables.
 */
export function ownsInputVariables(step: Pick<StepDef, 'name'>, env: Env): boolean {
  return !env.SHIPLINE_STEP || env.SHIPLINE_STEP === step.name;
}

const INPUT_VAR = 'SHIPLINE_INPUT_';

/**
 * A SHIPLINE_INPUT_* variable no input of the step answers to: an error in a template job
 * (its own step: a typo in the job's variables), a warning elsewhere (one job may set
 * variables for several CLI steps).
 */
function unknownInputVariables(step: StepDef, env: Env, warn: (m: string) => void): void {
  const names = inputNames(step);
  const known = new Set(names.map((n) => envName(n)));
  for (const key of Object.keys(env).sort()) {
    if (!key.startsWith(INPUT_VAR) || known.has(key.slice(INPUT_VAR.length))) continue;
    if (env[key] === undefined) continue;
    const near = closest(key.slice(INPUT_VAR.length), [...known]);
    const hint = near
      ? `did you mean ${INPUT_VAR}${near}?`
      : `${step.name}'s inputs are listed by: shipline ${step.name} --help`;
    if (env.SHIPLINE_STEP === step.name)
      throw new InputError(key, `variable ${key} is not an input of ${step.name}`, hint);
    warn(`variable ${key} is not an input of ${step.name} (ignored; ${hint})`);
  }
}

function rawInputs(
  step: StepDef,
  env: Env,
  platform: Platform,
  flags: RawInputs,
  via: Record<string, string>,
): RawInputs {
  const own = ownsInputVariables(step, env);
  return resolveAliases(
    step,
    (name) =>
      platform === 'github'
        ? env[githubInputVar(name)]
        : (flags[name] ?? (own ? env[`${INPUT_VAR}${envName(name)}`] : undefined)),
    via,
  );
}

const EXPORTED_STATE = 'shipline-exported';

export async function runStep(step: StepDef, opts: RunOptions = {}): Promise<number> {
  const env: Env = opts.env ?? { ...process.env };
  const platform = detectPlatform(env, opts.viaCli === true);
  const workspace =
    (platform === 'github' ? env.GITHUB_WORKSPACE : platform === 'gitlab' ? env.CI_PROJECT_DIR : undefined) ??
    opts.cwd ??
    process.cwd();
  // The job's private directory (private.ts), opened on first use: never in the checkout.
  let runDir: string | undefined;
  const getRunDir = () => (runDir ??= openRunDir(runDirPath(platform, env, workspace), workspace));
  const io: PlatformIO =
    platform === 'github'
      ? githubIO(env, opts.stdout)
      : fileIO({
          step: step.name,
          env,
          workspace,
          platform,
          runDir: getRunDir,
          ...(opts.stdout ? { stdout: opts.stdout } : {}),
          ...(opts.stderr ? { stderr: opts.stderr } : {}),
        });

  // Each secret registered once, whoever gives it (inputs, the step, a library callback).
  // One too short to mask is not registered (masking it would garble the log and show it):
  // say once that it cannot be hidden.
  const secrets = new Set<string>();
  let warnedShort = false;
  const tooShort = (value: string): boolean => {
    if (maskable(value)) return false;
    if (!warnedShort) {
      warnedShort = true;
      io.log.warn(
        'a secret value shorter than 4 characters cannot be hidden in the log: it is not masked (use a longer value)',
      );
    }
    return true;
  };
  const secret = (value: string) => {
    if (!value || secrets.has(value) || tooShort(value)) return;
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
    if (platform !== 'github' && ownsInputVariables(step, env)) unknownInputVariables(step, env, io.log.warn);
    const via: Record<string, string> = {};
    const raw = rawInputs(step, env, platform, flags, via);
    for (const [name, spec] of Object.entries(step.inputs)) {
      const v = raw[name];
      if (spec.secret && typeof v === 'string') secret(v.trim());
    }
    try {
      inputs = parseInputs(step.inputs, raw);
    } catch (err) {
      throw asWritten(err, via);
    }
  } catch (err) {
    // In post, main already reported bad inputs; cleanup of saved state still runs.
    if (!post) return report(io, err);
    inputs = {};
  }

  let ci: CiContext | undefined;
  const secretExports = new Set<string>();
  let tempDir: string | undefined;
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
    // Private to this job (0700, outside the checkout): what a step's post may remove lies here.
    get tempDir() {
      tempDir ??= ensurePrivateDir(join(getRunDir(), 'tmp'));
      return tempDir;
    },
    log: io.log,
    setOutput: (name, value) => {
      const spec = outputSpec(step.outputs, name);
      // Only what the declaration names reaches a wrapper (action.yml, dotenv, README).
      if (!spec) throw new ShiplineError(`${step.name} set the undeclared output '${name}'`, { kind: 'bug' });
      const isSecret = spec.secret === true;
      if (isSecret && value) tooShort(value);
      io.setOutput(name, value, isSecret, spec.local === true);
      // The anchors' output names carry the same value (`imageid` for `image-id`).
      for (const alias of spec.aliases ?? []) io.setOutput(alias, value, isSecret, spec.local === true);
    },
    exportVariable: (name, value, o) => {
      if (o?.secret === true && value) tooShort(value);
      if (o?.secret === true) secretExports.add(name);
      io.exportVariable(name, value, o?.secret === true);
    },
    secret,
    state,
    lazy: () =>
      step.lazy ? step.lazy() : Promise.reject(new ShiplineError(`${step.name} has no lazy bundle`, { kind: 'bug' })),
    summary: (md) => io.summary(md),
  };

  try {
    io.begin?.();
    if (post) {
      if (step.post) await step.post(ctx as never);
      // What main exported, and the value each had before (restored, so a step that set
      // DOCKER_CONFIG does not take an earlier step's away from the posts after it).
      const saved = state<Record<string, string | null>>(EXPORTED_STATE).get();
      if (saved && typeof saved === 'object' && !Array.isArray(saved)) {
        const names = Object.keys(saved);
        const before = Object.fromEntries(
          Object.entries(saved).filter((e): e is [string, string] => typeof e[1] === 'string'),
        );
        io.unexport(names, before);
      }
      // GitHub: nothing else lives in $RUNNER_TEMP/shipline; leave no empty directories.
      if (platform === 'github') {
        const dir = runDir ?? runDirPath(platform, env, workspace);
        removeEmptyDirs([join(dir, 'tmp'), dir]);
      }
    } else {
      const interrupted = await runMain(step, ctx, io, opts.signals);
      if (interrupted !== undefined) return interrupted;
      const exported = io.exportedNames();
      if (exported.length) {
        state<Record<string, string | null>>(EXPORTED_STATE).set(
          // a secret's earlier value is not kept at rest: its post blanks it
          Object.fromEntries(exported.map((n) => [n, secretExports.has(n) ? null : (env[n] ?? null)])),
        );
      }
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

/**
 * Runs main; on SIGTERM/SIGINT meanwhile, runs the step's post once (what main recorded in
 * state before creating it: a token, a container, a key file) and returns the signal's exit
 * code without flushing outputs. A second signal while the cleanup runs changes nothing.
 */
async function runMain(
  step: StepDef,
  ctx: Ctx<Record<string, unknown>, unknown>,
  io: PlatformIO,
  signals: SignalSource | undefined,
): Promise<number | undefined> {
  if (!signals) {
    await step.main(ctx as never);
    return undefined;
  }
  let interrupted: Promise<number> | undefined;
  let wake: () => void = () => {};
  const woken = new Promise<void>((resolve) => (wake = resolve));
  const handle = (signal: keyof typeof SIGNAL_EXIT) => () => {
    if (interrupted) return;
    io.log.warn(`${signal}: stopping ${step.name}${step.post ? ' and running its cleanup' : ''}`);
    interrupted = (async () => {
      try {
        if (step.post) await step.post(ctx as never);
        const names = io.exportedNames();
        io.unexport(
          names,
          Object.fromEntries(names.flatMap((n) => (ctx.env[n] === undefined ? [] : [[n, ctx.env[n]!]]))),
        );
      } catch (err) {
        io.log.error(`cleanup after ${signal} failed: ${errorMessage(err)}`);
      }
      return SIGNAL_EXIT[signal];
    })();
    wake();
  };
  const onTerm = handle('SIGTERM');
  const onInt = handle('SIGINT');
  signals.on('SIGTERM', onTerm);
  signals.on('SIGINT', onInt);
  try {
    // Whichever comes first: main's end, or a signal; once a signal came, its cleanup
    // decides the result (main's own end or failure meanwhile is not reported).
    await Promise.race([step.main(ctx as never), woken]).catch((err: unknown) => {
      if (!interrupted) throw err;
    });
    return interrupted ? await interrupted : undefined;
  } finally {
    signals.removeListener('SIGTERM', onTerm);
    signals.removeListener('SIGINT', onInt);
  }
}

function removeEmptyDirs(dirs: string[]): void {
  const { rmdirSync } = require('node:fs') as typeof import('node:fs');
  for (const d of dirs) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (another step's files) or gone: leave it
    }
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
  runStep(step, { signals: process, ...opts }).then(
    // Output went out synchronously (stdio.ts), so exiting now loses nothing.
    (code) => process.exit(code),
    (err: unknown) => {
      writeErr(`shipline: ${errorMessage(err)}\n`);
      process.exit(1);
    },
  );
}
