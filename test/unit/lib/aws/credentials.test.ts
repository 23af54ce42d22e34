// Which source the job's credentials come from, in the SDK default chain's order, decided
// from the environment alone: keys, then a token file, then the SDK's chain.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { credentialSource, environmentCredentials, jobCredentials } from '../../../../src/lib/aws/credentials';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-creds-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));
const keys = { AWS_ACCESS_KEY_ID: 'AKIAX', AWS_SECRET_ACCESS_KEY: 'secret' };
const tokenFile = {
  AWS_WEB_IDENTITY_TOKEN_FILE: '/nonexistent/token',
  AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/r',
};

describe('credentialSource', () => {
  test('environment keys first, with the session token', () => {
    expect(credentialSource({ HOME: home, ...keys, ...tokenFile })).toBe('environment');
    expect(environmentCredentials({ ...keys, AWS_SESSION_TOKEN: 'tok' })).toEqual({
      accessKeyId: 'AKIAX',
      secretAccessKey: 'secret',
      sessionToken: 'tok',
    });
    expect(environmentCredentials({ AWS_ACCESS_KEY_ID: 'AKIAX' })).toBeUndefined();
  });

  test('AWS_PROFILE set: the SDK chain, as the SDK skips the environment then', () => {
    expect(credentialSource({ HOME: home, ...keys, AWS_PROFILE: 'ci' })).toBe('sdk-chain');
    expect(credentialSource({ HOME: home, ...tokenFile, AWS_PROFILE: 'ci' })).toBe('sdk-chain');
  });

  test('a token file with a role when no shared file could hold a profile the SDK tries first', () => {
    expect(credentialSource({ HOME: home, ...tokenFile })).toBe('token-file');
    expect(credentialSource({ HOME: home, AWS_WEB_IDENTITY_TOKEN_FILE: '/x' })).toBe('sdk-chain');
    const creds = path.join(home, 'credentials');
    fs.writeFileSync(creds, '[default]\n');
    expect(credentialSource({ HOME: home, ...tokenFile, AWS_SHARED_CREDENTIALS_FILE: creds })).toBe('sdk-chain');
  });

  test('nothing in the environment: the SDK chain', () => {
    expect(credentialSource({ HOME: home })).toBe('sdk-chain');
  });
});

describe('jobCredentials', () => {
  const opts = {
    region: 'eu-west-1',
    policy: { maxAttempts: 1, deadlineMs: 5000 },
    log: { warn: () => undefined, debug: () => undefined },
  };

  test('environment keys: no call, the secret registered', async () => {
    const secrets: string[] = [];
    const r = await jobCredentials(
      { HOME: home, ...keys, AWS_SESSION_TOKEN: 'tok' },
      { ...opts, onSecret: (s) => secrets.push(s) },
    );
    expect(r).toEqual({
      source: 'environment',
      credentials: { accessKeyId: 'AKIAX', secretAccessKey: 'secret', sessionToken: 'tok' },
    });
    expect(secrets).toEqual(['secret', 'tok']);
  });

  test('an unreadable token file fails before any call, naming the variable', async () => {
    await expect(
      jobCredentials({ HOME: home, ...tokenFile }, { ...opts, onSecret: () => undefined }),
    ).rejects.toMatchObject({
      kind: 'auth',
      message: expect.stringContaining('cannot read AWS_WEB_IDENTITY_TOKEN_FILE /nonexistent/token'),
      data: { credentials: 'token-file' },
    });
  });
});
