// kaniko-build's plan: the Dockerfile and stages, the references, the registries and the
// username/password pair, checked before anything runs (exit 2).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gitlabContext } from '../../../../src/lib/ci/context';
import { parseInputs } from '../../../../src/runtime/inputs';
import { ShiplineError } from '../../../../src/lib/util/errors';
import step, { type Inputs } from '../../../../src/steps/kaniko-build/index';
import { planKanikoBuild } from '../../../../src/steps/kaniko-build/plan';
import { forBuildah } from '../../../../src/steps/kaniko-build/main';

const made: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-kb-unit-'));
  made.push(d);
  return d;
};
afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const ci = gitlabContext({
  GITLAB_CI: 'true',
  CI_COMMIT_SHA: '0123456789abcdef0123456789abcdef01234567',
  CI_COMMIT_BRANCH: 'main',
  CI_DEFAULT_BRANCH: 'main',
  CI_PIPELINE_SOURCE: 'push',
});
const inputs = (raw: Record<string, string>) => parseInputs(step.inputs, raw) as unknown as Inputs;

describe('plan', () => {
  test('unknown target / smoke-target and a missing Dockerfile fail with exit 2 before anything runs', () => {
    const ws = tmp();
    fs.writeFileSync(path.join(ws, 'Dockerfile'), 'FROM busybox AS build\nFROM build AS final\n');
    const base = { push: 'false' };
    expect(planKanikoBuild(inputs(base), ci, ws).build.pullRegistries).toEqual(['docker.io']);
    for (const [over, msg] of [
      [{ target: 'nope' }, /input 'target': stage 'nope' is not in/],
      [{ 'smoke-target': 'smoke' }, /input 'smoke-target': stage 'smoke' is not in/],
      [{ file: 'sub/Dockerfile' }, /Dockerfile not found: .*sub\/Dockerfile/],
    ] as const) {
      let err: unknown;
      try {
        planKanikoBuild(inputs({ ...base, ...over }), ci, ws);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ShiplineError);
      expect((err as ShiplineError).exitCode).toBe(2);
      expect((err as Error).message).toMatch(msg);
    }
  });

  test('username without password (or the reverse) is an early error naming both inputs', () => {
    const ws = tmp();
    fs.writeFileSync(path.join(ws, 'Dockerfile'), 'FROM busybox\n');
    const plan = (raw: Record<string, string>) => () =>
      planKanikoBuild(inputs({ images: 'harbor.example.com/team/app', ...raw }), ci, ws);
    expect(plan({ username: 'u' })).toThrow("input 'password' is empty while 'username' is set");
    expect(plan({ password: 'pass' })).toThrow("input 'username' is empty while 'password' is set");
    expect(plan({ username: 'u', password: 'pass' })().login).toEqual({
      registry: 'harbor.example.com',
      username: 'u',
      password: 'pass',
    });
    expect(() => planKanikoBuild(inputs({ push: 'false', username: 'u', password: 'pass' }), ci, ws)).toThrow(
      "input 'registry' is empty and there is no image to take it from",
    );
  });
});

describe('credentials that cannot be masked (issue 13)', () => {
  test.each([['p'], ['pwd']])('password %j is refused at input time, never shown', (password) => {
    const run = () => inputs({ images: 'r.example.com/a', username: 'u', password });
    expect(run).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/^input 'password': is shorter than 4/) }),
    );
  });
});

describe('build-args and the Dockerfile for buildah (issue 16 item 8)', () => {
  const seedC = fs.readFileSync(path.join(__dirname, '../../../../examples/seed-c/Dockerfile'), 'utf8');

  test('a bare NAME is accepted like build-push’s; NAME=value as before; anything else is refused', () => {
    expect(inputs({ 'build-args': 'BASE_IMAGE\nPKG_VERSIONS=pinned' }).buildArgs).toEqual([
      'BASE_IMAGE',
      'PKG_VERSIONS=pinned',
    ]);
    expect(() => inputs({ 'build-args': '1BAD=x' })).toThrow(/input 'build-args'/);
    expect(() => inputs({ 'build-args': '--privileged' })).toThrow(/input 'build-args'/);
  });

  test("the seed's global ARG defaults are planned for buildah when not given; a bare NAME resolves FROM from the job", () => {
    const ws = tmp();
    fs.writeFileSync(path.join(ws, 'Dockerfile'), seedC);
    const p = planKanikoBuild(
      inputs({ images: '127.0.0.1:5001/team/app', 'build-args': 'BASE_IMAGE', target: 'target-image' }),
      ci,
      ws,
      { BASE_IMAGE: '127.0.0.1:5001/base/debian:bookworm' },
    );
    expect(p.argDefaults).toEqual({ args: ['PKG_VERSIONS=pinned'], skipped: [] });
    expect(p.envBuildArgs).toEqual(['BASE_IMAGE']);
    // the base image's registry, known from the job variable: auth and --tls-verify=false apply to it
    expect(p.build.pullRegistries).toEqual(['127.0.0.1:5001']);
    expect(p.build.buildArgs).toEqual(['BASE_IMAGE']);
  });

  test('forBuildah: the defaults appended to the build args; one LABEL line in a copy of the Dockerfile; none for smoke', () => {
    const ws = tmp();
    const work = tmp();
    fs.writeFileSync(path.join(ws, 'Dockerfile'), seedC);
    const p = planKanikoBuild(
      inputs({
        images: '127.0.0.1:5001/team/app',
        'build-args': 'BASE_IMAGE=local/debian',
        target: 'target-image',
        'smoke-target': 'smoke-test',
        labels: 'team=platform',
      }),
      ci,
      ws,
    );
    const logs: string[] = [];
    const log = { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(m) };
    const b = forBuildah({ log } as never, p, work);
    expect(b.smoke.buildArgs).toEqual(['BASE_IMAGE=local/debian', 'PKG_VERSIONS=pinned']);
    expect(b.main.buildArgs).toEqual(b.smoke.buildArgs);
    expect(b.smoke.dockerfile).toBe(path.join(ws, 'Dockerfile'));
    expect(b.main.dockerfile).toBe(path.join(work, 'Dockerfile'));
    expect(b.main.labels).toEqual({});
    const text = fs.readFileSync(b.main.dockerfile, 'utf8');
    const label = text.split('\n').filter((l) => l.startsWith('LABEL '));
    expect(label).toHaveLength(1);
    expect(label[0]).toContain('"team"="platform"');
    expect(label[0]).toContain(`"org.opencontainers.image.revision"="${ci.sha}"`);
    // the target stage is the last: the line is appended
    expect(text.startsWith(seedC)).toBe(true);
    expect((fs.statSync(b.main.dockerfile).mode & 0o777).toString(8)).toBe('600');
    expect(logs.join('\n')).toMatch(/global ARG defaults passed to buildah: PKG_VERSIONS=pinned/);
  });
});
