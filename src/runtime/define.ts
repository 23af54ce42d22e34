// The step contract: one declaration per step, from which the runtimes, the CLI help and
// the generated wrappers (action.yml, GitLab templates, README tables) are all derived.
import type { CiContext } from '../lib/ci/context';
import type { Env } from '../lib/util/env';
import type { UnsupportedInput } from './aliases';

export type InputType = 'string' | 'boolean' | 'number' | 'list';

export interface InputSpec {
  type?: InputType; // default 'string'
  description: string;
  required?: boolean;
  default?: string | number | boolean;
  options?: readonly string[];
  /** Each value (each item for lists) must match. */
  regex?: string;
  /** Human form of what `regex` accepts, used in errors. */
  form?: string;
  /** Extra check per value (per item for lists): returns the problem, or undefined. */
  check?: (value: string) => string | undefined;
  secret?: boolean;
  /**
   * `false`: the value is kept as given, whitespace included (a separator such as `' '` or a
   * newline, as docker/metadata-action reads `sep-tags`); only `''` counts as not given.
   */
  trim?: boolean;
  /** Lists: split on newlines only (items may contain commas, e.g. tag rules, commands). */
  lines?: boolean;
  /** Where a GitLab job gets the default from, e.g. `$CI_REGISTRY_IMAGE`. */
  gitlabDefault?: string;
  /** Where a GitHub action gets the default from, e.g. `${{ github.token }}`. */
  githubDefault?: string;
  /** Default value spelled for docs only (e.g. computed at run time). */
  defaultDoc?: string;
  /** The same input under an anchor action's name (`role-to-assume` for `role-arn`). */
  aliases?: readonly string[];
  /** Booleans: an anchor's name meaning the opposite (`skip-logout` for `logout`). */
  negatedAliases?: readonly string[];
}

export type InputSpecs = Record<string, InputSpec>;

// An input's value type, from its declaration: `options` become a literal union.
type ValueOf<T> = T extends { type: 'boolean' }
  ? boolean
  : T extends { type: 'number' }
    ? number
    : T extends { type: 'list' }
      ? string[]
      : T extends { options: readonly (infer O extends string)[] }
        ? O
        : string;

/** kebab-case input name -> camelCase property. */
type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;

export type InputValues<S extends InputSpecs> = {
  [K in keyof S & string as Camel<K>]: S[K] extends { required: true }
    ? ValueOf<S[K]>
    : S[K] extends { default: string | number | boolean }
      ? ValueOf<S[K]>
      : S[K] extends { type: 'list' | 'boolean' }
        ? ValueOf<S[K]>
        : ValueOf<S[K]> | undefined;
};

export interface OutputSpec {
  description: string;
  secret?: boolean;
  /** The same output under an anchor action's name (`imageid` for `image-id`). */
  aliases?: readonly string[];
  /**
   * Meaningful only in the job that set it (a path in the job's private directory, a
   * container removed when the job ends): kept out of GitLab's dotenv report, so later
   * jobs never get a stale path of another runner.
   */
  local?: boolean;
}

/**
 * An output whose name ends in a part known only at run time: declared as `<prefix>*`
 * (amazon-ecr-login's `docker_username_*`), set as `<prefix><suffix>` with a suffix of
 * letters, digits and `_`. GitHub passes a JavaScript action's undeclared outputs on, so
 * action.yml leaves these out; README lists them.
 */
export function outputSpec(outputs: Record<string, OutputSpec>, name: string): OutputSpec | undefined {
  if (Object.hasOwn(outputs, name)) return outputs[name];
  for (const [key, spec] of Object.entries(outputs)) {
    if (!key.endsWith('*')) continue;
    const prefix = key.slice(0, -1);
    if (name.startsWith(prefix) && /^[A-Za-z0-9_]+$/.test(name.slice(prefix.length))) return spec;
  }
  return undefined;
}

export type Platform = 'github' | 'gitlab' | 'cli';

