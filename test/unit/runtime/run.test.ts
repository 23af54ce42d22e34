// The runner and its three platforms, driven in-process with a fake step: inputs from
// each platform's source, outputs/env/state files in each platform's format, exit codes.
import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineStep } from '../../../src/runtime/define';
import { runStep } from '../../../src/runtime/run';
import { parseInputs, InputError } from '../../../src/runtime/inputs';
import { closest, parseArgs, stepHelp } from '../../../src/runtime/args';
import { readAssignments } from '../../../src/runtime/gitlab';

const seen: Record<string, unknown>[] = [];
const step = defineStep({
  name: 'demo-step',
  description: 'A step for tests',
  inputs: {
    name: { required: true, description: 'who' },
    count: { type: 'number', default: 3, description: 'how many' },
    flag: { type: 'boolean', description: 'a flag' },
    items: { type: 'list', description: 'items' },
    mode: { options: ['a', 'b'], default: 'a', description: 'mode' },
    password: { secret: true, description: 'a secret' },
  },
  outputs: { greeting: { description: 'hello' }, token: { description: 'secret out', secret: true } },
  async main(ctx) {
    seen.push({ ...ctx.inputs });
    ctx.setOutput('greeting', `hello ${ctx.inputs.name}\nsecond line`);
    ctx.setOutput('token', 's3cr3t-token-value');
    ctx.exportVariable('DEMO_VAR', "it's here");
    ctx.exportVariable('DEMO_SECRET', 'multi\nline secret', { secret: true });
    ctx.state<string>('created').set('thing-1');
    ctx.log.info(`password is ${ctx.inputs.password ?? ''}`);
    if (ctx.inputs.name === 'boom') throw new Error('kaboom');
  },
  async post(ctx) {
    seen.push({ post: ctx.state<string>('created').get() });
  },
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s) };
}

beforeEach(() => {
  seen.length = 0;
});

describe('inputs', () => {
  test('typed values, defaults, lists', () => {
    const v = parseInputs(step.inputs, { name: ' x ', items: 'a, b\nc', flag: 'true' });
    expect(v).toEqual({ name: 'x', count: 3, flag: true, items: ['a', 'b', 'c'], mode: 'a', password: undefined });
  });
  test.each([
    [{}, /input 'name': is required/],
    [{ name: 'x', count: 'many' }, /input 'count': 'many' is not a number/],
    [{ name: 'x', flag: 'maybe' }, /input 'flag': 'maybe' is not a boolean/],
    [{ name: 'x', mode: 'c' }, /input 'mode': 'c' is not allowed/],
  ])('%j fails: %s', (raw, msg) => {
    expect(() => parseInputs(step.inputs, raw)).toThrow(InputError);
    expect(() => parseInputs(step.inputs, raw)).toThrow(msg);
  });
  test('a secret value never appears in an error', () => {
    const s = defineStep({
      name: 's',
      description: 'd',
      outputs: {},
      main: async () => {},
      inputs: { key: { secret: true, regex: 'AKIA[0-9A-Z]{16}', description: 'k' } },
    });
    expect(() => parseInputs(s.inputs, { key: 'not-a-key-SECRET' })).toThrow(/\(secret value\) is not valid/);
    expect(() => parseInputs(s.inputs, { key: 'not-a-key-SECRET' })).not.toThrow(/SECRET/);
  });
});

describe('args', () => {
  test('flags, =, repeated lists, bare booleans, --post', () => {
    const a = parseArgs(step, ['--name', 'n', '--items=a', '--items', 'b', '--flag', '--post']);
    expect(a).toEqual({ inputs: { name: 'n', items: ['a', 'b'], flag: 'true' }, post: true, help: false });
    expect(parseArgs(step, ['--flag', 'false']).inputs.flag).toBe('false');
  });
  test('unknown flag names the known ones', () => {
    expect(() => parseArgs(step, ['--nme', 'x'])).toThrow(/'--nme' is not an input of demo-step/);
    try {
      parseArgs(step, ['--nme', 'x']);
    } catch (err) {
      expect((err as InputError).hint).toMatch(/^did you mean --name\?/);
      expect((err as InputError).exitCode).toBe(2);
    }
    expect(closest('imagez', ['images', 'tags'])).toBe('images');
    expect(closest('zzzzzz', ['images', 'tags'])).toBeUndefined();
  });
  test('help lists every input with its env variable', () => {
    const h = stepHelp(step);
    for (const n of Object.keys(step.inputs)) expect(h).toContain(`--${n}`);
    expect(h).toContain('SHIPLINE_INPUT_PASSWORD');
  });
});

