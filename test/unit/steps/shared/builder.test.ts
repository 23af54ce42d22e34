// Which builder runs: build-push's buildx or classic docker (over a fake docker CLI), and
// kaniko-build's kaniko executor or buildah.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Docker } from '../../../../src/lib/docker/docker';
import { chooseDaemonlessBuilder, chooseDockerBuilder } from '../../../../src/steps/shared/builder';
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
