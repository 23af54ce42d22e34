// docker build for both builders: the argv, reading cache hits from both builders'
// output, folding push output, and classifying push failures.
import {
  buildCommand,
  cacheStats,
  classifyPushFailure,
  parseExtract,
  PushProgress,
  type DockerBuild,
} from '../../../../src/lib/docker/build';
import { parsePushDigest } from '../../../../src/lib/docker/docker';

describe('buildCommand', () => {
  const spec: DockerBuild = {
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

  test('network: --network for both builders, before the context', () => {
    for (const b of ['docker', 'buildx'] as const) {
      const args = buildCommand(b, { ...spec, network: 'host' }).args;
      expect(args.slice(args.indexOf('--network'), args.indexOf('--network') + 2)).toEqual(['--network', 'host']);
      expect(args.indexOf('--network')).toBeLessThan(args.indexOf('/ws'));
      expect(buildCommand(b, spec).args).not.toContain('--network');
    }
  });

  test('classic builder: DOCKER_BUILDKIT=0, --force-rm, local cache-from, context last', () => {
    const c = buildCommand('docker', spec);
    expect(c.env).toEqual({ DOCKER_BUILDKIT: '0' });
    expect(c.args).toEqual([
      'build',
      '--force-rm',
      '--file',
      '/ws/Dockerfile',
      '--iidfile',
      '/tmp/iid',
      '--target',
      'target-image',
      '--build-arg',
      'A=1',
      '--build-arg',
      'TOKEN',
      '--label',
      'org.opencontainers.image.version=MR-7',
      '--tag',
      'r/a:MR-7',
      '--pull',
      '--cache-from',
      'r/a:latest',
      '--platform',
      'linux/amd64',
      '/ws',
    ]);
  });

  test('buildx: registry cache sources, inline cache by default, --load or --push with metadata', () => {
    const load = buildCommand('buildx', spec);
    expect(load.args.slice(0, 4)).toEqual(['buildx', 'build', '--progress', 'plain']);
    expect(load.args).toEqual(
      expect.arrayContaining(['--cache-from', 'type=registry,ref=r/a:latest', '--cache-to', 'type=inline', '--load']),
    );
    expect(load.args.at(-1)).toBe('/ws');
    const push = buildCommand('buildx', {
      ...spec,
      platforms: ['linux/amd64', 'linux/arm64'],
      push: true,
      metadataFile: '/tmp/m.json',
      cacheTo: ['type=registry,ref=r/a:cache,mode=max'],
    });
    expect(push.args).toEqual(
      expect.arrayContaining([
        '--platform',
        'linux/amd64,linux/arm64',
        '--push',
        '--metadata-file',
        '/tmp/m.json',
        '--cache-to',
        'type=registry,ref=r/a:cache,mode=max',
      ]),
    );
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
    const out = [
      '#1 [internal] load build definition from Dockerfile',
      '#5 [base 1/3] FROM docker.io/library/busybox',
      '#6 [base 2/3] WORKDIR /src',
      '#6 CACHED',
      '#7 [base 3/3] RUN make',
      '#7 0.231 ok',
      '#7 DONE 0.3s',
    ];
    expect(cacheStats(out)).toEqual({ steps: 2, cached: 1, missed: ['RUN make'] });
  });
});

describe('push output', () => {
  test('PushProgress keeps final layer states, drops Preparing/Waiting and the digest line (the caller reports the digest)', () => {
    const p = new PushProgress();
    const lines = [
      'The push refers to repository [127.0.0.1:5001/a]',
      '5f70bf18a086: Preparing',
      '7b077c0a0e87: Preparing',
      '5f70bf18a086: Waiting',
      '5f70bf18a086: Layer already exists',
      '7b077c0a0e87: Pushed',
      'MR-7: digest: sha256:f1d2c4880198ee435414254cfc2a283f68c3384f6f024330e4b1e29a3aa3810c size: 942',
    ];
    const shown = lines.map((l) => p.feed(l)).filter((l) => l !== undefined);
    expect(shown).toEqual(['5f70bf18a086: Layer already exists', '7b077c0a0e87: Pushed']);
    expect(parsePushDigest(lines.at(-1)!)).toBe(
      'sha256:f1d2c4880198ee435414254cfc2a283f68c3384f6f024330e4b1e29a3aa3810c',
    );
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

  test('parseExtract splits at the first colon after an absolute path', () => {
    expect(parseExtract('/src/deps.lock:deps.lock')).toEqual({ from: '/src/deps.lock', to: 'deps.lock' });
    expect(parseExtract('/a:b:c')).toEqual({ from: '/a', to: 'b:c' });
    expect(() => parseExtract('rel:x')).toThrow(/not \/path\/in\/image:dest/);
  });
});