export interface Logger {
  info(msg: string): void;
  debug(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** A collapsible section (GitHub group, GitLab section); returns fn's result. */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
}

/** One typed value kept from main for post (GitHub state, a 0600 state file elsewhere). */
export interface StateSlot<T> {
  get(): T | undefined;
  set(value: T): void;
  clear(): void;
}

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface Ctx<I, L = never> {
  readonly inputs: I;
  readonly platform: Platform;
  /** The job's environment, read-only. Steps never touch process.env. */
  readonly env: Env;
  /** Normalised CI context (computed on first use). */
  readonly ci: CiContext;
  /** Where the job's checkout lives. */
  readonly workspace: string;
  /**
   * A directory private to this job (0700, outside the checkout, created on first use):
   * GitLab $SHIPLINE_RUN_DIR/tmp, GitHub $RUNNER_TEMP/shipline/tmp, CLI a per-user dir
   * under the system temp dir. A post acts only on paths under it (`ownedPath` in
   * src/lib/util/paths.ts).
   */
  readonly tempDir: string;
  readonly log: Logger;
  /** Set an output. Secret outputs are masked (GitHub) and never written to dotenv (GitLab). */
  setOutput(name: string, value: string): void;
  /** Make a variable visible to the job's later steps/script lines. */
  exportVariable(name: string, value: string, opts?: { secret?: boolean }): void;
  /** Register a secret value so it is masked from every later log line (once per value). */
  secret(value: string): void;
  /** A typed value kept from main for post, by name. */
  state<T extends Json>(name: string): StateSlot<T>;
  /** The step's heavy dependencies (dist/<step>/lazy.js), loaded after inputs validated. */
  lazy(): Promise<L>;
  /** Append Markdown to the job summary (GitHub) or log it as a section (GitLab/CLI). */
  summary(markdown: string): void;
}

export interface StepDef<S extends InputSpecs = InputSpecs, L = unknown> {
  name: string;
  description: string;
  inputs: S;
  outputs: Record<string, OutputSpec>;
  /** Variables the step may export (documented; exported through ctx.exportVariable). */
  exports?: Record<string, string>;
  /** Anchor inputs shipline does not honour: refused (exit 2) when given, saying why. */
  unsupported?: Record<string, UnsupportedInput>;
  /** `async () => require('./lazy')`: becomes dist/<step>/lazy.js, reached through ctx.lazy(). */
  lazy?: () => Promise<L>;
  main(ctx: Ctx<InputValues<S>, L>): Promise<void>;
  post?(ctx: Ctx<InputValues<S>, L>): Promise<void>;
  /** GitLab template: extra job keys and script lines around the step call. */
  gitlab?: GitlabJobHints;
}

export interface GitlabJobHints {
  /** Default stage. */
  stage?: string;
  /**
   * Unused since #14: every template's job image (input `image`, or `job-image` when the
   * step has its own `image`) defaults to the shipline job image of the included version.
   */
  image?: string;
  /** The job runs the docker CLI (said in the image input's description). */
  needsDocker?: boolean;
  /** The step writes exported variables that later script lines need. */
  sourceEnv?: boolean;
  /** Rules block for the job (YAML object), e.g. tag pipelines only. */
  rules?: unknown[];
  /** Unused: every template has the input `script` (the user's commands after the step in the same job). */
  userScript?: boolean;
  /** Extra template-only inputs (not step inputs), e.g. `image`. */
  extraInputs?: Record<string, { description: string; default: string }>;
  /**
   * The job talks to registries: its template also takes the credential inputs
   * (`aws-role-arn` → assume-role + ecr-login, `auth-config-variable` → registry-login),
   * runs those steps before this one in the same job, and gets `before-script`/`script`.
   */
  registryCredentials?: boolean;
  /** The job writes docker credentials: it gets its own DOCKER_CONFIG, never the runner user's. */
  dockerConfig?: boolean;
  /** Artifacts paths to keep (besides the dotenv report). */
  artifacts?: string[];
}

// `const S`: option lists are inferred as literal tuples, so their values type as unions.
export function defineStep<const S extends InputSpecs, L = never>(def: StepDef<S, L>): StepDef<S, L> {
  return def;
}

export function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
