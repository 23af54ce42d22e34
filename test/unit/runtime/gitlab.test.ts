// The GitLab/CLI runtime's files: the dotenv report written fresh from the job's record
// (byte-exact across steps, in the form GitLab's parser and gitlab-ci-local's read back),
// nothing read back from the checkout, one warning for a `.shipline/` there.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as dotenvParse } from 'dotenv';
import { defineStep } from '../../../src/runtime/define';
import { runStep } from '../../../src/runtime/run';
import { dotenvProblem, dotenvText } from '../../../src/runtime/gitlab';

/** GitLab's own reading (Ci::ParseDotenvArtifactService#scan_line!): `^(.*?)=(.*)$`, both stripped. */
function gitlabParse(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/(?<=\n)/)) {
    const m = /^(.*?)=(.*)$/m.exec(line);
    if (!m) throw new Error(`Invalid Format: ${line}`);
    out[m[1]!.trim()] = m[2]!.trim();
  }
  return out;
}

const capture = () => {
  const err: string[] = [];
  return { err, stdout: () => {}, stderr: (s: string) => void err.push(s) };
};

function outputStep(name: string, values: Record<string, string>) {
  return defineStep({
    name,
    description: 'd',
    inputs: {},
    outputs: Object.fromEntries(Object.keys(values).map((k) => [k, { description: k }])),
    main: async (ctx) => {
      for (const [k, v] of Object.entries(values)) ctx.setOutput(k, v);
    },
  });
}

function job() {
  const workspace = mkdtempSync(join(tmpdir(), 'shipline-ws-'));
  const run = join(mkdtempSync(join(tmpdir(), 'shipline-job-')), 'run');
  mkdirSync(run, { mode: 0o700 });
  return { workspace, run, env: { GITLAB_CI: 'true', CI_PROJECT_DIR: workspace, SHIPLINE_RUN_DIR: run } };
}

describe('dotenv report', () => {
  // Values both parsers read back unchanged (gitlab-ci-local uses the dotenv package).
  const exact = {
    list: 'registry.example.com/team/app:1a2b3c4d registry.example.com/team/app:latest',
    eq: 'key=value=more',
    json: '{"tags":["a:1","b:2"],"labels":{"x":"y z"}}',
    inner: 'it\'s a "quoted" word',
    digest: 'sha256:' + 'a'.repeat(64),
    empty: '',
  };
  test('round trip: GitLab and gitlab-ci-local read each value back exactly', () => {
    const text = dotenvText(Object.entries(exact));
    expect(gitlabParse(text)).toEqual(exact);
    expect(dotenvParse(text)).toEqual(exact);
    for (const v of Object.values(exact)) expect(dotenvProblem(v)).toBeUndefined();
  });
  test('values GitLab cannot carry are named', () => {
    expect(dotenvProblem('a\nb')).toMatch(/spans lines/);
    expect(dotenvProblem(' padded')).toMatch(/whitespace/);
    expect(dotenvProblem('padded ')).toMatch(/whitespace/);
  });
  test('a second step keeps the first step’s values byte-exact (lists with spaces)', async () => {
    const j = job();
    const first = outputStep('first-step', { tags: 'a:1\nb:2\nc:3', json: exact.json });
    const second = outputStep('second-step', { digest: exact.digest, refs: 'x:1 y:2' });
    expect(await runStep(first, { env: j.env, ...capture() })).toBe(0);
    expect(await runStep(second, { env: j.env, ...capture() })).toBe(0);
    const text = readFileSync(join(j.workspace, '.shipline/outputs.env'), 'utf8');
    expect(gitlabParse(text)).toEqual({
      FIRST_STEP_TAGS: 'a:1 b:2 c:3',
      FIRST_STEP_JSON: exact.json,
      SECOND_STEP_DIGEST: exact.digest,
      SECOND_STEP_REFS: 'x:1 y:2',
    });
    expect(dotenvParse(text)).toEqual(gitlabParse(text));
  });
  test('an output GitLab would change is left out with a warning', async () => {
    const j = job();
    const c = capture();
    await runStep(outputStep('pad-step', { ok: 'fine', pad: ' lead' }), { env: j.env, ...c });
    expect(readFileSync(join(j.workspace, '.shipline/outputs.env'), 'utf8')).toBe('PAD_STEP_OK=fine\n');
    expect(c.err.join('')).toMatch(/output PAD_STEP_PAD is left out of the dotenv report: it starts or ends/);
  });
});

