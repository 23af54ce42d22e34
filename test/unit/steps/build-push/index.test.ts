// build-push's declaration: the inputs and outputs the issue asks for, TAG_INPUTS reused.
import step from '../../../../src/steps/build-push/index';

describe('declaration', () => {
  test("the issue's inputs and outputs exist, TAG_INPUTS reused", () => {
    for (const name of [
      'context',
      'file',
      'target',
      'build-args',
      'images',
      'tags',
      'push',
      'pull',
      'cache-from',
      'cache-to',
      'platforms',
      'builder',
      'smoke-target',
      'extract',
      'labels',
      'refs',
    ]) {
      expect(step.inputs).toHaveProperty([name]);
    }
    expect(Object.keys(step.outputs)).toEqual(['digest', 'image-id', 'tags', 'image', 'metadata']);
    expect(step.inputs['build-args'].lines).toBe(true);
    expect(step.inputs.password.secret).toBe(true);
    expect(step.inputs.images.gitlabDefault).toBe('$CI_REGISTRY_IMAGE');
  });
});

describe("docker/build-push-action's build options", () => {
  const honoured = [
    'no-cache',
    'load',
    'add-hosts',
    'shm-size',
    'ulimit',
    'cgroup-parent',
    'secrets',
    'secret-envs',
    'secret-files',
    'ssh',
  ];
  test('are inputs now, no longer refused', () => {
    for (const name of honoured) {
      expect(step.inputs).toHaveProperty([name]);
      expect(step.unsupported ?? {}).not.toHaveProperty([name]);
    }
    expect(step.inputs['no-cache'].type).toBe('boolean');
    expect(step.inputs.load.type).toBe('boolean');
    expect(step.inputs.secrets.secret).toBe(true);
  });

  test('what stays refused says why, precisely (no "not supported yet")', () => {
    for (const [name, u] of Object.entries(step.unsupported ?? {})) {
      expect(u.why).not.toMatch(/not supported yet/);
      expect(`${name}: ${u.why}`).toMatch(/build-push|checkout/);
    }
    expect(Object.keys(step.unsupported ?? {}).sort()).toEqual(
      [
        'allow',
        'annotations',
        'attests',
        'build-contexts',
        'call',
        'github-token',
        'no-cache-filters',
        'outputs',
        'provenance',
        'sbom',
      ].sort(),
    );
  });

  test.each([
    ['add-hosts', 'registry.internal:10.0.0.5', undefined],
    ['add-hosts', 'db=192.168.1.2', undefined],
    ['add-hosts', 'v6host:::1', undefined],
    ['add-hosts', 'gw:host-gateway', undefined],
    ['add-hosts', 'bad host:1.2.3.4', /is not host:ip/],
    ['add-hosts', 'h:999.1.1.1', /is not host:ip/],
    ['add-hosts', '--privileged:1.2.3.4', /is not host:ip/],
    ['shm-size', '2g', undefined],
    ['shm-size', '1.5GB', undefined],
    ['shm-size', '-1', /is not a size/],
    ['shm-size', '2 g', /is not a size/],
    ['ulimit', 'nofile=1024:2048', undefined],
    ['ulimit', 'nproc=-1', undefined],
    ['ulimit', 'nofile=4096:1024', /soft limit is above the hard limit/],
    ['ulimit', 'bogus=1', /is not a ulimit/],
    ['cgroup-parent', '/ci-builds', undefined],
    ['cgroup-parent', '-x', /is not a cgroup path/],
    ['cgroup-parent', '/a/../b', /is not a cgroup path/],
    ['secret-envs', 'npm=NPM_TOKEN', undefined],
    ['secret-envs', 'npm=$NPM_TOKEN', /is not id=VARIABLE/],
    ['secret-files', 'key=./key.txt', undefined],
    ['secret-files', '=./key.txt', /is not id=path/],
    ['ssh', 'default', undefined],
    ['ssh', 'github=/run/ssh/key,/run/ssh/key2', undefined],
    ['ssh', 'x=--help', /is not default or id=path/],
  ])('%s %j', (name, value, problem) => {
    const check = (step.inputs as Record<string, { check?: (v: string) => string | undefined }>)[name]!.check!;
    const got = check(value);
    if (problem === undefined) expect(got).toBeUndefined();
    else expect(got).toMatch(problem);
  });
});
