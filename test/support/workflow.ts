// Run one job of a GitHub workflow file the way the runner does, step by step, on this
// machine: `uses:` steps run their action's node entry (INPUT_* from `with:`, defaults from
// action.yml), `run:` steps run in bash -e; GITHUB_ENV and GITHUB_PATH carry over to later
// steps, each step gets its own GITHUB_OUTPUT, `${{ … }}` expressions are evaluated (the
// contexts github, env, steps, secrets, vars, inputs, job, runner and the usual functions),
// `if:` decides, and post entries run after the last step in reverse order with their state.
// What `uses:` means is the caller's: map it to a local action directory, or skip it
// (actions/checkout when the workspace is already there).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { run } from './exec';
import { inputEnvName, parseFileCommands, type GithubEvent } from './github';

export type UsesResolution = { actionDir: string } | { skip: true; outputs?: Record<string, string> };

export interface WorkflowRunOptions {
  workflow: string;
  job: string;
  event?: GithubEvent;
  /** Runner/job environment over the defaults (GITHUB_SHA, GITHUB_REF, …; undefined removes). */
  env?: Record<string, string | undefined>;
  secrets?: Record<string, string>;
  vars?: Record<string, string>;
  inputs?: Record<string, string>;
  resolveUses(uses: string): UsesResolution;
  workspace?: string;
  node?: string;
  timeoutMs?: number;
}

export interface StepRecord {
  id: string;
  name: string;
  kind: 'uses' | 'run' | 'skipped' | 'post';
  exitCode: number;
  outputs: Record<string, string>;
  stdout: string;
  stderr: string;
}

export interface WorkflowRunResult {
  ok: boolean;
  steps: StepRecord[];
  posts: StepRecord[];
  /** Everything the steps exported through GITHUB_ENV. */
  env: Record<string, string>;
  summary: string;
  workspace: string;
  cleanup(): void;
}

interface StepYml {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  if?: string | boolean;
  shell?: string;
  'continue-on-error'?: boolean;
  'working-directory'?: string;
}

interface ActionYml {
  inputs?: Record<string, { default?: unknown }>;
  runs?: { using?: string; main?: string; post?: string; 'post-if'?: string };
}

// ------------------------------------------------------------------ expressions

type Value = string | number | boolean | null | undefined | Value[] | { [k: string]: Value };

const truthy = (v: Value) => v !== null && v !== undefined && v !== false && v !== 0 && v !== '';
const str = (v: Value): string =>
  v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
const eq = (a: Value, b: Value) =>
  typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : str(a) === str(b);

