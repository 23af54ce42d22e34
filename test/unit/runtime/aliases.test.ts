// The anchors' names: aliases, negated aliases and refused anchor inputs, through the real
// runtime (runStep) on GitHub (INPUT_*), the CLI (flags) and GitLab (SHIPLINE_INPUT_*).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { defineStep } from '../../../src/runtime/define';
import { runStep } from '../../../src/runtime/run';
import { parseArgs, stepHelp } from '../../../src/runtime/args';
import { resolveAliases } from '../../../src/runtime/aliases';

const seen: Record<string, unknown>[] = [];
const step = defineStep({
  name: 'alias-demo',
  description: 'demo',
  inputs: {
    'role-arn': { description: 'role', aliases: ['role-to-assume'], regex: 'arn:.*', form: 'an ARN' },
    'duration-seconds': { type: 'number', default: 3600, description: 'length', aliases: ['role-duration-seconds'] },
    logout: { type: 'boolean', default: true, description: 'log out', negatedAliases: ['skip-logout'] },
    quiet: { type: 'boolean', description: 'quiet', aliases: ['be-quiet'] },
  },
  unsupported: {
    'http-proxy': { why: 'requests do not go through a proxy' },
    'mask-password': { why: 'the password is always masked', accept: ['true'] },
  },
  outputs: { 'image-id': { description: 'id', aliases: ['imageid'] } },
  async main(ctx) {
    seen.push({ ...ctx.inputs });
    ctx.setOutput('image-id', 'sha256:1');
  },
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, opts: { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s) } };
}
const cli = async (argv: string[], env: Record<string, string> = {}) => {
  const c = capture();
  const ws = mkdtempSync(join(tmpdir(), 'alias-ws-'));
  const runDir = join(mkdtempSync(join(tmpdir(), 'alias-run-')), 'run');
  const code = await runStep(step, {
    argv,
    env: { SHIPLINE_RUN_DIR: runDir, ...env },
    viaCli: true,
    cwd: ws,
    ...c.opts,
  });
  rmSync(ws, { recursive: true, force: true });
  rmSync(dirname(runDir), { recursive: true, force: true });
  return { code, out: c.out.join(''), err: c.err.join('') };
};

beforeEach(() => (seen.length = 0));

test('an anchor name gives the input, on the CLI and as GitLab/CLI variables', async () => {
  expect((await cli(['--role-to-assume', 'arn:x'])).code).toBe(0);
  expect(seen[0]).toMatchObject({ roleArn: 'arn:x', durationSeconds: 3600, logout: true });
  expect((await cli([], { SHIPLINE_INPUT_ROLE_TO_ASSUME: 'arn:y', SHIPLINE_INPUT_ROLE_ARN: '' })).code).toBe(0);
  expect(seen[1]).toMatchObject({ roleArn: 'arn:y' });
});

test('a wrapper default under the canonical name does not hide the alias; two different values are an error', async () => {
  // GitLab templates pass every default: the canonical at its default counts as not given.
  const r = await cli(['--role-arn', 'arn:x'], {
    SHIPLINE_INPUT_DURATION_SECONDS: '3600',
    SHIPLINE_INPUT_ROLE_DURATION_SECONDS: '900',
  });
  expect(r.code).toBe(0);
  expect(seen[0]).toMatchObject({ durationSeconds: 900 });
  const both = await cli(['--role-arn', 'arn:x', '--role-to-assume', 'arn:y']);
  expect(both.code).toBe(2);
  expect(both.err).toMatch(/input 'role-arn': is given as 'role-arn' and 'role-to-assume' with different values/);
  expect((await cli(['--role-arn', 'arn:x', '--role-to-assume', 'arn:x'])).code).toBe(0);
  // a boolean without a default: templates pass false
  expect(
    (await cli(['--role-arn', 'arn:x'], { SHIPLINE_INPUT_QUIET: 'false', SHIPLINE_INPUT_BE_QUIET: 'true' })).code,
  ).toBe(0);
  expect(seen.at(-1)).toMatchObject({ quiet: true });
});

test('a negated alias means the opposite; a non-boolean is exit 2', async () => {
  expect((await cli(['--role-arn', 'arn:x', '--skip-logout'])).code).toBe(0);
  expect(seen[0]).toMatchObject({ logout: false });
  expect((await cli(['--role-arn', 'arn:x', '--skip-logout', 'false'])).code).toBe(0);
  expect(seen[1]).toMatchObject({ logout: true });
  const bad = await cli(['--role-arn', 'arn:x', '--skip-logout=maybe']);
  expect(bad.code).toBe(2);
  expect(bad.err).toMatch(/input 'skip-logout': 'maybe' is not a boolean/);
});

test('a refused anchor input is exit 2 with the reason; a harmless value passes', async () => {
  const r = await cli(['--role-arn', 'arn:x', '--http-proxy', 'http://proxy:3128']);
  expect(r.code).toBe(2);
  expect(r.err).toMatch(/input 'http-proxy': is not supported by shipline: requests do not go through a proxy/);
  expect((await cli(['--role-arn', 'arn:x', '--mask-password', 'true'])).code).toBe(0);
  expect((await cli(['--role-arn', 'arn:x', '--mask-password', 'false'])).code).toBe(2);
});

test('an error about a value given under an alias names the alias', async () => {
  const r = await cli(['--role-to-assume', 'nope']);
  expect(r.code).toBe(2);
  expect(r.err).toMatch(/input 'role-to-assume': \(shipline's 'role-arn'\) 'nope' is not valid/);
});

test('GitHub: INPUT_<ALIAS>, and output aliases carry the same value', async () => {
  const c = capture();
  const code = await runStep(step, {
    env: {
      GITHUB_ACTIONS: 'true',
      'INPUT_ROLE-TO-ASSUME': 'arn:gh',
      INPUT_LOGOUT: 'true',
      'INPUT_SKIP-LOGOUT': 'true',
    },
    ...c.opts,
  });
  expect(code).toBe(0);
  expect(seen[0]).toMatchObject({ roleArn: 'arn:gh', logout: false });
  const out = c.out.join('');
  expect(out).toContain('::set-output name=image-id::sha256:1');
  expect(out).toContain('::set-output name=imageid::sha256:1');
});

test('help and flag parsing know the anchor names; a typo of one gets a suggestion', () => {
  expect(stepHelp(step)).toContain('also: --role-to-assume');
  expect(stepHelp(step)).toContain('also: --skip-logout (negated)');
  expect(stepHelp(step)).toContain('Refused anchor inputs (see README): --http-proxy, --mask-password');
  expect(parseArgs(step, ['--role-to-assume', 'a']).inputs).toEqual({ 'role-to-assume': 'a' });
  expect(() => parseArgs(step, ['--role-to-asume', 'a'])).toThrow(/is not an input of alias-demo/);
  try {
    parseArgs(step, ['--role-to-asume', 'a']);
  } catch (err) {
    expect((err as { hint: string }).hint).toMatch(/^did you mean --role-to-assume\?/);
  }
  expect(resolveAliases(step, (n) => ({ 'role-arn': 'a' })[n])).toMatchObject({ 'role-arn': 'a' });
});