describe('nothing is read back from the checkout', () => {
  function plant(workspace: string) {
    const outside = mkdtempSync(join(tmpdir(), 'shipline-outside-'));
    writeFileSync(join(outside, 'target'), 'untouched\n');
    mkdirSync(join(workspace, '.shipline/state'), { recursive: true });
    writeFileSync(join(workspace, '.shipline/outputs.env'), 'PLANTED_OUTPUT=evil\n');
    writeFileSync(join(workspace, '.shipline/state/demo.json'), JSON.stringify({ dir: JSON.stringify(outside) }));
    symlinkSync(join(outside, 'target'), join(workspace, '.shipline/env'));
    return outside;
  }
  const demo = (seen: unknown[]) =>
    defineStep({
      name: 'demo',
      description: 'd',
      inputs: {},
      outputs: { out: { description: 'o' } },
      main: async (ctx) => {
        seen.push(ctx.state<string>('dir').get());
        ctx.setOutput('out', 'value');
        ctx.exportVariable('DEMO_EXPORT', 'exported value');
      },
      post: async (ctx) => void seen.push(ctx.state<string>('dir').get()),
    });

  test('planted state, env link and dotenv are ignored; one warning per job', async () => {
    const j = job();
    const outside = plant(j.workspace);
    const seen: unknown[] = [];
    const c = capture();
    expect(await runStep(demo(seen), { env: j.env, ...c })).toBe(0);
    expect(await runStep(outputStep('other', { x: 'y' }), { env: j.env, ...c })).toBe(0);
    expect(await runStep(demo(seen), { env: j.env, post: true, ...c })).toBe(0);
    expect(seen).toEqual([undefined, undefined]); // the planted state never reached the step
    expect(readFileSync(join(outside, 'target'), 'utf8')).toBe('untouched\n');
    expect(lstatSync(join(j.workspace, '.shipline/env')).isSymbolicLink()).toBe(true); // not ours: left alone
    expect(readFileSync(join(j.workspace, '.shipline/outputs.env'), 'utf8')).toBe('DEMO_OUT=value\nOTHER_X=y\n');
    const warnings = c.err.join('').match(/warning: ignoring .*\.shipline in the checkout/g) ?? [];
    expect(warnings).toHaveLength(1);
  });

  test('the job’s own files are in the private directory, 0600 / 0700', async () => {
    const j = job();
    const seen: unknown[] = [];
    await runStep(
      defineStep({
        name: 'files',
        description: 'd',
        inputs: {},
        outputs: {},
        main: async (ctx) => {
          ctx.state<string>('dir').set(ctx.tempDir);
          ctx.exportVariable('A', 'b');
          seen.push(ctx.tempDir);
        },
      }),
      { env: j.env, ...capture() },
    );
    expect(seen).toEqual([join(j.run, 'tmp')]);
    expect(readdirSync(j.run).sort()).toEqual(['checked', 'env', 'exports.json', 'state', 'tmp']);
    expect(lstatSync(join(j.run, 'tmp')).mode & 0o777).toBe(0o700);
    expect(lstatSync(join(j.run, 'state', 'files.json')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(j.workspace, '.shipline'))).toBe(false);
  });

  test('a run directory that is not private fails the step before it acts', async () => {
    const j = job();
    const wide = mkdtempSync(join(tmpdir(), 'shipline-wide-'));
    require('node:fs').chmodSync(wide, 0o777);
    const seen: unknown[] = [];
    const c = capture();
    expect(await runStep(demo(seen), { env: { ...j.env, SHIPLINE_RUN_DIR: wide }, ...c })).toBe(1);
    expect(seen).toEqual([]);
    expect(c.err.join('')).toMatch(/refusing the private directory .*mode is 777, not 700/);
  });
});