/** A small evaluator for the expression syntax workflows use (no object filters `*`). */
export function evaluate(expr: string, ctx: Record<string, Value>, status: { failed: boolean }): Value {
  const tokens = expr.match(/\s*(&&|\|\||==|!=|<=|>=|[<>!(),.[\]]|'(?:[^']|'')*'|[A-Za-z_][\w-]*|\d+(?:\.\d+)?)\s*/g);
  if (!tokens || tokens.join('').replace(/\s/g, '') !== expr.replace(/\s/g, '')) {
    throw new Error(`expression not understood: ${expr}`);
  }
  const t = tokens.map((s) => s.trim());
  let i = 0;
  const peek = () => t[i];
  const next = () => t[i++];
  const expect = (s: string) => {
    if (next() !== s) throw new Error(`expected ${s} in ${expr}`);
  };
  const primary = (): Value => {
    const tok = next();
    if (tok === undefined) throw new Error(`unexpected end of ${expr}`);
    if (tok === '(') {
      const v = or();
      expect(')');
      return v;
    }
    if (tok === '!') return !truthy(primary());
    if (tok.startsWith("'")) return tok.slice(1, -1).replace(/''/g, "'");
    if (/^\d/.test(tok)) return Number(tok);
    if (tok === 'true' || tok === 'false') return tok === 'true';
    if (tok === 'null') return null;
    if (peek() === '(') {
      next();
      const args: Value[] = [];
      while (peek() !== ')') {
        args.push(or());
        if (peek() === ',') next();
      }
      expect(')');
      return call(tok, args);
    }
    let v: Value = ctx[tok];
    for (;;) {
      if (peek() === '.') {
        next();
        const key = next()!;
        v = v && typeof v === 'object' && !Array.isArray(v) ? v[key] : undefined;
      } else if (peek() === '[') {
        next();
        const key = or();
        expect(']');
        v = Array.isArray(v) ? v[Number(key)] : v && typeof v === 'object' ? v[str(key)] : undefined;
      } else return v;
    }
  };
  const call = (name: string, args: Value[]): Value => {
    switch (name.toLowerCase()) {
      case 'always':
        return true;
      case 'success':
        return !status.failed;
      case 'failure':
        return status.failed;
      case 'cancelled':
        return false;
      case 'contains':
        return Array.isArray(args[0])
          ? args[0].some((x) => eq(x, args[1]))
          : str(args[0]).toLowerCase().includes(str(args[1]).toLowerCase());
      case 'startswith':
        return str(args[0]).toLowerCase().startsWith(str(args[1]).toLowerCase());
      case 'endswith':
        return str(args[0]).toLowerCase().endsWith(str(args[1]).toLowerCase());
      case 'format':
        return str(args[0]).replace(/\{(\d+)\}/g, (_, n: string) => str(args[Number(n) + 1]));
      case 'join':
        return Array.isArray(args[0])
          ? args[0].map(str).join(args[1] === undefined ? ',' : str(args[1]))
          : str(args[0]);
      case 'tojson':
        return JSON.stringify(args[0] ?? null, null, 2);
      case 'fromjson':
        return JSON.parse(str(args[0])) as Value;
      default:
        throw new Error(`function ${name}() is not supported by this harness`);
    }
  };
  const cmp = (): Value => {
    let v = primary();
    while (peek() === '==' || peek() === '!=') {
      const op = next();
      const w = primary();
      v = op === '==' ? eq(v, w) : !eq(v, w);
    }
    return v;
  };
  const and = (): Value => {
    let v = cmp();
    while (peek() === '&&') {
      next();
      const w = cmp();
      v = truthy(v) ? w : v;
    }
    return v;
  };
  const or = (): Value => {
    let v = and();
    while (peek() === '||') {
      next();
      const w = and();
      v = truthy(v) ? v : w;
    }
    return v;
  };
  const v = or();
  if (i !== t.length) throw new Error(`unexpected ${t[i]} in ${expr}`);
  return v;
}

/** Substitutes every `${{ … }}` in text. */
export function interpolate(text: string, ctx: Record<string, Value>, status: { failed: boolean }): string {
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, e: string) => str(evaluate(e.trim(), ctx, status)));
}

// ------------------------------------------------------------------ the job

const DEFAULT_PAYLOAD = {
  ref: 'refs/heads/main',
  repository: {
    name: 'shipline',
    full_name: 'shipline/shipline',
    default_branch: 'main',
    owner: { login: 'shipline' },
  },
};