describe('GitLab/CLI runtime', () => {
  test('outputs to stdout and dotenv, env file 0600 with POSIX quoting, secrets kept out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipline-rt-'));
    const run = mkdtempSync(join(tmpdir(), 'shipline-run-'));
    const c = capture();
    const env = {
      GITLAB_CI: 'true',
      CI_PROJECT_DIR: dir,
      SHIPLINE_RUN_DIR: run,
      SHIPLINE_INPUT_NAME: 'lab',
      SHIPLINE_INPUT_PASSWORD: 'pw-CANARY-123',
    };
    const code = await runStep(step, { env, argv: ['--count', '5'], ...c });
    expect(code).toBe(0);
    expect(seen[0]).toMatchObject({ name: 'lab', count: 5 });
    const stdout = c.out.join('');
    expect(stdout).toContain('greeting<<SHIPLINE_EOF\nhello lab\nsecond line\nSHIPLINE_EOF\n');
    const all = stdout + c.err.join('');
    expect(all).not.toContain('pw-CANARY-123');
    expect(all).toContain('password is ***');
    expect(all).not.toContain('s3cr3t-token-value');
    const dotenv = readFileSync(join(dir, '.shipline/outputs.env'), 'utf8');
    expect(dotenv).toBe('DEMO_STEP_GREETING=hello lab second line\n');
    // The env file lives in the job's private directory, never in the checkout.
    expect(existsSync(join(dir, '.shipline/env'))).toBe(false);
    const envFile = join(run, 'env');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    const vars = readAssignments(envFile);
    expect(vars.get('DEMO_VAR')).toBe(`'it'\\''s here'`);
    expect(vars.get('DEMO_SECRET')).toBe(`'multi\nline secret'`);
    expect(vars.get('DEMO_STEP_TOKEN')).toBe(`'s3cr3t-token-value'`);
    // after_script: post sees main's state and removes what main exported.
    const p = capture();
    expect(await runStep(step, { env, argv: ['--post'], ...p })).toBe(0);
    expect(seen[1]).toEqual({ post: 'thing-1' });
    expect(existsSync(envFile)).toBe(false);
  });
  test('post keeps variables exported by other steps of the job', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipline-rt-'));
    const run = mkdtempSync(join(tmpdir(), 'shipline-run-'));
    const envFile = join(run, 'env');
    const env = { CI_PROJECT_DIR: dir, GITLAB_CI: 'true', SHIPLINE_INPUT_NAME: 'x', SHIPLINE_RUN_DIR: run };
    const other = defineStep({
      name: 'other-step',
      description: 'd',
      inputs: {},
      outputs: {},
      main: async (ctx) => ctx.exportVariable('OTHER', 'kept'),
    });
    await runStep(other, { env, argv: [], ...capture() });
    await runStep(step, { env, argv: [], ...capture() });
    expect(readAssignments(envFile).get('DEMO_VAR')).toBeDefined();
    await runStep(step, { env, argv: ['--post'], ...capture() });
    expect([...readAssignments(envFile).keys()]).toEqual(['OTHER']);
  });
  test('exit 2 on bad input, 1 on failure, with the message', async () => {
    const c = capture();
    expect(await runStep(step, { env: {}, argv: ['--name', 'n', '--mode', 'z'], cwd: tmpdir(), ...c })).toBe(2);
    expect(c.err.join('')).toMatch(/error: input 'mode': 'z' is not allowed\nhint: use one of 'a', 'b'/);
    const d = capture();
    expect(
      await runStep(step, { env: {}, argv: ['--name', 'boom'], cwd: mkdtempSync(join(tmpdir(), 'x-')), ...d }),
    ).toBe(1);
    expect(d.err.join('')).toContain('unexpected error: kaboom');
  });
});

