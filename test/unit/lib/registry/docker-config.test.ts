import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addAuths,
  restoreAuths,
  credentialsFor,
  readDockerConfig,
  registryKey,
} from '../../../../src/lib/registry/docker-config';

describe('docker config', () => {
  test('adds entries without clobbering, 0600, and restores exactly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dc-'));
    const path = join(dir, 'config.json');
    const before = {
      auths: { 'other.example.com': { auth: 'b3RoZXI6cHc=' }, 'reg.example.com': { auth: 'b2xkOm9sZA==' } },
      credHelpers: { 'gcr.io': 'gcloud' },
    };
    writeFileSync(path, JSON.stringify(before));
    const added = addAuths(path, [
      { registry: 'https://reg.example.com', username: 'AWS', password: 'tok-1' },
      { registry: '127.0.0.1:5002', username: 'u', password: 'p' },
    ]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const mid = readDockerConfig(path);
    expect(mid.credHelpers).toEqual(before.credHelpers);
    expect(await credentialsFor(mid, 'reg.example.com', path)).toMatchObject({ username: 'AWS', password: 'tok-1' });
    expect(await credentialsFor(mid, '127.0.0.1:5002', path)).toMatchObject({
      username: 'u',
      password: 'p',
      source: expect.stringContaining('auths["127.0.0.1:5002"]'),
    });
    restoreAuths(path, added);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(before);
  });
  test('a file shipline created is removed when emptied', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'dc-')), 'd', 'config.json');
    const added = addAuths(path, [{ registry: 'r.example.com', username: 'a', password: 'b' }]);
    restoreAuths(path, added, { createdFile: true });
    expect(existsSync(path)).toBe(false);
  });
  test('registry keys', () => {
    expect(registryKey('https://index.docker.io/v1/')).toBe('https://index.docker.io/v1/');
    expect(registryKey('docker.io')).toBe('https://index.docker.io/v1/');
    expect(registryKey('http://localhost:5000/v2/')).toBe('localhost:5000');
  });
});
