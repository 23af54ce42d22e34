import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addAuths, restoreAuths, credentialsFor, readDockerConfig, registryKey } from '../../src/lib/registry/docker-config';
import { parseStages, checkTarget } from '../../src/lib/docker/dockerfile';
import { retry, RetryExhausted, classifyStatus, parseRetryAfter } from '../../src/lib/util/retry';
import { parseReference, normaliseRepository } from '../../src/lib/registry/reference';

describe('docker config', () => {
  test('adds entries without clobbering, 0600, and restores exactly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dc-'));
    const path = join(dir, 'config.json');
    const before = { auths: { 'other.example.com': { auth: 'b3RoZXI6cHc=' }, 'reg.example.com': { auth: 'b2xkOm9sZA==' } }, credHelpers: { 'gcr.io': 'gcloud' } };
    writeFileSync(path, JSON.stringify(before));
    const added = addAuths(path, [
      { registry: 'https://reg.example.com', username: 'AWS', password: 'tok-1' },
      { registry: '127.0.0.1:5002', username: 'u', password: 'p' },
    ]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const mid = readDockerConfig(path);
    expect(mid.credHelpers).toEqual(before.credHelpers);
    expect(await credentialsFor(mid, 'reg.example.com', path)).toMatchObject({ username: 'AWS', password: 'tok-1' });
    expect(await credentialsFor(mid, '127.0.0.1:5002', path)).toMatchObject({ username: 'u', password: 'p', source: expect.stringContaining('auths["127.0.0.1:5002"]') });
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

describe('Dockerfile stages', () => {
  const text = ['# syntax=docker/dockerfile:1', 'ARG BASE=busybox', 'FROM $BASE AS Build', 'RUN echo \\', '  hi', 'FROM --platform=$BUILDPLATFORM build as smoke-test', 'FROM scratch', ''].join('\n');
  test('names, order, lines', () => {
    expect(parseStages(text).map((s) => [s.name, s.index, s.line])).toEqual([
      ['build', 0, 3],
      ['smoke-test', 1, 6],
      [undefined, 2, 7],
    ]);
  });
  test('unknown target lists the stages', () => {
    expect(() => checkTarget(parseStages(text), 'tests', 'target', 'Dockerfile')).toThrow(/stage 'tests' is not in Dockerfile/);
    try {
      checkTarget(parseStages(text), 'tests', 'target', 'Dockerfile');
    } catch (e) {
      expect((e as { hint: string }).hint).toBe('stages there: build, smoke-test, #2 (unnamed)');
    }
    expect(() => checkTarget(parseStages(text), 'SMOKE-TEST', 'target', 'Dockerfile')).not.toThrow();
  });
});

describe('retry', () => {
  const fast = { sleep: async () => {}, random: () => 0.5 };
  test('retries retryable errors, then succeeds', async () => {
    let n = 0;
    const delays: number[] = [];
    const v = await retry(async () => (++n < 3 ? Promise.reject(new Error('throttled')) : 'ok'), {
      ...fast,
      maxAttempts: 5,
      deadlineMs: 10_000,
      classify: () => ({ retry: true, reason: 'Throttling' }),
      onRetry: (i) => delays.push(i.delayMs),
    });
    expect(v).toBe('ok');
    expect(n).toBe(3);
    expect(delays).toEqual([125, 250]);
  });
  test('never retries a non-retryable error', async () => {
    let n = 0;
    await expect(retry(async () => { n++; throw new Error('AccessDenied'); }, { ...fast, maxAttempts: 5, deadlineMs: 1000, classify: () => ({ retry: false }) })).rejects.toThrow('AccessDenied');
    expect(n).toBe(1);
  });
  test('stops at max attempts and at the deadline, honouring Retry-After', async () => {
    await expect(retry(async () => { throw new Error('x'); }, { ...fast, maxAttempts: 2, deadlineMs: 1e6, classify: () => ({ retry: true, reason: 'HTTP 503' }) })).rejects.toThrow(RetryExhausted);
    let t = 0;
    const err = await retry(async () => { throw new Error('x'); }, {
      sleep: async (ms) => void (t += ms), now: () => t, maxAttempts: 10, deadlineMs: 5000,
      classify: () => ({ retry: true, reason: 'HTTP 429', afterMs: 3000 }),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryExhausted);
    expect((err as RetryExhausted).attempts).toBe(2);
    expect((err as Error).message).toContain('deadline');
  });
  test('status classes', () => {
    expect(classifyStatus(503)).toEqual({ retry: true, reason: 'HTTP 503' });
    expect(classifyStatus(429, '2')).toEqual({ retry: true, reason: 'HTTP 429 (throttled)', afterMs: 2000 });
    expect(classifyStatus(403)).toEqual({ retry: false });
    expect(classifyStatus(404)).toEqual({ retry: false });
    expect(parseRetryAfter('junk')).toBeUndefined();
  });
});

describe('references', () => {
  test.each([
    ['registry.example.com/Team/App:v1', { registry: 'registry.example.com', repository: 'team/app', tag: 'v1' }],
    ['localhost:5000/app@sha256:' + 'a'.repeat(64), { registry: 'localhost:5000', repository: 'app', digest: 'sha256:' + 'a'.repeat(64) }],
    ['busybox', { registry: 'docker.io', repository: 'library/busybox' }],
    ['127.0.0.1:5001/base/busybox:1', { registry: '127.0.0.1:5001', repository: 'base/busybox', tag: '1' }],
  ])('%s', (ref, want) => {
    expect(parseReference(ref)).toMatchObject(want);
  });
  test.each(['a b', 'reg.io/app:-bad', 'reg.io/app@sha256:xyz', 'reg.io/a//b', ''])('%j is rejected', (ref) => {
    expect(() => parseReference(ref)).toThrow();
  });
  test('images entries are repositories', () => {
    expect(normaliseRepository('Team/App')).toBe('team/app');
    expect(() => normaliseRepository('reg.io/app:1')).toThrow(/has a tag/);
  });
});
