// build-push's pure parts: the plan (validation before any docker call), the builder argv
// for both builders, reading cache hits from both builders' output, folding push output,
// and the input declarations, over fixture contexts from both CIs.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitlabContext, githubContext, type CiContext } from '../../src/lib/ci/context';
import { buildCommand, cacheStats, classifyPushFailure, parseExtract, PushProgress, type BuildSpec } from '../../src/lib/docker/build';
import { parsePushDigest } from '../../src/lib/docker/docker';
import { defaultCacheFrom, planBuild, type BuildPushInputs } from '../../src/steps/build-push/plan';
import step from '../../src/steps/build-push/index';
import { parseInputs } from '../../src/runtime/inputs';
import { InputError, ShiplineError } from '../../src/lib/util/errors';

const FIX = join(__dirname, '../fixtures/ci');
function load(name: string): CiContext {
  const f = JSON.parse(readFileSync(join(FIX, `${name}.json`), 'utf8')) as { provider: string; env: Record<string, string>; payload?: Record<string, unknown> };
  return f.provider === 'github' ? githubContext(f.env, f.payload ?? {}) : gitlabContext(f.env);
}
const SHORT = '4f9c2b7e';

const DOCKERFILE = ['ARG BASE=busybox', 'FROM $BASE AS base', 'RUN true', 'FROM base AS smoke-test', 'RUN true', 'FROM base AS target-image', 'CMD ["sh"]', ''].join('\n');

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
function inputs(raw: Record<string, string> = {}): BuildPushInputs {
  return parseInputs(step.inputs, raw) as unknown as BuildPushInputs;
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
    const plan = planBuild(inputs({ images: 'registry.example.com/Team/App' }), load(`${provider}-merge-request`), workspace());
    expect(plan.refs).toEqual(['registry.example.com/team/app:MR-7']);
    expect(plan.cacheFrom).toEqual(['registry.example.com/team/app:MR-7', 'registry.example.com/team/app:latest']);
    expect(plan.cacheFromDefault).toBe(true);
  });

  test.each(['gitlab', 'github'])('%s default branch -> <sha8> + latest; cache from latest only', (provider) => {
    const plan = planBuild(inputs({ images: 'registry.example.com/team/app' }), load(`${provider}-default-branch`), workspace());
    expect(plan.refs).toEqual([`registry.example.com/team/app:${SHORT}`, 'registry.example.com/team/app:latest']);
    expect(plan.cacheFrom).toEqual(['registry.example.com/team/app:latest']);
    expect(plan.labels['org.opencontainers.image.version']).toBe(SHORT);
  });

  test('explicit refs add to images x rules, deduplicated', () => {
    const plan = planBuild(inputs({ images: 'r.example.com/a', refs: 'r.example.com/a:MR-7\nother.example.com/b:x' }), load('gitlab-merge-request'), workspace());
    expect(plan.refs).toEqual(['r.example.com/a:MR-7', 'other.example.com/b:x']);
    expect(plan.tags).toEqual(['MR-7', 'x']);
  });

  test('cache-from none, explicit, and buildx type= lines', () => {
    const ci = load('gitlab-merge-request');
    expect(planBuild(inputs({ images: 'r.example.com/a', 'cache-from': 'none' }), ci, workspace()).cacheFrom).toEqual([]);
    expect(planBuild(inputs({ images: 'r.example.com/a', 'cache-from': 'r.example.com/a:main\ntype=gha' }), ci, workspace()).cacheFrom).toEqual(['r.example.com/a:main', 'type=gha']);
  });

  test('defaultCacheFrom skips the commit sha (long and short) and keeps branch slugs', () => {
    const ci = load('gitlab-feature-branch');
    expect(defaultCacheFrom(['r/a:feature-x', `r/a:${ci.sha!.slice(0, 8)}`, `r/a:${ci.sha}`], ci, 8)).toEqual(['r/a:feature-x', 'r/a:latest']);
  });

  test('push false without images or refs is a local build', () => {
    const plan = planBuild(inputs({ push: 'false', extract: '/src/deps.lock:out/deps.lock', target: 'smoke-test' }), load('github-default-branch'), workspace());
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
    const a = planBuild(inputs({ refs: 'r1.example.com/a:x\nr2.example.com:5000/b:y', username: 'u', password: 'p' }), ci, workspace());
    expect(a.login).toEqual({ registries: ['r1.example.com', 'r2.example.com:5000'], username: 'u', password: 'p' });
    const b = planBuild(inputs({ refs: 'r1.example.com/a:x', username: 'u', password: 'p', 'login-registry': 'r9.example.com' }), ci, workspace());
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
    const err = problem(() => planBuild(inputs({ images: 'r.example.com/a', tags: 'type=raw,value=-bad' }), ci, workspace()));
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
    expect(problem(() => planBuild(inputs({ images: 'r.example.com/a', builder: 'docker', platforms: 'linux/amd64,linux/arm64' }), ci, workspace())).message).toMatch(/one platform/);
    expect(problem(() => planBuild(inputs({ images: 'r.example.com/a', builder: 'docker', 'cache-to': 'type=inline' }), ci, workspace())).message).toMatch(/cannot export a cache/);
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
    expect(inputs({ 'build-args': 'LIST=a,b,c\nSECRET_FROM_ENV' }).buildArgs).toEqual(['LIST=a,b,c', 'SECRET_FROM_ENV']);
  });
});

