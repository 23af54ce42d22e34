// The docker runner over a fake docker CLI (a shell script that records its argv and
// answers like docker would).
import { Docker, parsePushDigest } from '../../../../src/lib/docker/docker';
import { DIGEST, fakeDocker } from '../../../support/fake-docker';

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

test('parsePushDigest', () => {
  expect(parsePushDigest('x\nlatest: digest: sha256:' + 'a'.repeat(64) + ' size: 1\n')).toBe(
    'sha256:' + 'a'.repeat(64),
  );
  expect(parsePushDigest('no digest here')).toBeUndefined();
});
