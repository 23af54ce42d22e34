// GitLab refuses a pipeline whose component include names an unknown input or a value of
// the wrong type; gitlab-ci-local 4.73 accepts unknown keys silently. scripts/check-includes.mjs
// applies GitLab's rule to shipline's components, against the generated spec:inputs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, run } from '../support/exec';

const script = join(repoRoot, 'scripts/check-includes.mjs');

async function check(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'shipline-includes-'));
  const file = join(dir, '.gitlab-ci.yml');
  writeFileSync(file, yaml);
  const r = await run(process.execPath, [script, file]);
  rmSync(dir, { recursive: true, force: true });
  return r;
}

const include = (inputs: string) =>
  `include:\n  - component: $CI_SERVER_FQDN/group/shipline/build-push@1.0.0\n    inputs:\n${inputs}\n`;

test('a valid include passes', async () => {
  const r = await check(
    include(
      '      images: registry.example.com/team/app\n      push: false\n      sha-length: 7\n      latest: "true"',
    ),
  );
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
});

test.each([
  ['an unknown key, naming it', '      imagez: registry.example.com/team/app', /build-push: unknown input 'imagez'/],
  ['a string for a boolean', '      push: "yes"', /build-push: input 'push' is a string, not a boolean/],
  ['a string for a number', '      sha-length: "8"', /build-push: input 'sha-length' is a string, not a number/],
  [
    'a value outside the options',
    '      latest: maybe',
    /build-push: input 'latest': 'maybe' is not one of auto, true, false/,
  ],
  ['a mapping for a string', '      target: { a: 1 }', /build-push: input 'target' is a mapping, not a string/],
])('%s fails the lint (exit 1)', async (_what, inputs, message) => {
  const r = await check(include(inputs));
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(message);
});

test('includes of other components are left alone; no file is exit 2', async () => {
  const r = await check('include:\n  - component: $CI_SERVER_FQDN/other/thing/deploy@1\n    inputs: { whatever: 1 }\n');
  expect(r.code).toBe(0);
  expect((await run(process.execPath, [script])).code).toBe(2);
});
