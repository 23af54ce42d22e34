// The run-in-container bundle as GitHub's runner runs it (INPUT_*, file commands, state,
// post) on Node 24: a start step, two exec steps, then the start step's post cleanup; a
// failing exec step fails with the command's exit code; a secret passed by name appears in
// no docker argv and no output.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { runGithubAction, type GithubRunResult } from '../support/github';
import { describeBench } from '../support/testbed';
import { requireNode24 } from '../support/node24';
import { createDockerShim, expectNoLeaks, plantCanaries } from '../support/canary';
import { validateActionYml } from '../support/schema';

const ACTION = 'components/run-in-container/action.yml';
const exists = (name: string) => spawnSync('docker', ['container', 'inspect', name]).status === 0;

describe('run-in-container action.yml', () => {
  it("is valid against GitHub's action schema, with post cleanup always", () => {
    const r = validateActionYml(ACTION);
    expect(r.errors).toEqual([]);
    const text = fs.readFileSync(ACTION, 'utf8');
    expect(text).toContain('post: ../../dist/run-in-container/post.js');
    expect(text).toContain('post-if: always()');
  });
});

describeBench(['docker', 'registry-open', 'node24'], 'run-in-container on the GitHub runtime', (env) => {
  const node = requireNode24(true)!;
  const results: GithubRunResult[] = [];
  let workspace: string;
  beforeAll(() => {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'ric-gha-'));
    fs.mkdirSync(path.join(workspace, 'src'));
    fs.writeFileSync(path.join(workspace, 'src/app.sh'), 'echo "built by $BUILDER"\n');
    fs.writeFileSync(path.join(workspace, 'junk.log'), 'x');
    fs.writeFileSync(path.join(workspace, '.dockerignore'), '*.log\n');
  });
  afterAll(() => {
    for (const r of results) r.cleanup();
    fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('start step, two exec steps, post cleanup', async () => {
    const secrets = plantCanaries('buildtoken');
    const shim = createDockerShim();
    const common = {
      node,
      action: ACTION,
      workspace,
      env: { ...shim.env(process.env), BUILD_TOKEN: secrets.buildtoken, GITHUB_RUN_ID: '9001' },
    };
    const step = async (inputs: Record<string, string>, runPost = false) => {
      const r = await runGithubAction({ ...common, inputs, runPost });
      results.push(r);
      return r;
    };

    const start = await step({
      mode: 'start',
      image: env.TB_BASE_IMAGE,
      'secret-env': 'BUILD_TOKEN',
      run: 'test -f src/app.sh\ntest ! -e junk.log',
    });
    expect(start.stdout).not.toContain('::error::');
    expect(start.exitCode).toBe(0);
    const name = start.outputs.container!;
    expect(name).toMatch(/^shipline-9001-1-test-[0-9a-f]{10}$/);
    expect(start.env.SHIPLINE_CONTAINER).toBe(name);
    expect(JSON.parse(start.state.container ?? 'null')).toMatchObject({ name }); // kept for the post, typed
    expect(exists(name)).toBe(true);
    expect(start.commands.filter((c) => c.command === 'group').map((c) => c.value)).toContain('$ test -f src/app.sh');

    const exec1 = await step({
      mode: 'exec',
      'secret-env': 'BUILD_TOKEN',
      run: 'BUILDER=ci sh src/app.sh > out.txt\ntest -n "$BUILD_TOKEN" && echo "token: $BUILD_TOKEN"',
    });
    expect(exec1.exitCode).toBe(0);
    expect(exec1.outputs.container).toBe(name);
    expect(exec1.stdout).toContain('token: ***');
    const exec2 = await step({ mode: 'exec', run: 'cat out.txt', 'copy-out': 'out.txt:result/out.txt' });
    expect(exec2.exitCode).toBe(0);
    expect(fs.readFileSync(path.join(workspace, 'result/out.txt'), 'utf8')).toBe('built by ci\n');
    expect(exec2.summary).toContain('| copy-out /app/out.txt |');
    expect(exists(name)).toBe(true);

    // A failing exec step fails with the command's own exit code; the container stays for post.
    const failing = await step({ mode: 'exec', run: 'echo failing; exit 5' });
    expect(failing.exitCode).toBe(5);
    expect(failing.outputs['exit-code']).toBe('5');
    expect(failing.commands.filter((c) => c.command === 'error').map((c) => c.value)).toContain(
      'command failed with exit code 5: echo failing; exit 5',
    );
    expect(exists(name)).toBe(true);

    // The runner runs the start step's post at the end of the job, with its saved state.
    const post = await runGithubAction({
      ...common,
      entry: 'dist/run-in-container/post.js',
      inputs: { mode: 'start', image: env.TB_BASE_IMAGE },
      env: { ...common.env, ...Object.fromEntries(Object.entries(start.state).map(([k, v]) => [`STATE_${k}`, v])) },
      runPost: false,
    });
    results.push(post);
    expect(post.exitCode).toBe(0);
    expect(post.stdout).toContain(`removed container ${name}`);
    expect(exists(name)).toBe(false);

    const texts: Record<string, string> = {};
    for (const [i, r] of results.entries()) {
      texts[`stdout${i}`] = r.stdout;
      texts[`stderr${i}`] = r.stderr;
      texts[`summary${i}`] = r.summary;
    }
    expectNoLeaks({ secrets, texts, argvLogs: [shim], files: results.flatMap((r) => Object.values(r.files)) });
    shim.cleanup();
  }, 120_000);

  it('one-shot run with a failing command: exit code, container gone after main, post is a no-op', async () => {
    const r = await runGithubAction({
      node,
      action: ACTION,
      workspace,
      inputs: { image: env.TB_BASE_IMAGE, run: 'exit 17' },
    });
    results.push(r);
    expect(r.exitCode).toBe(17);
    expect(exists(r.outputs.container!)).toBe(false);
    expect(r.postExitCode).toBe(0);
    expect(r.postStdout).toContain('already gone');
  }, 60_000);
});