describe('buildCommand', () => {
  const spec: BuildSpec = {
    context: '/ws',
    file: '/ws/Dockerfile',
    target: 'target-image',
    buildArgs: ['A=1', 'TOKEN'],
    labels: { 'org.opencontainers.image.version': 'MR-7' },
    tags: ['r/a:MR-7'],
    pull: true,
    cacheFrom: ['r/a:latest'],
    cacheTo: [],
    platforms: ['linux/amd64'],
    iidFile: '/tmp/iid',
  };

  test('classic builder: DOCKER_BUILDKIT=0, --force-rm, local cache-from, context last', () => {
    const c = buildCommand('docker', spec);
    expect(c.env).toEqual({ DOCKER_BUILDKIT: '0' });
    expect(c.args).toEqual([
      'build', '--force-rm', '--file', '/ws/Dockerfile', '--iidfile', '/tmp/iid', '--target', 'target-image',
      '--build-arg', 'A=1', '--build-arg', 'TOKEN', '--label', 'org.opencontainers.image.version=MR-7', '--tag', 'r/a:MR-7', '--pull',
      '--cache-from', 'r/a:latest', '--platform', 'linux/amd64', '/ws',
    ]);
  });

  test('buildx: registry cache sources, inline cache by default, --load or --push with metadata', () => {
    const load = buildCommand('buildx', spec);
    expect(load.args.slice(0, 4)).toEqual(['buildx', 'build', '--progress', 'plain']);
    expect(load.args).toEqual(expect.arrayContaining(['--cache-from', 'type=registry,ref=r/a:latest', '--cache-to', 'type=inline', '--load']));
    expect(load.args.at(-1)).toBe('/ws');
    const push = buildCommand('buildx', { ...spec, platforms: ['linux/amd64', 'linux/arm64'], push: true, metadataFile: '/tmp/m.json', cacheTo: ['type=registry,ref=r/a:cache,mode=max'] });
    expect(push.args).toEqual(expect.arrayContaining(['--platform', 'linux/amd64,linux/arm64', '--push', '--metadata-file', '/tmp/m.json', '--cache-to', 'type=registry,ref=r/a:cache,mode=max']));
    expect(push.args).not.toContain('--load');
    expect(push.args).not.toContain('type=inline');
  });
});