export async function runWorkflowJob(opts: WorkflowRunOptions): Promise<WorkflowRunResult> {
  const wf = parseYaml(fs.readFileSync(opts.workflow, 'utf8')) as {
    env?: Record<string, unknown>;
    jobs: Record<string, { env?: Record<string, unknown>; steps: StepYml[] }>;
  };
  const job = wf.jobs[opts.job];
  if (!job) throw new Error(`${opts.workflow} has no job ${opts.job}`);
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-wf-'));
  const workspace = opts.workspace ?? path.join(tempDir, 'workspace');
  const runnerTemp = path.join(tempDir, 'runner-temp');
  fs.mkdirSync(workspace, { recursive: true });
  fs.mkdirSync(runnerTemp);
  const event = opts.event ?? { name: 'push', payload: DEFAULT_PAYLOAD };
  const eventFile = path.join(tempDir, 'event.json');
  fs.writeFileSync(eventFile, JSON.stringify(event.payload, null, 2));
  const envFile = path.join(tempDir, 'env');
  const pathFile = path.join(tempDir, 'path');
  const summaryFile = path.join(tempDir, 'summary');
  for (const f of [envFile, pathFile, summaryFile]) fs.writeFileSync(f, '');

  const runner: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(GITHUB_|INPUT_|STATE_|RUNNER_|ACTIONS_)/.test(k)) runner[k] = v;
  }
  Object.assign(runner, {
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
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_NUMBER: '7',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_JOB: opts.job,
    GITHUB_ACTOR: 'octo',
    GITHUB_WORKFLOW: path.basename(opts.workflow),
    GITHUB_EVENT_NAME: event.name,
    GITHUB_EVENT_PATH: eventFile,
    GITHUB_WORKSPACE: workspace,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_NAME: 'shipline-workflow-harness',
    RUNNER_ENVIRONMENT: 'github-hosted',
    RUNNER_TEMP: runnerTemp,
  });
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete runner[k];
    else runner[k] = v;
  }

  const status = { failed: false };
  const exported: Record<string, string> = {};
  const addedPath: string[] = [];
  const stepsCtx: Record<string, Value> = {};
  const github: Record<string, Value> = {
    event: event.payload as Value,
    event_name: event.name,
    sha: runner.GITHUB_SHA,
    ref: runner.GITHUB_REF,
    ref_name: runner.GITHUB_REF_NAME,
    ref_type: runner.GITHUB_REF_TYPE,
    repository: runner.GITHUB_REPOSITORY,
    repository_owner: runner.GITHUB_REPOSITORY_OWNER,
    actor: runner.GITHUB_ACTOR,
    workspace,
    run_id: runner.GITHUB_RUN_ID,
    run_number: runner.GITHUB_RUN_NUMBER,
    job: opts.job,
    token: opts.secrets?.GITHUB_TOKEN ?? 'ghs_harness_token',
    server_url: runner.GITHUB_SERVER_URL,
  };
  const ctxFor = (env: Record<string, string>): Record<string, Value> => ({
    github,
    env,
    steps: stepsCtx,
    secrets: { GITHUB_TOKEN: str(github.token), ...opts.secrets },
    vars: { ...opts.vars },
    inputs: { ...opts.inputs },
    job: { status: status.failed ? 'failure' : 'success' },
    runner: { os: 'Linux', arch: 'X64', temp: runnerTemp },
  });
  const evalMap = (m: Record<string, unknown> | undefined, env: Record<string, string>) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m ?? {})) out[k] = interpolate(str(v as Value), ctxFor(env), status);
    return out;
  };
  const workflowEnv = evalMap(wf.env, {});
  const jobEnv = { ...workflowEnv, ...evalMap(job.env, workflowEnv) };

  const steps: StepRecord[] = [];
  const posts: {
    record: Omit<StepRecord, 'exitCode' | 'stdout' | 'stderr' | 'outputs'>;
    run: () => Promise<StepRecord>;
  }[] = [];
  const node = opts.node ?? process.execPath;
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');

  for (const [n, step] of job.steps.entries()) {
    const id = step.id ?? `__step${n}`;
    const name = step.name ?? step.uses ?? (step.run ?? '').split('\n')[0]!;
    const baseEnv = { ...jobEnv, ...exported };
    const cond = step.if === undefined ? 'success()' : String(step.if).replace(/^\$\{\{([\s\S]*)\}\}$/, '$1');
    if (!truthy(evaluate(cond, ctxFor(baseEnv), status))) {
      steps.push({ id, name, kind: 'skipped', exitCode: 0, outputs: {}, stdout: '', stderr: '' });
      continue;
    }
    const stepEnv = { ...baseEnv, ...evalMap(step.env, baseEnv) };
    const outputFile = path.join(tempDir, `output-${n}`);
    fs.writeFileSync(outputFile, '');
    const files = {
      GITHUB_OUTPUT: outputFile,
      GITHUB_ENV: envFile,
      GITHUB_PATH: pathFile,
      GITHUB_STEP_SUMMARY: summaryFile,
    };
    const PATH = [...addedPath.slice().reverse(), runner.PATH ?? ''].join(':');
    let record: StepRecord;
    if (step.uses) {
      const target = opts.resolveUses(interpolate(step.uses, ctxFor(stepEnv), status));
      if ('skip' in target) {
        record = { id, name, kind: 'skipped', exitCode: 0, outputs: target.outputs ?? {}, stdout: '', stderr: '' };
      } else {
        const action = parseYaml(fs.readFileSync(path.join(target.actionDir, 'action.yml'), 'utf8')) as ActionYml;
        if (!action.runs?.main || !/^node\d+$/.test(action.runs.using ?? '')) {
          throw new Error(`${step.uses}: only node actions are supported by this harness`);
        }
        const inputs: Record<string, string> = {};
        for (const [k, def] of Object.entries(action.inputs ?? {})) {
          if (def?.default !== undefined && def.default !== null) {
            inputs[k] = interpolate(str(def.default as Value), ctxFor(stepEnv), status);
          }
        }
        Object.assign(inputs, evalMap(step.with, stepEnv));
        const stateFile = path.join(tempDir, `state-${n}`);
        fs.writeFileSync(stateFile, '');
        const env: Record<string, string> = { ...runner, ...stepEnv, ...files, GITHUB_STATE: stateFile, PATH };
        for (const [k, v] of Object.entries(inputs)) env[inputEnvName(k)] = v;
        const r = await run(node, [path.join(target.actionDir, action.runs.main)], { cwd: workspace, env, timeoutMs });
        record = { id, name, kind: 'uses', exitCode: r.code, outputs: {}, stdout: r.stdout, stderr: r.stderr };
        if (action.runs.post) {
          const postEntry = path.join(target.actionDir, action.runs.post);
          const postIf = (action.runs['post-if'] ?? 'always()').replace(/^\$\{\{([\s\S]*)\}\}$/, '$1');
          posts.push({
            record: { id, name: `Post ${name}`, kind: 'post' },
            run: async () => {
              if (!truthy(evaluate(postIf, ctxFor({ ...jobEnv, ...exported }), status))) {
                return { id, name: `Post ${name}`, kind: 'skipped', exitCode: 0, outputs: {}, stdout: '', stderr: '' };
              }
              const state: Record<string, string> = {};
              for (const [k, v] of Object.entries(parseFileCommands(read(stateFile)))) state[`STATE_${k}`] = v;
              const postEnv: Record<string, string> = { ...runner, ...jobEnv, ...exported, ...files, ...state, PATH };
              for (const [k, v] of Object.entries(inputs)) postEnv[inputEnvName(k)] = v;
              postEnv.GITHUB_OUTPUT = path.join(tempDir, `output-post-${n}`);
              const p = await run(node, [postEntry], { cwd: workspace, env: postEnv, timeoutMs });
              return {
                id,
                name: `Post ${name}`,
                kind: 'post',
                exitCode: p.code,
                outputs: {},
                stdout: p.stdout,
                stderr: p.stderr,
              };
            },
          });
        }
      }
    } else {
      const script = interpolate(step.run ?? '', ctxFor(stepEnv), status);
      const cwd = step['working-directory'] ? path.resolve(workspace, step['working-directory']) : workspace;
      const r = await run('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
        cwd,
        env: { ...runner, ...stepEnv, ...files, PATH },
        timeoutMs,
      });
      record = { id, name, kind: 'run', exitCode: r.code, outputs: {}, stdout: r.stdout, stderr: r.stderr };
    }
    record.outputs = { ...record.outputs, ...parseFileCommands(read(outputFile)) };
    Object.assign(exported, parseFileCommands(read(envFile)));
    fs.writeFileSync(envFile, '');
    addedPath.push(...read(pathFile).split(/\r?\n/).filter(Boolean));
    fs.writeFileSync(pathFile, '');
    stepsCtx[id] = { outputs: record.outputs, outcome: record.exitCode === 0 ? 'success' : 'failure' };
    steps.push(record);
    if (record.exitCode !== 0 && step['continue-on-error'] !== true) status.failed = true;
  }

  const postRecords: StepRecord[] = [];
  for (const p of posts.reverse()) {
    const r = await p.run();
    postRecords.push(r);
    // A post's GITHUB_ENV reaches the posts after it, as on the runner.
    Object.assign(exported, parseFileCommands(read(envFile)));
    fs.writeFileSync(envFile, '');
    if (r.kind === 'post' && r.exitCode !== 0) status.failed = true;
  }
  return {
    ok: !status.failed,
    steps,
    posts: postRecords,
    env: exported,
    summary: read(summaryFile),
    workspace,
    cleanup: () => fs.rmSync(tempDir, { recursive: true, force: true }),
  };
}
