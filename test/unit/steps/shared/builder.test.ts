// Which builder runs: build-push's buildx or classic docker (over a fake docker CLI), and
// kaniko-build's kaniko executor or buildah.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Docker } from '../../../../src/lib/docker/docker';
import {
  buildArgv,
  chooseDaemonlessBuilder,
  chooseDockerBuilder,
  csvField,
  type BuildFlags,
} from '../../../../src/steps/shared/builder';
import type { DockerBuild } from '../../../../src/lib/docker/build';
import { fakeDocker } from '../../../support/fake-docker';

const made: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-kb-unit-'));
  made.push(d);
  return d;
};
afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('build-push: buildx or the classic builder', () => {
  test('auto: buildx when present, else the classic builder; docker: always classic', async () => {
    expect(await chooseDockerBuilder(new Docker({ bin: fakeDocker({ buildx: true }).bin }), 'auto', [])).toBe('buildx');
    expect(await chooseDockerBuilder(new Docker({ bin: fakeDocker({ buildx: false }).bin }), 'auto', [])).toBe(
      'docker',
    );
    const f = fakeDocker({ buildx: true });
    expect(await chooseDockerBuilder(new Docker({ bin: f.bin }), 'docker', [])).toBe('docker');
    expect(f.calls()).toEqual([]);
  });

  test('buildx asked for but missing, or several platforms without buildx: errors saying what to do', async () => {
    const none = () => new Docker({ bin: fakeDocker({ buildx: false }).bin });
    await expect(chooseDockerBuilder(none(), 'buildx', [])).rejects.toThrow(/'docker buildx' is not available/);
    await expect(chooseDockerBuilder(none(), 'auto', ['linux/amd64', 'linux/arm64'])).rejects.toThrow(/needs buildx/);
  });
});

/** A docker CLI whose `DOCKER_BUILDKIT=1 docker build --help` lists --secret (docker ≤ 22) or fails (23+ without buildx). */
function cliWithBuildKit(builtin: boolean): string {
  const dir = tmp();
  const bin = path.join(dir, 'docker');
  fs.writeFileSync(
    bin,
    `#!/bin/sh
case "$1 $2" in
  "buildx version") echo "docker: unknown command: docker buildx" >&2; exit 1 ;;
  "build --help") ${
    builtin
      ? 'if [ "$DOCKER_BUILDKIT" = 1 ]; then echo "      --secret stringArray      Secret file to expose"; fi; exit 0'
      : 'echo "ERROR: BuildKit is enabled but the buildx component is missing or broken." >&2; exit 1'
  } ;;
esac
exit 0
`,
    { mode: 0o755 },
  );
  return bin;
}

describe('build-push: BuildKit for secrets and ssh', () => {
  test('no buildx: the docker CLI’s own BuildKit when it has one, else an error naming the inputs', async () => {
    const needs = { needsBuildKit: ['secrets', 'ssh'] };
    expect(await chooseDockerBuilder(new Docker({ bin: cliWithBuildKit(true) }), 'auto', [], needs)).toBe('buildkit');
    expect(await chooseDockerBuilder(new Docker({ bin: cliWithBuildKit(true) }), 'docker', [], needs)).toBe('buildkit');
    await expect(chooseDockerBuilder(new Docker({ bin: cliWithBuildKit(false) }), 'auto', [], needs)).rejects.toThrow(
      /secrets, ssh need BuildKit: neither buildx nor a docker CLI with built-in BuildKit is here/,
    );
    // nothing asks for BuildKit: the classic builder, unprobed
    expect(await chooseDockerBuilder(new Docker({ bin: cliWithBuildKit(false) }), 'auto', [])).toBe('docker');
    // buildx wins when it is there
    expect(await chooseDockerBuilder(new Docker({ bin: fakeDocker({ buildx: true }).bin }), 'auto', [], needs)).toBe(
      'buildx',
    );
  });
});