describe('GitHub runtime', () => {
  test('INPUT_*, file commands, masks before use, state for post', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipline-gh-'));
    const files = Object.fromEntries(
      ['GITHUB_OUTPUT', 'GITHUB_ENV', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY'].map((k) => [k, join(dir, k)]),
    );
    for (const f of Object.values(files)) writeFileSync(f, '');
    const c = capture();
    const env = { GITHUB_ACTIONS: 'true', ...files, INPUT_NAME: 'gh', INPUT_COUNT: '', INPUT_PASSWORD: 'gh-CANARY-pw' };
    expect(await runStep(step, { env, ...c })).toBe(0);
    const stdout = c.out.join('');
    // The mask comes before any line that could carry the value.
    expect(stdout.indexOf('::add-mask::gh-CANARY-pw')).toBe(0);
    expect(stdout).toContain('password is ***');
    expect(stdout).toContain('::add-mask::s3cr3t-token-value');
    expect(stdout).toContain('::add-mask::multi');
    expect(readFileSync(files.GITHUB_OUTPUT!, 'utf8')).toMatch(
      /^greeting<<ghadelimiter_[0-9a-f-]+\nhello gh\nsecond line\nghadelimiter_/,
    );
    // One-line values as `name=value` (the runner splits at the first `=`), others as heredocs.
    expect(readFileSync(files.GITHUB_ENV!, 'utf8')).toMatch(/^DEMO_VAR=it's here\nDEMO_SECRET<<ghadelimiter_/);
    expect(readFileSync(files.GITHUB_STATE!, 'utf8')).toMatch(/^created="thing-1"\n/);
    expect(
      await runStep(step, { env: { ...env, STATE_created: JSON.stringify('thing-1') }, post: true, ...capture() }),
    ).toBe(0);
    expect(seen[1]).toEqual({ post: 'thing-1' });
  });
});

describe('signals during main', () => {
  const { EventEmitter } = require('node:events') as typeof import('node:events');
  function slowStep(events: string[]) {
    let release: () => void = () => {};
    const s = defineStep({
      name: 'slow-step',
      description: 'd',
      inputs: {},
      outputs: {},
      main: async (ctx) => {
        ctx.state<string>('token').set('to-revoke'); // recorded before it exists
        events.push('main started');
        await new Promise<void>((r) => (release = r));
        events.push('main ended');
      },
      post: async (ctx) => {
        events.push(`post ${ctx.state<string>('token').get()}`);
        await new Promise((r) => setTimeout(r, 20));
      },
    });
    return { s, release: () => release() };
  }
  test.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s runs post once, then resolves %i', async (signal, code) => {
    const events: string[] = [];
    const { s, release } = slowStep(events);
    const signals = new EventEmitter();
    const run = mkdtempSync(join(tmpdir(), 'shipline-run-'));
    const c = capture();
    const done = runStep(s, {
      env: { GITLAB_CI: 'true', CI_PROJECT_DIR: mkdtempSync(join(tmpdir(), 'ws-')), SHIPLINE_RUN_DIR: run },
      signals,
      ...c,
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual(['main started']);
    signals.emit(signal);
    signals.emit(signal); // a second one changes nothing
    signals.emit('SIGTERM');
    release(); // main ending meanwhile does not turn it into a success
    expect(await done).toBe(code);
    expect(events.filter((e) => e.startsWith('post'))).toEqual(['post to-revoke']);
    expect(c.err.join('')).toContain(`warning: ${signal}: stopping slow-step and running its cleanup`);
    expect(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT')).toBe(0);
  });
  test('no signal: main runs to the end, listeners removed', async () => {
    const events: string[] = [];
    const { s, release } = slowStep(events);
    const signals = new EventEmitter();
    const done = runStep(s, {
      env: { SHIPLINE_RUN_DIR: mkdtempSync(join(tmpdir(), 'shipline-run-')) },
      cwd: mkdtempSync(join(tmpdir(), 'ws-')),
      signals,
      ...capture(),
    });
    await new Promise((r) => setTimeout(r, 10));
    release();
    expect(await done).toBe(0);
    expect(events).toEqual(['main started', 'main ended']);
    expect(signals.listenerCount('SIGTERM')).toBe(0);
  });
});

describe('secrets too short to mask', () => {
  const shortStep = defineStep({
    name: 'short-step',
    description: 'd',
    inputs: { token: { secret: true, description: 't' } },
    outputs: {},
    main: async (ctx) => {
      ctx.secret('ab');
      ctx.log.info(`about abc and ${ctx.inputs.token ?? ''}`);
    },
  });
  test('GitLab/CLI: not registered (the log is not garbled), one warning', async () => {
    const c = capture();
    const env = { SHIPLINE_INPUT_TOKEN: 'xyz', SHIPLINE_RUN_DIR: mkdtempSync(join(tmpdir(), 'shipline-run-')) };
    expect(await runStep(shortStep, { env, cwd: mkdtempSync(join(tmpdir(), 'ws-')), ...c })).toBe(0);
    const err = c.err.join('');
    expect(err).toContain('about abc and xyz');
    expect(err.match(/shorter than 4 characters cannot be hidden/g)).toHaveLength(1);
  });
  test('GitHub: no ::add-mask:: for it', async () => {
    const c = capture();
    const env = { GITHUB_ACTIONS: 'true', INPUT_TOKEN: 'xyz', RUNNER_TEMP: mkdtempSync(join(tmpdir(), 'rt-')) };
    expect(await runStep(shortStep, { env, ...c })).toBe(0);
    const out = c.out.join('');
    expect(out).not.toContain('::add-mask::');
    expect(out).toContain('about abc and xyz');
    expect(out.match(/::warning::a secret value shorter than 4 characters/g)).toHaveLength(1);
  });
});

describe('SHIPLINE_INPUT_* variables belong to the template’s own step', () => {
  const seen: Record<string, unknown>[] = [];
  const step = (name: string) =>
    defineStep({
      name,
      description: 'd',
      inputs: { images: { type: 'list', description: 'i' }, region: { description: 'r' } },
      outputs: {},
      main: async (ctx) => void seen.push({ ...ctx.inputs }),
    });
  const quiet = () => {
    const err: string[] = [];
    return { err, stdout: () => {}, stderr: (s: string) => void err.push(s) };
  };
  const base = () => ({ SHIPLINE_RUN_DIR: mkdtempSync(join(tmpdir(), 'shipline-run-')) + '/r' });

  test('a composed step ignores the template step’s variables and takes its flags', async () => {
    seen.length = 0;
    const env = { ...base(), SHIPLINE_STEP: 'build-push', SHIPLINE_INPUT_REGION: 'eu-west-1' };
    expect(await runStep(step('assume-role'), { env, argv: [], ...quiet() })).toBe(0);
    expect(await runStep(step('assume-role'), { env, argv: ['--region', 'us-east-2'], ...quiet() })).toBe(0);
    expect(await runStep(step('build-push'), { env, argv: [], ...quiet() })).toBe(0);
    expect(seen.map((s) => s.region)).toEqual([undefined, 'us-east-2', 'eu-west-1']);
  });

  test('a typo in the template step’s variables is exit 2 with did-you-mean', async () => {
    const c = quiet();
    const env = { ...base(), SHIPLINE_STEP: 'build-push', SHIPLINE_INPUT_IMAGE: 'r.example.com/app' };
    expect(await runStep(step('build-push'), { env, argv: [], ...c })).toBe(2);
    expect(c.err.join('')).toMatch(
      /SHIPLINE_INPUT_IMAGE is not an input of build-push[\s\S]*did you mean SHIPLINE_INPUT_IMAGES\?/,
    );
  });

  test('outside a template (SHIPLINE_STEP unset) an unknown one only warns', async () => {
    const c = quiet();
    const env = { ...base(), SHIPLINE_INPUT_IMAGE: 'r.example.com/app' };
    expect(await runStep(step('image-tags'), { env, argv: [], ...c })).toBe(0);
    expect(c.err.join('')).toMatch(
      /warning: variable SHIPLINE_INPUT_IMAGE is not an input of image-tags \(ignored; did you mean SHIPLINE_INPUT_IMAGES\?\)/,
    );
  });
});

describe('trim: false inputs keep whitespace (docker/metadata-action’s sep-tags)', () => {
  const specs = { sep: { description: 's', trim: false }, plain: { description: 'p' } } as const;
  test.each([
    [' ', ' '],
    ['\n', '\n'],
    [', ', ', '],
    ['', undefined],
  ])('%j → %j', (raw, want) => {
    expect(parseInputs(specs, { sep: raw, plain: '  x  ' })).toEqual({ sep: want, plain: 'x' });
  });
});
