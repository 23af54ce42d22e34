// Where a web identity token comes from: a file (no symlinks), a variable, GitHub's endpoint.
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HttpClient } from '../../../../src/lib/aws/http';
import { fetchGithubToken, readTokenFile, tokenFromVariable } from '../../../../src/lib/aws/web-identity';
import { ofKind, ShiplineError } from '../../../../src/lib/util/errors';

describe('token sources', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shipline-ar-unit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('token file: read and registered as a secret; symlinks and empty files refused', () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'tok-123\n', { mode: 0o600 });
    const secrets: string[] = [];
    expect(readTokenFile(file, (s) => secrets.push(s))).toBe('tok-123');
    expect(secrets).toEqual(['tok-123']);
    symlinkSync(file, join(dir, 'link'));
    expect(() => readTokenFile(join(dir, 'link'), () => undefined)).toThrow(/is a symbolic link/);
    writeFileSync(join(dir, 'empty'), '');
    expect(() => readTokenFile(join(dir, 'empty'), () => undefined)).toThrow(/is empty/);
    expect(() => readTokenFile(join(dir, 'missing'), () => undefined)).toThrow(/does not exist/);
  });

  test('token variable: a missing one says how to declare id_tokens', () => {
    expect(() => tokenFromVariable({}, 'AWS_ID_TOKEN', () => undefined)).toThrow(ShiplineError);
    try {
      tokenFromVariable({}, 'AWS_ID_TOKEN', () => undefined);
    } catch (e) {
      expect((e as ShiplineError).hint).toContain('id_tokens: { AWS_ID_TOKEN: { aud: sts.amazonaws.com } }');
    }
  });

  test('GitHub token endpoint: audience and bearer are sent; 401 is final, 503 retried', async () => {
    const seen: { url: string; auth: string }[] = [];
    const fake =
      (status: number, body: unknown): HttpClient =>
      async (url, req) => {
        seen.push({ url: String(url), auth: String(req.headers.authorization) });
        return { status, headers: {}, body: JSON.stringify(body) };
      };
    const env = {
      ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1:1/token?api-version=2.0',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'req-token',
    };
    const secrets: string[] = [];
    await expect(
      fetchGithubToken(env, 'sts.amazonaws.com', {
        onSecret: (s) => secrets.push(s),
        request: fake(200, { value: 'id-token' }),
      }),
    ).resolves.toBe('id-token');
    expect(seen[0]).toEqual({
      url: 'http://127.0.0.1:1/token?api-version=2.0&audience=sts.amazonaws.com',
      auth: 'Bearer req-token',
    });
    expect(secrets).toEqual(['req-token', 'id-token']);
    const denied = ofKind(
      await fetchGithubToken(env, 'a', { onSecret: () => undefined, request: fake(401, {}) }).catch((e: unknown) => e),
      'denied',
    );
    expect(denied?.retryable).toBe(false);
    expect(denied?.hint).toContain('id-token: write');
    const busy = await fetchGithubToken(env, 'a', { onSecret: () => undefined, request: fake(503, {}) }).catch(
      (e: unknown) => e,
    );
    expect((busy as ShiplineError).retryable).toBe(true);
    await expect(fetchGithubToken({}, 'a', { onSecret: () => undefined })).rejects.toThrow(
      /ACTIONS_ID_TOKEN_REQUEST_URL is not set/,
    );
  });
});
