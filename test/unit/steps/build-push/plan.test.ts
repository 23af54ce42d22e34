// build-push's plan: validation before any docker call, over fixture contexts from both CIs.
import { mkdtempSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitlabContext, githubContext, type CiContext } from '../../../../src/lib/ci/context';
import { defaultCacheFrom, planBuild } from '../../../../src/steps/build-push/plan';
import step, { type Inputs } from '../../../../src/steps/build-push/index';
import { parseInputs, InputError } from '../../../../src/runtime/inputs';
import { ShiplineError } from '../../../../src/lib/util/errors';

const FIX = join(__dirname, '../../../fixtures/ci');
function load(name: string): CiContext {
  const f = JSON.parse(readFileSync(join(FIX, `${name}.json`), 'utf8')) as {
    provider: string;
    env: Record<string, string>;
    payload?: Record<string, unknown>;
  };
  return f.provider === 'github' ? githubContext(f.env, f.payload ?? {}) : gitlabContext(f.env);
}
const SHORT = '4f9c2b7e';

const DOCKERFILE = [
  'ARG BASE=busybox',
  'FROM $BASE AS base',
  'RUN true',
  'FROM base AS smoke-test',
  'RUN true',
  'FROM base AS target-image',
  'CMD ["sh"]',
  '',
].join('\n');

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function workspace(dockerfile: string | undefined = DOCKERFILE): string {
  const dir = mkdtempSync(join(tmpdir(), 'bp-unit-'));
  dirs.push(dir);
  if (dockerfile !== undefined) writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  return dir;
}

/** Inputs as the runtime would parse them from raw strings (defaults applied). */
function inputs(raw: Record<string, string> = {}): Inputs {
  return parseInputs(step.inputs, raw) as unknown as Inputs;
}

function problem(fn: () => unknown): ShiplineError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ShiplineError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

describe('plan: tags like image-tags, on both CIs', () => {
  test.each(['gitlab', 'github'])('%s merge request -> MR-7, cache from MR-7 then latest', (provider) => {
    const plan = planBuild(
      inputs({ images: 'registry.example.com/Team/App' }),
      load(`${provider}-merge-request`),
      workspace(),
    );
    expect(plan.refs).toEqual(['registry.example.com/team/app:MR-7']);
    expect(plan.cacheFrom).toEqual(['registry.example.com/team/app:MR-7', 'registry.example.com/team/app:latest']);
  });

  test.each(['gitlab', 'github'])('%s default branch -> <sha8> + latest; cache from latest only', (provider) => {
    const plan = planBuild(
      inputs({ images: 'registry.example.com/team/app' }),
      load(`${provider}-default-branch`),
      workspace(),
    );
    expect(plan.refs).toEqual([`registry.example.com/team/app:${SHORT}`, 'registry.example.com/team/app:latest']);
    expect(plan.cacheFrom).toEqual(['registry.example.com/team/app:latest']);
    expect(plan.labels['org.opencontainers.image.version']).toBe(SHORT);
  });

  test('explicit refs add to images x rules, deduplicated', () => {
    const plan = planBuild(
      inputs({ images: 'r.example.com/a', refs: 'r.example.com/a:MR-7\nother.example.com/b:x' }),
      load('gitlab-merge-request'),
      workspace(),
    );
    expect(plan.refs).toEqual(['r.example.com/a:MR-7', 'other.example.com/b:x']);
    expect(plan.refs.map((r) => r.slice(r.lastIndexOf(':') + 1))).toEqual(['MR-7', 'x']);
  });

  test('cache-from none, explicit, and buildx type= lines', () => {
    const ci = load('gitlab-merge-request');
    expect(planBuild(inputs({ images: 'r.example.com/a', 'cache-from': 'none' }), ci, workspace()).cacheFrom).toEqual(
      [],
    );
    expect(
      planBuild(inputs({ images: 'r.example.com/a', 'cache-from': 'r.example.com/a:main\ntype=gha' }), ci, workspace())
        .cacheFrom,
    ).toEqual(['r.example.com/a:main', 'type=gha']);
  });

  test('defaultCacheFrom skips the commit sha (long and short) and keeps branch slugs', () => {
    const ci = load('gitlab-feature-branch');
    expect(defaultCacheFrom(['r/a:feature-x', `r/a:${ci.sha!.slice(0, 8)}`, `r/a:${ci.sha}`], ci, 8)).toEqual([
      'r/a:feature-x',
      'r/a:latest',
    ]);
  });

  test('push false without images or refs is a local build', () => {
    const plan = planBuild(
      inputs({ push: 'false', extract: '/src/deps.lock:out/deps.lock', target: 'smoke-test' }),
      load('github-default-branch'),
      workspace(),
    );
    expect(plan.refs).toEqual([]);
    expect(plan.push).toBe(false);
    expect(plan.extract).toEqual([{ from: '/src/deps.lock', to: expect.stringMatching(/\/out\/deps\.lock$/) }]);
  });

  test('file and context resolve against the workspace; default file is <context>/Dockerfile', () => {
    const ws = workspace(undefined);
    mkdirSync(join(ws, 'app'));
    writeFileSync(join(ws, 'app', 'Dockerfile'), DOCKERFILE);
    const plan = planBuild(inputs({ images: 'r.example.com/a', context: 'app' }), load('gitlab-merge-request'), ws);
    expect(plan.file).toBe(join(ws, 'app', 'Dockerfile'));
    expect(plan.context).toBe(join(ws, 'app'));
    expect(plan.stages.map((s) => s.name)).toEqual(['base', 'smoke-test', 'target-image']);
  });

  test('username and password: login to the registries of the refs unless login-registry is set', () => {
    const ci = load('gitlab-merge-request');
    const a = planBuild(
      inputs({ refs: 'r1.example.com/a:x\nr2.example.com:5000/b:y', username: 'u', password: 'pass' }),
      ci,
      workspace(),
    );
    expect(a.login).toEqual({ registries: ['r1.example.com', 'r2.example.com:5000'], username: 'u', password: 'pass' });
    const b = planBuild(
      inputs({ refs: 'r1.example.com/a:x', username: 'u', password: 'pass', 'login-registry': 'r9.example.com' }),
      ci,
      workspace(),
    );
    expect(b.login?.registries).toEqual(['r9.example.com']);
    expect(planBuild(inputs({ refs: 'r1.example.com/a:x', username: 'u' }), ci, workspace()).login).toBeUndefined();
  });
});