describe('build-push: buildArgv', () => {
  const spec: DockerBuild = {
    context: '/ws',
    file: '/ws/Dockerfile',
    target: 'final',
    buildArgs: ['A=1'],
    labels: { k: 'v' },
    tags: ['r.example.com/a:1'],
    pull: false,
    cacheFrom: ['r.example.com/a:latest'],
    cacheTo: [],
    platforms: [],
    iidFile: '/t/iid',
  };
  const none: BuildFlags = {
    noCache: false,
    addHosts: [],
    shmSize: undefined,
    ulimits: [],
    cgroupParent: undefined,
    secrets: [],
    ssh: [],
  };
  const all: BuildFlags = {
    noCache: true,
    addHosts: ['db:10.0.0.2'],
    shmSize: '1g',
    ulimits: ['nofile=1024:2048'],
    cgroupParent: '/ci',
    secrets: ['id=npm,src=/t/s0', 'id=gh,env=GH_TOKEN'],
    ssh: ['default'],
  };

  test('classic: the options before the context, DOCKER_BUILDKIT=0; secrets never reach it', () => {
    const c = buildArgv('docker', spec, { ...all, secrets: [], ssh: [] });
    expect(c.env).toEqual({ DOCKER_BUILDKIT: '0' });
    expect(c.args.slice(-10)).toEqual([
      '--no-cache',
      '--add-host',
      'db:10.0.0.2',
      '--shm-size',
      '1g',
      '--ulimit',
      'nofile=1024:2048',
      '--cgroup-parent',
      '/ci',
      '/ws',
    ]);
    expect(c.args[c.args.length - 1]).toBe('/ws');
    expect(() => buildArgv('docker', spec, all)).toThrow(/need BuildKit/);
    expect(buildArgv('docker', spec, none).args).not.toContain('--no-cache');
  });

  test('buildkit: the classic command with DOCKER_BUILDKIT=1, plain progress, inline cache, --secret and --ssh', () => {
    const c = buildArgv('buildkit', spec, all);
    expect(c.env).toEqual({ DOCKER_BUILDKIT: '1' });
    expect(c.args.slice(0, 4)).toEqual(['build', '--progress', 'plain', '--force-rm']);
    const s = c.args.join(' ');
    expect(s).toContain('--build-arg BUILDKIT_INLINE_CACHE=1');
    expect(s).toContain('--secret id=npm,src=/t/s0 --secret id=gh,env=GH_TOKEN --ssh default');
    expect(s).toContain('--cache-from r.example.com/a:latest');
    expect(c.args[c.args.length - 1]).toBe('/ws');
  });

  test('buildx: its own command, the same further flags', () => {
    const c = buildArgv('buildx', spec, all);
    expect(c.args.slice(0, 2)).toEqual(['buildx', 'build']);
    expect(c.args.join(' ')).toMatch(
      /--load --no-cache --add-host db:10.0.0.2 .* --secret id=npm,src=\/t\/s0 .* --ssh default \/ws$/,
    );
  });

  test('csvField quotes a field with a comma or a quote, as buildx and docker read --secret', () => {
    expect(csvField('src=/a/b')).toBe('src=/a/b');
    expect(csvField('src=/a,b')).toBe('"src=/a,b"');
    expect(csvField('src=/a"b')).toBe('"src=/a""b"');
  });
});

describe('kaniko-build: kaniko or buildah', () => {
  const dir = tmp();
  const exe = path.join(dir, 'executor');
  fs.writeFileSync(exe, '#!/bin/sh\n', { mode: 0o755 });
  const notExe = path.join(dir, 'plain');
  fs.writeFileSync(notExe, '', { mode: 0o644 });
  const binDir = path.join(dir, 'bin');
  fs.mkdirSync(binDir);
  fs.writeFileSync(path.join(binDir, 'buildah'), '#!/bin/sh\n', { mode: 0o755 });

  test('auto: kaniko when the executor is executable, else buildah on PATH, else an error naming both', () => {
    expect(chooseDaemonlessBuilder('auto', exe, { PATH: binDir })).toBe('kaniko');
    expect(chooseDaemonlessBuilder('auto', notExe, { PATH: binDir })).toBe('buildah');
    expect(chooseDaemonlessBuilder('auto', path.join(dir, 'missing'), { PATH: binDir })).toBe('buildah');
    expect(() => chooseDaemonlessBuilder('auto', path.join(dir, 'missing'), { PATH: dir })).toThrow(
      /no daemonless builder found: .*missing is missing and 'buildah' is not on PATH/,
    );
  });
  test('forced builders fail when absent', () => {
    expect(chooseDaemonlessBuilder('buildah', exe, { PATH: binDir })).toBe('buildah');
    expect(() => chooseDaemonlessBuilder('kaniko', notExe, { PATH: binDir })).toThrow(
      /kaniko executor .* is missing or not executable/,
    );
    expect(() => chooseDaemonlessBuilder('buildah', exe, { PATH: dir })).toThrow(/'buildah' was not found on PATH/);
  });
});
