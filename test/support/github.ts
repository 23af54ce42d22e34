// Run an action bundle the way GitHub's runner does: INPUT_* env, file commands
// (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STATE, GITHUB_STEP_SUMMARY, GITHUB_PATH), the event
// payload file, then the post entry with STATE_* from the saved state.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot, run, type RunResult } from './exec';

export interface GithubEvent {
  name: string;
  payload: unknown;
}

export interface RunGithubActionOptions {
  /** Main entry, e.g. 'dist/retag/index.js' (relative to the repo root, or absolute). */
  entry?: string;
  /** Post entry, e.g. 'dist/retag/post.js'. */
  post?: string;
  /** An action.yml: gives entry/post from `runs` (when not passed) and the inputs' defaults. */
  action?: string;
  /** Input values by their action.yml name (`role-arn`, `build args`…). */
  inputs?: Record<string, string>;
  /** Extra environment (undefined removes a variable). Applied over the runner defaults. */
  env?: Record<string, string | undefined>;
  event?: GithubEvent;
  /** Node binary (default: the one running the tests); see node24.ts. */
  node?: string;
  /** GITHUB_WORKSPACE and the process cwd (default: a fresh temp dir). */
  workspace?: string;
  /** Run the post entry (default true when there is one): the runner's `post-if: always()`. */
  runPost?: boolean;
  timeoutMs?: number;
}

export interface WorkflowCommand {
  command: string;
  properties: Record<string, string>;
  value: string;
}

export interface GithubRunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  /** Variables exported through GITHUB_ENV. */
  env: Record<string, string>;
  /** Values saved through GITHUB_STATE. */
  state: Record<string, string>;
  summary: string;
  /** Entries added through GITHUB_PATH. */
  path: string[];
  /** `::add-mask::` values announced on stdout. */
  masks: string[];
  /** Workflow commands (`::name k=v::value`) seen on stdout, main and post. */
  commands: WorkflowCommand[];
  postExitCode?: number;
  postStdout?: string;
  postStderr?: string;
  postOutputs?: Record<string, string>;
  /** Temp dir holding the runner files, the event file and (by default) the workspace. */
  tempDir: string;
  workspace: string;
  files: { output: string; env: string; state: string; summary: string; path: string; event: string };
  main: RunResult;
  postRun?: RunResult;
  /** Remove tempDir (call when done; leaves a caller-given workspace alone). */
  cleanup(): void;
}

/** Parse a GitHub file-command file: `name=value` lines and `name<<DELIM` heredocs. */
export function parseFileCommands(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line) continue;
    const eq = line.indexOf('=');
    const hd = line.indexOf('<<');
    if (eq > 0 && (hd < 0 || eq < hd)) {
      out[line.slice(0, eq)] = line.slice(eq + 1);
      continue;
    }
    if (hd > 0) {
      const name = line.slice(0, hd);
      const delim = line.slice(hd + 2);
      const value: string[] = [];
      let closed = false;
      for (i++; i < lines.length; i++) {
        if (lines[i] === delim) {
          closed = true;
          break;
        }
        value.push(lines[i]!);
      }
      if (!closed) throw new Error(`file command ${name}: heredoc delimiter ${delim} never closed`);
      out[name] = value.join('\n');
      continue;
    }
    throw new Error(`file command line is neither name=value nor name<<DELIM: ${JSON.stringify(line)}`);
  }
  return out;
}

const unescapeData = (s: string) => s.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%25/g, '%');
const unescapeProp = (s: string) => unescapeData(s).replace(/%3A/gi, ':').replace(/%2C/gi, ',');

/** Workflow commands (`::command key=value,…::message`) in a stdout capture. */
export function parseWorkflowCommands(stdout: string): WorkflowCommand[] {
  const out: WorkflowCommand[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const m = /^::([A-Za-z][\w-]*)(?: ([^:]*))?::(.*)$/.exec(line);
    if (!m) continue;
    const properties: Record<string, string> = {};
    for (const kv of (m[2] ?? '').split(',').filter(Boolean)) {
      const i = kv.indexOf('=');
      if (i > 0) properties[kv.slice(0, i)] = unescapeProp(kv.slice(i + 1));
    }
    out.push({ command: m[1]!, properties, value: unescapeData(m[3]!) });
  }
  return out;
}