describe('plan: bad inputs fail with exit code 2 and say what is wrong', () => {
  const ci = load('gitlab-merge-request');

  test('missing Dockerfile names the resolved path', () => {
    const ws = workspace(undefined);
    const err = problem(() => planBuild(inputs({ images: 'r.example.com/a', file: 'docker/Dockerfile.prod' }), ci, ws));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(join(ws, 'docker/Dockerfile.prod'));
  });

  test('missing context directory names the resolved path', () => {
    const ws = workspace();
    const err = problem(() => planBuild(inputs({ images: 'r.example.com/a', context: 'nope' }), ci, ws));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain(join(ws, 'nope'));
  });

  test.each(['target', 'smoke-target'])('unknown %s lists the stages', (input) => {
    const err = problem(() => planBuild(inputs({ images: 'r.example.com/a', [input]: 'tests' }), ci, workspace()));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(`input '${input}': stage 'tests'`);
    expect(err.hint).toBe('stages there: base, smoke-test, target-image');
  });

  test('a tag rule producing an invalid tag names the tag', () => {
    const err = problem(() =>
      planBuild(inputs({ images: 'r.example.com/a', tags: 'type=raw,value=-bad' }), ci, workspace()),
    );
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain("'-bad'");
  });

  test('an invalid explicit ref is rejected by input parsing, naming it', () => {
    const err = problem(() => inputs({ refs: 'r.example.com/a:bad tag!' }));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain("input 'refs'");
    expect(err.message).toContain('bad tag!');
  });

  test('nothing to push', () => {
    const err = problem(() => planBuild(inputs({}), ci, workspace()));
    expect(err.message).toMatch(/nothing to push/);
    expect(err.exitCode).toBe(2);
  });

  test('classic builder: several platforms or cache-to are input errors', () => {
    expect(
      problem(() =>
        planBuild(
          inputs({ images: 'r.example.com/a', builder: 'docker', platforms: 'linux/amd64,linux/arm64' }),
          ci,
          workspace(),
        ),
      ).message,
    ).toMatch(/one platform/);
    expect(
      problem(() =>
        planBuild(inputs({ images: 'r.example.com/a', builder: 'docker', 'cache-to': 'type=inline' }), ci, workspace()),
      ).message,
    ).toMatch(/cannot export a cache/);
  });

  test.each([
    ['extract', 'deps.lock:deps.lock'],
    ['extract', '/src/deps.lock'],
    ['build-args', 'not a key=1'],
    ['builder', 'kaniko'],
    ['platforms', 'amd64'],
    ['password', ''],
  ])('input %s rejects %p', (name, value) => {
    if (name === 'password') {
      const err = problem(() => planBuild(inputs({ refs: 'r.example.com/a:x', password: 'secret' }), ci, workspace()));
      expect(err.message).toContain("input 'username'");
      return;
    }
    const err = problem(() => inputs({ [name]: value }));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(`input '${name}'`);
  });

  test('build args may hold commas (one per line)', () => {
    expect(inputs({ 'build-args': 'LIST=a,b,c\nSECRET_FROM_ENV' }).buildArgs).toEqual([
      'LIST=a,b,c',
      'SECRET_FROM_ENV',
    ]);
  });
});

