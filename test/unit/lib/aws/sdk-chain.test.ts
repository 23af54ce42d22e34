// The SDK's credential chain as the steps ship it (dist/<step>/aws-sdk.js, and untag's
// lazy.js, which builds an ECR client): on Node 20 the SDK prints a "NodeVersionSupportWarning"
// block when a client is built; the built bundles print none. The chain is run for real on
// this machine's node (Node 20 here): a web-identity profile makes it build its STS client and
// call a loopback STS of this test, which refuses the token. Control: the same chain bundled
// from the SDK without the build's setting prints the warning, so the setup does build a client.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { repoRoot, run } from '../../../support/exec';

jest.setTimeout(60_000);

const major = Number(process.versions.node.split('.')[0]);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-sdk-chain-'));
// The SDK warns below Node 22 only: on a newer node, the child believes it is Node 20.
const asNode20 = path.join(dir, 'as-node20.js');
fs.writeFileSync(asNode20, "Object.defineProperty(process, 'version', { value: 'v20.20.2' });\n");
const nodeArgs = major < 22 ? [] : ['-r', asNode20];

let server: http.Server;
let sts = '';
const calls: string[] = [];
beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      calls.push(new URLSearchParams(body).get('Action') ?? '');
      res.writeHead(400, { 'content-type': 'text/xml' });
      res.end(
        '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>not this token</Message></Error><RequestId>1</RequestId></ErrorResponse>',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sts = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const home = path.join(dir, 'home');
  fs.mkdirSync(path.join(home, '.aws'), { recursive: true });
  fs.writeFileSync(path.join(home, 'token'), 'not-a-jwt\n');
  fs.writeFileSync(
    path.join(home, '.aws', 'config'),
    `[default]\nrole_arn = arn:aws:iam::123456789012:role/ci\nweb_identity_token_file = ${path.join(home, 'token')}\n`,
  );
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs `code` in a child node with only the chain's environment; its stderr. */
async function child(code: string): Promise<string> {
  const before = calls.length;
  const r = await run(process.execPath, [...nodeArgs, '-e', code], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: path.join(dir, 'home'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_STS: sts,
    },
  });
  expect(r.stdout).toContain('failed as expected: ');
  expect(calls.slice(before)).toEqual(['AssumeRoleWithWebIdentity']);
  return r.stderr;
}
const chainCall = (file: string) =>
  `require(${JSON.stringify(file)}).sdkChainCredentials('eu-west-1').then(() => console.log('no error?'), (e) => console.log('failed as expected: ' + e.name))`;

test.each(['assume-role', 'ecr-login', 'retag'])(
  'dist/%s/aws-sdk.js: the chain builds its STS client on Node 20 and prints no warning',
  async (step) => {
    const bundle = path.join(repoRoot, 'dist', step, 'aws-sdk.js');
    const stderr = await child(chainCall(bundle));
    expect(stderr).not.toMatch(/NodeVersionSupportWarning|Warning:/);
    // the step's region reaches the profile's STS client (no "default STS region" line)
    expect(stderr).not.toContain('default STS region');
    expect(stderr).toBe('');
  },
);

test('control: the SDK bundled without the build setting prints the warning in the same setup', async () => {
  const out = path.join(dir, 'plain-chain.js');
  await build({
    entryPoints: [path.join(repoRoot, 'src/lib/aws/sdk-chain.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: out,
    logLevel: 'error',
    external: ['aws-crt', '@aws-sdk/signature-v4-crt'],
  });
  expect(await child(chainCall(out))).toContain('NodeVersionSupportWarning');
});

test('dist/untag/lazy.js: its ECR client is built on Node 20 without a warning', async () => {
  const lazy = path.join(repoRoot, 'dist', 'untag', 'lazy.js');
  const r = await run(
    process.execPath,
    [
      ...nodeArgs,
      '-e',
      `require(${JSON.stringify(lazy)}).ecrUntagSession({ registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', repository: 'app' }, { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' }, { warn() {}, debug() {} }).then((s) => console.log('session ' + s.requests))`,
    ],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: path.join(dir, 'home') } },
  );
  expect(r.stdout).toContain('session 0');
  expect(r.stderr).toBe('');
});