/** The runner's environment variable name for an input. */
export const inputEnvName = (name: string): string => `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;

const RUNNER_PREFIXES = /^(GITHUB_|INPUT_|STATE_|RUNNER_|ACTIONS_)/;

interface ActionYml {
  inputs?: Record<string, { default?: unknown }>;
  runs?: { main?: string; post?: string };
}

const abs = (p: string) => (path.isAbsolute(p) ? p : path.join(repoRoot, p));

export async function runGithubAction(opts: RunGithubActionOptions): Promise<GithubRunResult> {
  let entry = opts.entry;
  let post = opts.post;
  const defaults: Record<string, string> = {};
  if (opts.action) {
    const file = abs(opts.action);
    const yml = parseYaml(fs.readFileSync(file, 'utf8')) as ActionYml;
    const dir = path.dirname(file);
    if (!entry && yml.runs?.main) entry = path.join(dir, yml.runs.main);
    if (!post && yml.runs?.post) post = path.join(dir, yml.runs.post);
    for (const [name, def] of Object.entries(yml.inputs ?? {})) {
      if (def?.default === undefined || def.default === null) continue;
      const v = String(def.default);
      defaults[name] = v.includes('${{') ? '' : v; // expressions are the runner's; tests pass values explicitly
    }
  }
  if (!entry) throw new Error('runGithubAction needs `entry` or an `action` whose runs.main is set');

  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-gha-'));
  const runnerTemp = path.join(tempDir, 'runner-temp');
  const commandsDir = path.join(tempDir, 'file-commands');
  fs.mkdirSync(runnerTemp);
  fs.mkdirSync(commandsDir);
  const workspace = opts.workspace ?? path.join(tempDir, 'workspace');
  fs.mkdirSync(workspace, { recursive: true });
  const files = {
    output: path.join(commandsDir, 'set_output'),
    env: path.join(commandsDir, 'set_env'),
    state: path.join(commandsDir, 'save_state'),
    summary: path.join(commandsDir, 'step_summary'),
    path: path.join(commandsDir, 'add_path'),
    event: path.join(tempDir, 'event.json'),
  };
  for (const f of [files.output, files.env, files.state, files.summary, files.path]) fs.writeFileSync(f, '');
  const eventName = opts.event?.name ?? 'push';
  const payload = opts.event?.payload ?? {
    ref: 'refs/heads/main',
    repository: {
      name: 'shipline',
      full_name: 'shipline/shipline',
      default_branch: 'main',
      owner: { login: 'shipline' },
    },
  };
  fs.writeFileSync(files.event, JSON.stringify(payload, null, 2));

  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!RUNNER_PREFIXES.test(k) && v !== undefined) base[k] = v;
  Object.assign(base, {
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'shipline/shipline',
    GITHUB_REPOSITORY_OWNER: 'shipline',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_REF_TYPE: 'branch',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_GRAPHQL_URL: 'https://api.github.com/graphql',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_NUMBER: '7',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_JOB: 'test',
    GITHUB_ACTION: '__shipline',
    GITHUB_ACTOR: 'octo',
    GITHUB_WORKFLOW: 'ci',
    GITHUB_EVENT_NAME: eventName,
    GITHUB_EVENT_PATH: files.event,
    GITHUB_WORKSPACE: workspace,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_NAME: 'shipline-test-runner',
    RUNNER_ENVIRONMENT: 'github-hosted',
    RUNNER_TEMP: runnerTemp,
    RUNNER_TOOL_CACHE: path.join(tempDir, 'tool-cache'),
  });
  const inputs = { ...defaults, ...opts.inputs };
  for (const [name, value] of Object.entries(inputs)) base[inputEnvName(name)] = value;
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  const node = opts.node ?? process.execPath;
  const timeoutMs = opts.timeoutMs ?? 120_000;

  const main = await run(node, [abs(entry)], {
    cwd: workspace,
    env: {
      ...base,
      GITHUB_OUTPUT: files.output,
      GITHUB_ENV: files.env,
      GITHUB_STATE: files.state,
      GITHUB_STEP_SUMMARY: files.summary,
      GITHUB_PATH: files.path,
    },
    timeoutMs,
  });
  const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
  const outputs = parseFileCommands(read(files.output));
  const exported = parseFileCommands(read(files.env));
  const state = parseFileCommands(read(files.state));
  const addedPath = read(files.path).split(/\r?\n/).filter(Boolean);
  const commands = parseWorkflowCommands(main.stdout);

  const result: GithubRunResult = {
    exitCode: main.code,
    stdout: main.stdout,
    stderr: main.stderr,
    outputs,
    env: exported,
    state,
    summary: read(files.summary),
    path: addedPath,
    masks: [],
    commands,
    tempDir,
    workspace,
    files,
    main,
    cleanup: () => fs.rmSync(tempDir, { recursive: true, force: true }),
  };

  if (post && opts.runPost !== false) {
    const postFiles = {
      output: `${files.output}.post`,
      env: `${files.env}.post`,
      state: `${files.state}.post`,
      summary: `${files.summary}.post`,
      path: `${files.path}.post`,
    };
    for (const f of Object.values(postFiles)) fs.writeFileSync(f, '');
    const postEnv: NodeJS.ProcessEnv = { ...base, ...exported };
    for (const [k, v] of Object.entries(state)) postEnv[`STATE_${k}`] = v;
    if (addedPath.length) postEnv.PATH = [...addedPath.slice().reverse(), base.PATH ?? ''].join(path.delimiter);
    const postRun = await run(node, [abs(post)], {
      cwd: workspace,
      env: {
        ...postEnv,
        GITHUB_OUTPUT: postFiles.output,
        GITHUB_ENV: postFiles.env,
        GITHUB_STATE: postFiles.state,
        GITHUB_STEP_SUMMARY: postFiles.summary,
        GITHUB_PATH: postFiles.path,
      },
      timeoutMs,
    });
    result.postRun = postRun;
    result.postExitCode = postRun.code;
    result.postStdout = postRun.stdout;
    result.postStderr = postRun.stderr;
    result.postOutputs = parseFileCommands(read(postFiles.output));
    result.summary += read(postFiles.summary);
    result.commands.push(...parseWorkflowCommands(postRun.stdout));
  }
  result.masks = result.commands.filter((c) => c.command === 'add-mask').map((c) => c.value);
  return result;
}