describe('cacheStats', () => {
  test('classic output: FROM and global ARG are not steps; COPY without cache counts as a miss', () => {
    const out = [
      'Step 1/6 : ARG BASE=busybox',
      'Step 2/6 : FROM busybox AS base',
      ' ---> deec427ba4dc',
      'Step 3/6 : WORKDIR /src',
      ' ---> Using cache',
      ' ---> 3be5f48ad882',
      'Step 4/6 : COPY a ./',
      ' ---> 8453c9e0c129',
      'Step 5/6 : RUN true',
      ' ---> Running in 2232d852a641',
      'Removing intermediate container 2232d852a641',
      ' ---> c85507e6603d',
      'Step 6/6 : CMD ["sh"]',
      ' ---> Using cache',
      ' ---> 135ddd4ea452',
      'Successfully built 135ddd4ea452',
    ];
    expect(cacheStats(out)).toEqual({ steps: 4, cached: 2, missed: ['COPY a ./', 'RUN true'] });
  });

  test('buildx plain progress', () => {
    const out = ['#1 [internal] load build definition from Dockerfile', '#5 [base 1/3] FROM docker.io/library/busybox', '#6 [base 2/3] WORKDIR /src', '#6 CACHED', '#7 [base 3/3] RUN make', '#7 0.231 ok', '#7 DONE 0.3s'];
    expect(cacheStats(out)).toEqual({ steps: 2, cached: 1, missed: ['RUN make'] });
  });
});

describe('push output', () => {
  test('PushProgress keeps final layer states and the digest, drops Preparing/Waiting', () => {
    const p = new PushProgress();
    const shown = [
      'The push refers to repository [127.0.0.1:5001/a]',
      '5f70bf18a086: Preparing',
      '7b077c0a0e87: Preparing',
      '5f70bf18a086: Waiting',
      '5f70bf18a086: Layer already exists',
      '7b077c0a0e87: Pushed',
      'MR-7: digest: sha256:f1d2c4880198ee435414254cfc2a283f68c3384f6f024330e4b1e29a3aa3810c size: 942',
    ]
      .map((l) => p.feed(l))
      .filter((l) => l !== undefined);
    expect(shown).toEqual(['5f70bf18a086: Layer already exists', '7b077c0a0e87: Pushed']);
    expect(p.digest).toBe('sha256:f1d2c4880198ee435414254cfc2a283f68c3384f6f024330e4b1e29a3aa3810c');
    expect(p.summary()).toBe('2 layers: 1 pushed, 1 already there, 0 mounted');
  });

  test.each([
    ['received unexpected HTTP status: 500 Internal Server Error', true],
    ['toomanyrequests: Rate exceeded', true],
    ['Put "http://r/v2/a/blobs/uploads/x": read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer', true],
    ['net/http: TLS handshake timeout', true],
    ['unauthorized: authentication required', false],
    ['denied: requested access to the resource is denied', false],
    ['manifest invalid: manifest invalid', false],
    ['An image does not exist locally with the tag: r/a', false],
  ])('classifyPushFailure(%p) retries: %p', (output, retry) => {
    expect(classifyPushFailure(output).retry).toBe(retry);
  });

  test('parsePushDigest', () => {
    expect(parsePushDigest('x\nlatest: digest: sha256:' + 'a'.repeat(64) + ' size: 1\n')).toBe('sha256:' + 'a'.repeat(64));
    expect(parsePushDigest('no digest here')).toBeUndefined();
  });

  test('parseExtract splits at the first colon after an absolute path', () => {
    expect(parseExtract('/src/deps.lock:deps.lock')).toEqual({ from: '/src/deps.lock', to: 'deps.lock' });
    expect(parseExtract('/a:b:c')).toEqual({ from: '/a', to: 'b:c' });
    expect(() => parseExtract('rel:x')).toThrow(/not \/path\/in\/image:dest/);
  });
});

describe('declaration', () => {
  test('the issue\'s inputs and outputs exist, TAG_INPUTS reused', () => {
    for (const name of ['context', 'file', 'target', 'build-args', 'images', 'tags', 'push', 'pull', 'cache-from', 'cache-to', 'platforms', 'builder', 'smoke-target', 'extract', 'labels', 'refs']) {
      expect(step.inputs).toHaveProperty([name]);
    }
    expect(Object.keys(step.outputs)).toEqual(['digest', 'image-id', 'tags', 'metadata']);
    expect(step.inputs['build-args'].lines).toBe(true);
    expect(step.inputs.password.secret).toBe(true);
    expect(step.inputs.images.gitlabDefault).toBe('$CI_REGISTRY_IMAGE');
  });
});