describe('plan: what the inputs may not do (issue 13)', () => {
  const ci = load('gitlab-default-branch');
  test.each([
    ['../x', /input 'extract': '\.\.\/x' is outside the workspace/],
    ['/tmp/elsewhere/x', /input 'extract': '\/tmp\/elsewhere\/x' is outside the workspace/],
    ['link-out/x', /input 'extract': 'link-out\/x' is outside the workspace \(after resolving symlinks\)/],
    ['dangling', /input 'extract': 'dangling' is outside the workspace/],
  ])('extract to %s: exit 2', (dest, message) => {
    const ws = workspace();
    const out = mkdtempSync(join(tmpdir(), 'bp-unit-out-'));
    dirs.push(out);
    symlinkSync(out, join(ws, 'link-out'));
    symlinkSync(join(out, 'created'), join(ws, 'dangling'));
    const err = problem(() => planBuild(inputs({ push: 'false', extract: `/src/deps.lock:${dest}` }), ci, ws));
    expect(err).toBeInstanceOf(InputError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(message);
  });

  test('extract inside the workspace, through a link that stays inside, is its real path', () => {
    const ws = realpathSync(workspace());
    mkdirSync(join(ws, 'real'));
    symlinkSync(join(ws, 'real'), join(ws, 'in'));
    const plan = planBuild(inputs({ push: 'false', extract: '/a:in/a\n/b:' + join(ws, 'b') }), ci, ws);
    expect(plan.extract).toEqual([
      { from: '/a', to: join(ws, 'real', 'a') },
      { from: '/b', to: join(ws, 'b') },
    ]);
  });

  test.each([['p'], ['abc'], ['   x']])('a password of fewer than 4 characters (%j) is refused, never shown', (pw) => {
    const err = problem(() => inputs({ refs: 'r.example.com/a:x', username: 'u', password: pw }));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/input 'password': is shorter than 4 characters/);
    expect(err.message).not.toContain(`'${pw}'`);
  });

  test.each([
    ['cache-to', '--output=type=local,dest=/'],
    ['cache-to', 'mode=max'],
    ['cache-from', '--privileged=true'],
    ['refs', '--privileged'],
    ['refs', 'r.example.com/a@md5:0123'],
  ])('%s %j: exit 2 at input time', (name, value) => {
    expect(problem(() => inputs({ [name]: value })).exitCode).toBe(2);
  });
});

describe('tags that are full references (docker/metadata-action output)', () => {
  test('only references: pushed as they are, the images get no default tags', () => {
    const plan = planBuild(
      inputs({
        images: 'registry.example.com/team/app',
        tags: 'registry.example.com/team/app:main\nghcr.io/o/app:sha-4f9c2b7',
      }),
      load('github-default-branch'),
      workspace(),
    );
    expect(plan.refs).toEqual(['registry.example.com/team/app:main', 'ghcr.io/o/app:sha-4f9c2b7']);
  });
  test('references and rules mixed: the rules apply to the images, the references are added', () => {
    const plan = planBuild(
      inputs({ images: 'registry.example.com/team/app', tags: 'type=raw,value=edge\nother.example.com/x/app:1' }),
      load('gitlab-default-branch'),
      workspace(),
    );
    expect(plan.refs).toEqual(['registry.example.com/team/app:edge', 'other.example.com/x/app:1']);
  });
  test('are pushed as they are; rule lines still apply to the images', () => {
    const { isFullReference } = jest.requireActual(
      '../../../../src/steps/shared/tag-inputs',
    ) as typeof import('../../../../src/steps/shared/tag-inputs');
    expect(isFullReference('registry.example.com/team/app:1.2')).toBe(true);
    expect(isFullReference('app:1.2')).toBe(true);
    expect(isFullReference('type=raw,value=x')).toBe(false);
    expect(isFullReference('latest')).toBe(false);
    expect(isFullReference('registry.example.com/team/app')).toBe(false);
  });
});

