// The container building blocks: job-unique names, the docker argv (variables by name,
// never values) and which pull failures are worth another try.
import { classifyPullError, defaultName, execArgs, ownerId, runArgs } from '../../../../src/lib/docker/container';

describe('container names', () => {
  const base = { jobId: '1234', pipelineId: '99', projectPath: 'team/app' };
  it('are unique per job and stable within one job', () => {
    const a = ownerId(base, '/builds/a', {});
    expect(ownerId(base, '/builds/a', {})).toBe(a);
    expect(ownerId({ ...base, jobId: '1235' }, '/builds/a', {})).not.toBe(a);
    expect(ownerId(base, '/builds/b', {})).not.toBe(a); // same job id, another project checkout
    expect(ownerId(base, '/builds/a', { RUNNER_NAME: 'r2' })).not.toBe(a);
    expect(defaultName('1234', a)).toBe(`shipline-1234-${a}`);
    expect(defaultName('4242-1-test job', a)).toMatch(/^shipline-4242-1-test-job-[0-9a-f]{10}$/);
    expect(defaultName(undefined, a)).toBe(`shipline-local-${a}`);
  });
});

describe('docker argv', () => {
  it('run: keep-alive entrypoint, labels, no variable values', () => {
    const args = runArgs({
      image: 'reg/app:1',
      name: 'c1',
      workdir: '/app',
      step: 'run-in-container',
      owner: 'abc',
      options: ['--network', 'host'],
    });
    expect(args.slice(0, 4)).toEqual(['run', '--detach', '--name', 'c1']);
    expect(args).toContain('dev.shipline.owner=abc');
    expect(args).toContain('dev.shipline.step=run-in-container');
    // `--` ends the options: the image is never read as one.
    expect(args.slice(-5)).toEqual(['--entrypoint', 'sleep', '--', 'reg/app:1', 'infinity']);
  });
  it('exec: variables by NAME only', () => {
    const args = execArgs({
      container: 'c1',
      workdir: '/app',
      shell: ['sh', '-e'],
      command: 'make test',
      envNames: ['TOKEN', 'NPM_TOKEN'],
    });
    expect(args).toEqual([
      'exec',
      '--env',
      'TOKEN',
      '--env',
      'NPM_TOKEN',
      '--workdir',
      '/app',
      'c1',
      'sh',
      '-e',
      '-c',
      'make test',
    ]);
  });
});

describe('pull failures', () => {
  it.each([
    ['Error response from daemon: received unexpected HTTP status: 500 Internal Server Error', true],
    ['Error response from daemon: received unexpected HTTP status: 503 Service Unavailable', true],
    ['Error response from daemon: toomanyrequests: You have reached your pull rate limit.', true],
    ['Error response from daemon: unknown: Rate exceeded', true],
    ['Error response from daemon: Get "https://r.example/v2/": net/http: TLS handshake timeout', true],
    ['Error response from daemon: Get "https://r.example/v2/": dial tcp: i/o timeout', true],
    [
      'Error response from daemon: Get "http://127.0.0.1:9/v2/": dial tcp 127.0.0.1:9: connect: connection refused',
      false,
    ],
    ['Error response from daemon: manifest for r.example/app:1 not found: manifest unknown: manifest unknown', false],
    [
      'Error response from daemon: pull access denied for app, repository does not exist or may require docker login',
      false,
    ],
    [
      'Error response from daemon: Head "https://r.example/v2/app/manifests/1.500": unauthorized: authentication required',
      false,
    ],
  ])('%s -> retry %s', (stderr, want) => {
    expect(classifyPullError(stderr).retry).toBe(want);
  });
});