describe('dotenv names per job', () => {
  const read = (j: ReturnType<typeof job>) =>
    gitlabParse(readFileSync(join(j.workspace, '.shipline/outputs.env'), 'utf8'));

  test('two jobs of one step write names a later job tells apart', async () => {
    const app = job();
    const tools = job();
    const step = outputStep('build-push', { digest: 'sha256:' + 'a'.repeat(64) });
    for (const [j, name] of [
      [app, 'build-app'],
      [tools, 'build tools'],
    ] as const) {
      const env = { ...j.env, SHIPLINE_STEP: 'build-push', SHIPLINE_OUTPUT_PREFIX: name };
      expect(await runStep(step, { env, ...capture() })).toBe(0);
    }
    expect(Object.keys(read(app))).toEqual(['BUILD_APP_DIGEST']);
    expect(Object.keys(read(tools))).toEqual(['BUILD_TOOLS_DIGEST']);
  });

  test('the default job name gives the step’s own names; a composed step is named under the job', async () => {
    const j = job();
    const env = { ...j.env, SHIPLINE_STEP: 'build-push', SHIPLINE_OUTPUT_PREFIX: 'build-push' };
    expect(await runStep(outputStep('assume-role', { 'aws-account-id': '123456789012' }), { env, ...capture() })).toBe(
      0,
    );
    expect(await runStep(outputStep('build-push', { digest: 'sha256:1' }), { env, ...capture() })).toBe(0);
    expect(read(j)).toEqual({ BUILD_PUSH_ASSUME_ROLE_AWS_ACCOUNT_ID: '123456789012', BUILD_PUSH_DIGEST: 'sha256:1' });
  });

  test('a job name that starts with a digit still makes a variable name', async () => {
    const j = job();
    const env = { ...j.env, SHIPLINE_STEP: 'image-tags', SHIPLINE_OUTPUT_PREFIX: '2-tags' };
    expect(await runStep(outputStep('image-tags', { tags: 'a' }), { env, ...capture() })).toBe(0);
    expect(read(j)).toEqual({ _2_TAGS_TAGS: 'a' });
  });

  test('local outputs (paths of this job) stay out of the dotenv report but print on stdout', async () => {
    const j = job();
    const out: string[] = [];
    const step = defineStep({
      name: 'login',
      description: 'd',
      inputs: {},
      outputs: { registry: { description: 'r' }, 'docker-config': { description: 'p', local: true } },
      main: async (ctx) => {
        ctx.setOutput('registry', 'r.example.com');
        ctx.setOutput('docker-config', '/tmp/shipline-1/tmp/docker');
      },
    });
    expect(await runStep(step, { env: j.env, ...capture(), stdout: (s) => void out.push(s) })).toBe(0);
    expect(read(j)).toEqual({ LOGIN_REGISTRY: 'r.example.com' });
    expect(out.join('')).toContain('docker-config=/tmp/shipline-1/tmp/docker');
  });

  test('an undeclared output is a bug, never written', async () => {
    const j = job();
    const c = capture();
    const step = defineStep({
      name: 'sloppy',
      description: 'd',
      inputs: {},
      outputs: {},
      main: async (ctx) => ctx.setOutput('stale-path', '/home/runner/x'),
    });
    expect(await runStep(step, { env: j.env, ...c })).toBe(1);
    expect(c.err.join('')).toMatch(/undeclared output 'stale-path'.*\n.*shipline bug/);
  });
});

test('.shipline/ ignores itself: git status of the checkout stays clean', async () => {
  const j = job();
  const { execFileSync } = await import('node:child_process');
  execFileSync('git', ['init', '-q', j.workspace]);
  expect(await runStep(outputStep('image-tags', { tags: 'a' }), { env: j.env, ...capture() })).toBe(0);
  expect(readFileSync(join(j.workspace, '.shipline/.gitignore'), 'utf8')).toBe('*\n');
  expect(
    execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: j.workspace, encoding: 'utf8' }),
  ).toBe('');
});