describe("plan: docker/build-push-action's build options", () => {
  const ci = load('gitlab-merge-request');
  const plan = (raw: Record<string, string>, ws = workspace()) =>
    planBuild(inputs({ images: 'r.example.com/a', ...raw }), ci, ws);

  test('defaults: nothing extra', () => {
    const p = plan({});
    expect(p.options).toEqual({
      noCache: false,
      addHosts: [],
      shmSize: undefined,
      ulimits: [],
      cgroupParent: undefined,
    });
    expect(p.secrets).toEqual([]);
    expect(p.ssh).toEqual([]);
    expect(p.load).toBe(false);
  });

  test('no-cache, add-hosts (host=ip normalised to host:ip), shm-size, ulimit, cgroup-parent', () => {
    const p = plan({
      'no-cache': 'true',
      'add-hosts': 'db=10.0.0.2,v6:[::1],gw:host-gateway',
      'shm-size': '2g',
      ulimit: 'nofile=1024:2048\nnproc=512',
      'cgroup-parent': '/ci-builds',
    });
    expect(p.options).toEqual({
      noCache: true,
      addHosts: ['db:10.0.0.2', 'v6:::1', 'gw:host-gateway'],
      shmSize: '2g',
      ulimits: ['nofile=1024:2048', 'nproc=512'],
      cgroupParent: '/ci-builds',
    });
  });

  test('secrets as build-push-action reads them: id=value lines, a quoted record with commas, quotes and line breaks', () => {
    const p = plan({
      secrets: 'npm=tok-123\n"gpg=-----BEGIN-----\nline, two ""q""\n-----END-----"\n\n# a comment\n  spaced = v=w  ',
      'secret-envs': 'gh=GH_TOKEN,"aws=AWS_SECRET"',
    });
    expect(p.secrets).toEqual([
      { id: 'npm', kind: 'value', value: 'tok-123' },
      { id: 'gpg', kind: 'value', value: '-----BEGIN-----\nline, two "q"\n-----END-----' },
      { id: 'spaced', kind: 'value', value: ' v=w' },
      { id: 'gh', kind: 'env', variable: 'GH_TOKEN' },
      { id: 'aws', kind: 'env', variable: 'AWS_SECRET' },
    ]);
  });

  test('secret-files resolve against the workspace and must be files', () => {
    const ws = workspace();
    writeFileSync(join(ws, 'key.txt'), 'k');
    expect(plan({ 'secret-files': 'key=key.txt' }, ws).secrets).toEqual([
      { id: 'key', kind: 'file', path: join(ws, 'key.txt') },
    ]);
    const err = problem(() => plan({ 'secret-files': 'key=missing.txt' }, ws));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/input 'secret-files': secret 'key': .*missing\.txt is not a file/);
  });

  test('bad secrets never show the value: record number or id only; an id given twice is refused', () => {
    const value = 'hunter2-very-secret';
    for (const [text, msg] of [
      [`${value}`, /input 'secrets': record 1 is not id=value/],
      [`ok=1\n=${value}`, /input 'secrets': record 2 is not id=value/],
      ['empty=', /input 'secrets': secret 'empty' has an empty value/],
      [`"x=${value}`, /input 'secrets': a quoted secret is not closed/],
    ] as const) {
      const err = problem(() => plan({ secrets: text }));
      expect(err.exitCode).toBe(2);
      expect(err.message).toMatch(msg);
      expect(`${err.message} ${err.hint ?? ''}`).not.toContain(value);
    }
    const twice = problem(() => plan({ secrets: 'a=1234', 'secret-envs': 'a=X' }));
    expect(twice.message).toMatch(/input 'secret-envs': secret id 'a' is also given in 'secrets'/);
  });

  test('load with several platforms cannot be honoured (exit 2); one platform is fine', () => {
    const err = problem(() => plan({ load: 'true', platforms: 'linux/amd64,linux/arm64', builder: 'buildx' }));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/input 'load': an image of several platforms/);
    expect(plan({ load: 'true', platforms: 'linux/amd64' }).load).toBe(true);
  });

  test('ssh items keep their form (a whole-item quote taken off)', () => {
    expect(plan({ ssh: 'default\n"gh=/run/key1,/run/key2"' }).ssh).toEqual(['default', 'gh=/run/key1,/run/key2']);
  });
});

describe('plan: paths that are no file or no usable name (found by the fuzz test)', () => {
  const ci = load('gitlab-merge-request');
  test('file naming a directory, and extract to a name over 255 bytes: exit 2 naming the input', () => {
    const ws = workspace();
    mkdirSync(join(ws, 'dir'));
    for (const file of ['/', 'dir', '.']) {
      const err = problem(() => planBuild(inputs({ images: 'r.example.com/a', file }), ci, ws));
      expect(err.exitCode).toBe(2);
      expect(err.message).toMatch(/input 'file': .* is not a file/);
    }
    const long = 'o'.repeat(300);
    const err = problem(() => planBuild(inputs({ push: 'false', extract: `/etc/hostname:${long}` }), ci, ws));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/input 'extract': .* cannot be used as a path \(ENAMETOOLONG\)/);
  });

  test("a tag rule error gets a hint (the input's form)", () => {
    const err = problem(() => planBuild(inputs({ images: 'r.example.com/a', tags: '*' }), ci, workspace()));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/input 'tags'/);
    expect(err.hint).toMatch(/^use rule lines like type=ref,event=branch/);
  });
});
