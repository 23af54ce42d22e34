// Registry credentials for daemonless builders from CI variables: forms, errors that name
// the variable and never its content (with data for the step to name its input), masking,
// and exact undo of the config changes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  dockerConfigFromVariable,
  existingConfigCredentials,
  gcpKeyCredentials,
  installAuth,
  maskValue,
  mergeCredentials,
  uninstallAuth,
} from '../../../../src/lib/build/registry-auth';
import { ShiplineError } from '../../../../src/lib/util/errors';

const made: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-kb-unit-'));
  made.push(d);
  return d;
};
afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('credentials from CI variables', () => {
  const user = 'robot$team+ci';
  const pass = 'CANARY-pass-1f2e3d4c5b6a';
  const config = JSON.stringify({ auths: { 'harbor.example.com': { auth: b64(`${user}:${pass}`) } } });

  test.each([
    ['raw JSON', config],
    ['base64', b64(config)],
    ['base64 with line breaks', b64(config).replace(/(.{60})/g, '$1\n')],
  ])('docker config variable as %s', (_, value) => {
    const masked: string[] = [];
    const auth = dockerConfigFromVariable({ HARBOR_ROBOT_CREDS_JSON: value }, 'HARBOR_ROBOT_CREDS_JSON', (v) =>
      masked.push(v),
    );
    expect(auth.credentials).toEqual([
      { registry: 'harbor.example.com', username: user, password: pass, source: 'variable HARBOR_ROBOT_CREDS_JSON' },
    ]);
    for (const line of value.split('\n')) expect(masked).toContain(line);
    expect(masked).toContain(pass);
  });

  test('a multi-line value is masked line by line, except bare braces', () => {
    const masked: string[] = [];
    maskValue(
      (v) => masked.push(v),
      '{\n  "type": "service_account",\n  "private_key": "-----BEGIN PRIVATE KEY-----\\nABCD\\n",\n  "x": [\n  ],\n  "k": "abcd"\n}\n',
    );
    expect(masked).toEqual([
      '"type": "service_account",',
      '"private_key": "-----BEGIN PRIVATE KEY-----\\nABCD\\n",',
      '"k": "abcd"',
    ]);
    masked.length = 0;
    maskValue((v) => masked.push(v), 'one-line');
    expect(masked).toEqual(['one-line']);
  });

  test('username/password entries and credHelpers pass through', () => {
    const v = JSON.stringify({
      auths: { 'a.example.com': { username: 'u', password: 'p-secret' } },
      credHelpers: { '1.dkr.ecr.eu-west-1.amazonaws.com': 'ecr-login' },
    });
    const auth = dockerConfigFromVariable({ V: v }, 'V', () => undefined);
    expect(auth.credentials.map((c) => [c.registry, c.username, c.password])).toEqual([
      ['a.example.com', 'u', 'p-secret'],
    ]);
    expect(auth.credHelpers).toEqual({ '1.dkr.ecr.eu-west-1.amazonaws.com': 'ecr-login' });
  });

  test.each([
    ['unset', undefined, /^variable HARBOR_ROBOT_CREDS_JSON is not set$/, 'not-set'],
    ['empty', '', /variable HARBOR_ROBOT_CREDS_JSON is empty/, 'empty'],
    ['blank', '  \n', /is empty/, 'empty'],
    ['not JSON', 'CANARY-garbage-value-9a8b7c!', /is neither JSON nor base64-encoded JSON/, 'malformed'],
    ['invalid JSON', '{"auths": CANARY-broken', /is neither JSON nor base64-encoded JSON/, 'malformed'],
    ['no auths', '{"CANARY-x": 1}', /has no "auths" object/, 'malformed'],
    [
      'entry without auth',
      '{"auths":{"harbor.example.com":{"email":"CANARY-mail"}}}',
      /entry for "harbor.example.com" without a usable "auth"/,
      'malformed',
    ],
    [
      'auth without colon',
      JSON.stringify({ auths: { h: { auth: b64('CANARY-nocolon') } } }),
      /entry for "h" without a usable "auth"/,
      'malformed',
    ],
  ])('%s: an early error naming the variable and the form, never the content', (_, value, msg, problem) => {
    let err: unknown;
    try {
      dockerConfigFromVariable(
        value === undefined ? {} : { HARBOR_ROBOT_CREDS_JSON: value },
        'HARBOR_ROBOT_CREDS_JSON',
        () => undefined,
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ShiplineError);
    const e = err as ShiplineError;
    // The step words it with its input (see test/unit/steps/kaniko-build/main.test.ts).
    expect(e.data).toMatchObject({ problem, variable: 'HARBOR_ROBOT_CREDS_JSON' });
    expect(e.message).toBe(`variable HARBOR_ROBOT_CREDS_JSON ${String(e.data.why)}`);
    expect(e.message).toMatch(msg);
    expect(e.hint).toMatch(/HARBOR_ROBOT_CREDS_JSON to a docker config JSON, raw or base64-encoded: \{"auths"/);
    expect(`${e.message} ${e.hint}`).not.toMatch(/CANARY/);
  });

  test('a GitLab file-type variable (a path) is read', () => {
    const f = path.join(tmp(), 'creds');
    fs.writeFileSync(f, config);
    expect(dockerConfigFromVariable({ C: f }, 'C', () => undefined).credentials[0]!.password).toBe(pass);
  });

  test('a value instead of a name is refused without echoing it', () => {
    let err: unknown;
    try {
      dockerConfigFromVariable({}, '{"auths":{"CANARY":1}}', () => undefined);
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toMatch(/^the value given is not a variable name \(letters, digits, '_'\)$/);
    expect((err as ShiplineError).data).toEqual({
      problem: 'not-a-name',
      why: "is not a variable name (letters, digits, '_')",
    });
  });

  test('GCP service-account key: _json_key basic auth per Google registry; malformed names the variable', () => {
    const key = JSON.stringify({
      type: 'service_account',
      client_email: 'ci@p.iam.gserviceaccount.com',
      private_key: '-----BEGIN PRIVATE KEY-----\nCANARY-key\n-----END PRIVATE KEY-----\n',
    });
    const masked: string[] = [];
    const creds = gcpKeyCredentials(
      { GCP_SERVICE_ACCOUNT_KEY: b64(key) },
      'GCP_SERVICE_ACCOUNT_KEY',
      ['europe-docker.pkg.dev', 'gcr.io'],
      (v) => masked.push(v),
    );
    expect(creds.map((c) => [c.registry, c.username, c.password])).toEqual([
      ['europe-docker.pkg.dev', '_json_key', key],
      ['gcr.io', '_json_key', key],
    ]);
    expect(masked).toContain(key);
    expect(() =>
      gcpKeyCredentials({ K: '{"type":"authorized_user","CANARY":1}' }, 'K', ['gcr.io'], () => undefined),
    ).toThrow(/variable K (.* )?is not a service-account key/);
    expect(() => gcpKeyCredentials({ K: key }, 'K', [], () => undefined)).toThrow(
      expect.objectContaining({
        message: expect.stringMatching(/no Google registry/),
        data: expect.objectContaining({ problem: 'no-registry' }),
      }),
    );
    expect(() => gcpKeyCredentials({}, 'K', ['gcr.io'], () => undefined)).toThrow(/variable K (.* )?is not set/);
  });

  test('later sources win per registry (same key however written)', () => {
    const a = [{ registry: 'https://index.docker.io/v1/', username: 'a', password: '1', source: 'x' }];
    const b = [
      { registry: 'docker.io', username: 'b', password: '2', source: 'y' },
      { registry: 'r.example.com', username: 'c', password: '3', source: 'y' },
    ];
    expect(mergeCredentials(a, b).map((c) => c.username)).toEqual(['b', 'c']);
  });

  test('existing docker config (an ecr-login entry) is found for the registries involved only', async () => {
    const dir = tmp();
    const p = path.join(dir, 'config.json');
    fs.writeFileSync(
      p,
      JSON.stringify({
        auths: {
          '123.dkr.ecr.us-east-1.amazonaws.com': { auth: b64('AWS:ecr-token-CANARY') },
          'other.example.com': { auth: b64('o:p') },
        },
      }),
    );
    const masked: string[] = [];
    const found = await existingConfigCredentials(
      p,
      ['123.dkr.ecr.us-east-1.amazonaws.com', 'docker.io'],
      (v) => masked.push(v),
      () => undefined,
    );
    expect(found.map((c) => [c.registry, c.username, c.password])).toEqual([
      ['123.dkr.ecr.us-east-1.amazonaws.com', 'AWS', 'ecr-token-CANARY'],
    ]);
    expect(masked).toEqual(['ecr-token-CANARY']);
    expect(
      await existingConfigCredentials(
        path.join(dir, 'none.json'),
        ['x'],
        () => undefined,
        () => undefined,
      ),
    ).toEqual([]);
  });
});

describe('installing credentials and undoing it exactly', () => {
  test('a file the step created is removed; a file that existed gets its old entries back', () => {
    const dir = tmp();
    const p = path.join(dir, 'config.json');
    const auth = {
      credentials: [{ registry: 'harbor.example.com', username: 'u', password: 'p', source: 's' }],
      credHelpers: { 'x.example.com': 'ecr-login' },
    };
    const rec = installAuth(p, auth);
    expect(rec.createdFile).toBe(true);
    expect(fs.statSync(p).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(p, 'utf8'))).toEqual({
      auths: { 'harbor.example.com': { auth: b64('u:p') } },
      credHelpers: { 'x.example.com': 'ecr-login' },
    });
    uninstallAuth(JSON.parse(JSON.stringify(rec)));
    expect(fs.existsSync(p)).toBe(false);

    const before = {
      auths: { 'harbor.example.com': { auth: b64('old:pw') }, 'keep.example.com': { auth: b64('k:k') } },
      credHelpers: { 'x.example.com': 'gcr' },
      experimental: 'enabled',
    };
    fs.writeFileSync(p, JSON.stringify(before));
    const rec2 = installAuth(p, auth);
    expect(rec2.createdFile).toBe(false);
    uninstallAuth(rec2);
    expect(JSON.parse(fs.readFileSync(p, 'utf8'))).toEqual(before);
  });
});
