// The docker runner (src/lib/docker/docker.ts) and build-push's builder choice over a fake
// docker CLI (a shell script that records its argv and answers like docker would).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Docker } from '../../src/lib/docker/docker';
import { chooseBuilder } from '../../src/steps/build-push/main';
import type { BuildPlan } from '../../src/steps/build-push/plan';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function fakeDocker(opts: { buildx: boolean }): { bin: string; calls: () => string[][]; env: () => string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-fake-docker-'));
  dirs.push(dir);
  const log = path.join(dir, 'argv.log');
  const envLog = path.join(dir, 'env.log');
  const bin = path.join(dir, 'docker');
  fs.writeFileSync(
    bin,
    `#!/bin/sh
printf '%s\\n' "$*" >> '${log}'
echo "DOCKER_BUILDKIT=\${DOCKER_BUILDKIT:-unset}" >> '${envLog}'
case "$1" in
  buildx) ${opts.buildx ? 'echo "github.com/docker/buildx v0.17.1"; exit 0' : 'echo "docker: unknown command: docker buildx" >&2; exit 1'} ;;
  push) echo "The push refers to repository [r/a]"; echo "5f70bf18a086: Pushed"; case "$2" in *nodigest*) ;; *) echo "x: digest: ${DIGEST} size: 942";; esac ;;
  image) [ "$2" = inspect ] && echo '["r/a@${DIGEST}","other/b@sha256:${'cd'.repeat(32)}"]' ;;
  rm) echo "Error response from daemon: No such container: $3" >&2; exit 1 ;;
esac
exit 0
`,
    { mode: 0o755 },
  );
  const lines = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n') : []);
  return { bin, calls: () => lines(log).map((l) => l.split(' ')), env: () => lines(envLog) };
}

const plan = (builder: BuildPlan['builder'], platforms: string[] = []) => ({ builder, platforms }) as unknown as BuildPlan;

describe('Docker runner', () => {
  test('hasBuildx answers from `docker buildx version`, once per instance', async () => {
    const yes = fakeDocker({ buildx: true });
    const d = new Docker({ bin: yes.bin });
    expect(await d.hasBuildx()).toBe(true);
    expect(await d.hasBuildx()).toBe(true);
    expect(yes.calls()).toEqual([['buildx', 'version']]);
    expect(await new Docker({ bin: fakeDocker({ buildx: false }).bin }).hasBuildx()).toBe(false);
  });

  test('push returns the digest docker printed, else the repo digest of that repository', async () => {
    const f = fakeDocker({ buildx: false });
    const d = new Docker({ bin: f.bin });
    const lines: string[] = [];
    expect(await d.push('r/a:x', { onLine: (l) => lines.push(l) })).toBe(DIGEST);
    expect(lines).toContain('5f70bf18a086: Pushed');
    expect(await d.push('r/a:nodigest')).toBe(DIGEST);
    expect(f.calls().at(-1)).toEqual(['image', 'inspect', '--format', '{{json', '.RepoDigests}}', 'r/a:nodigest']);
  });

  test('rm treats a missing container as removed; extraEnv reaches the child only for that call', async () => {
    const f = fakeDocker({ buildx: false });
    const d = new Docker({ bin: f.bin, env: { PATH: process.env.PATH } });
    expect(await d.rm(['gone'])).toBe(true);
    await d.run(['build', '.'], { extraEnv: { DOCKER_BUILDKIT: '0' } });
    await d.run(['version']);
    expect(f.env().slice(-2)).toEqual(['DOCKER_BUILDKIT=0', 'DOCKER_BUILDKIT=unset']);
  });
});

describe('builder choice', () => {
  test('auto: buildx when present, else the classic builder; docker: always classic', async () => {
    expect(await chooseBuilder(new Docker({ bin: fakeDocker({ buildx: true }).bin }), plan('auto'))).toBe('buildx');
    expect(await chooseBuilder(new Docker({ bin: fakeDocker({ buildx: false }).bin }), plan('auto'))).toBe('docker');
    const f = fakeDocker({ buildx: true });
    expect(await chooseBuilder(new Docker({ bin: f.bin }), plan('docker'))).toBe('docker');
    expect(f.calls()).toEqual([]);
  });

  test('buildx asked for but missing, or several platforms without buildx: errors saying what to do', async () => {
    const none = () => new Docker({ bin: fakeDocker({ buildx: false }).bin });
    await expect(chooseBuilder(none(), plan('buildx'))).rejects.toThrow(/'docker buildx' is not available/);
    await expect(chooseBuilder(none(), plan('auto', ['linux/amd64', 'linux/arm64']))).rejects.toThrow(/needs buildx/);
  });
});
