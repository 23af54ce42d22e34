// assume-role's real bundle (dist/assume-role/index.js, its lazy SDK bundle, then its
// cleanup) under hundreds of hostile values per input and per variable it reads, each in
// turn with the others valid. STS is a closed loopback port (AWS_ENDPOINT_URL_STS) or, for
// the retry inputs, a loopback server refusing at once (403 AccessDenied); no metadata
// service, no profile. Every run exits 2 naming the input, or 1 with the step's own words
// for an STS that cannot be reached or refuses, or for no credentials; never the bug path,
// a stack trace or an unhandled rejection; no token or key in the output.
import step from '../../../../src/steps/assume-role/index';
import {
  answeringServer,
  assertProperty,
  fuzzSeed,
  rng,
  runFuzz,
  stepCases,
  summarize,
  type FuzzCase,
} from '../../../support/fuzz';

const seed = fuzzSeed('assume-role');
const CLOSED = 'http://127.0.0.1:9';

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const JWT = [
  b64url({ alg: 'RS256', typ: 'JWT', kid: 'k1' }),
  b64url({
    iss: 'https://gitlab.example.com',
    sub: 'project_path:team/app:ref_type:branch:ref:main',
    aud: 'sts.amazonaws.com',
    exp: 4102444800,
  }),
  'c2lnbmF0dXJlLW5vdC1jaGVja2VkLWhlcmU',
].join('.');

const DENIED = `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error><RequestId>fuzz</RequestId></ErrorResponse>`;

describe('assume-role fuzz (real bundle)', () => {
  test('every run exits 2 naming the input, or 1 with the STS wording; no token or key shown', async () => {
    const sts = await answeringServer(403, DENIED, { 'content-type': 'text/xml' });
    try {
      const r = rng(seed);
      const cases = stepCases(
        {
          base: {
            'role-arn': 'arn:aws:iam::123456789012:role/ci-deploy',
            region: 'eu-west-1',
            'web-identity-token': JWT,
            'retry-max-attempts': '1',
            'timeout-seconds': '5',
          },
          env: { AWS_ENDPOINT_URL_STS: CLOSED, AWS_ID_TOKEN: JWT },
          files: { token: JWT },
          post: true,
          fuzz: {
            'role-arn': {
              valid: [
                'arn:aws:iam::123456789012:role/ci-deploy',
                'arn:aws-us-gov:iam::123456789012:role/path/to/r+=,.@-',
                'arn:aws-cn:iam::000000000000:role/x',
              ],
            },
            'role-to-assume': { valid: ['arn:aws:iam::123456789012:role/ci-deploy'], count: 40 },
            region: { valid: ['eu-west-1', 'us-gov-west-1', 'ap-southeast-2'] },
            'aws-region': { valid: ['eu-west-1'], count: 40 },
            'session-name': { valid: ['ci-1234', 'a'.repeat(64), 'x@y.z=w,v'] },
            'duration-seconds': { valid: ['900', '3600', '43200'] },
            'external-id': { valid: ['ext-123', 'a b'] },
            'session-tags': { valid: ['Team=platform', 'a:b/c=d e'], list: true },
            'transitive-tag-keys': { valid: ['Team', 'a:b'], list: true },
            'skip-session-tags': { valid: ['true', 'false'], count: 60 },
            'web-identity-token': { valid: [JWT, 'not-a-jwt-token'] },
            'web-identity-token-file': {
              valid: ['@@WS@@/token', '@@WS@@/missing', '@@WS@@'],
              also: ['/etc/passwd', '/dev/null', '/proc/self/environ', '/nonexistent/token'],
            },
            'web-identity-token-variable': { valid: ['AWS_ID_TOKEN', 'NOT_SET', 'PATH'] },
            audience: { valid: ['sts.amazonaws.com', 'https://example.com'] },
            'role-chaining': { valid: ['true', 'false'], count: 60 },
            'aws-access-key-id': { valid: ['AKIAFAKEFAKEFAKE0000'] },
            'aws-secret-access-key': { valid: ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'] },
            'aws-session-token': { valid: ['FwoGZXIvYXdzEFAKETOKEN'] },
            'allowed-account-ids': { valid: ['123456789012', '123456789012,000000000000'], list: true },
            export: { valid: ['env', 'file', 'none'], count: 60 },
            'export-token-file': { valid: ['true', 'false'], count: 60 },
            'output-credentials': { valid: ['true', 'false'], count: 60 },
            'retry-max-attempts': { valid: ['1', '3', '20'], count: 80 },
            'timeout-seconds': { valid: ['5', '60', '900'], count: 80 },
            // configure-aws-credentials inputs shipline refuses unless harmless
            'mask-aws-account-id': { valid: ['false', 'true'], count: 40 },
            'role-skip-session-tagging': { valid: ['true'], count: 40 },
            'special-characters-workaround': { valid: ['false', 'true'], count: 40 },
            'http-proxy': { valid: ['http://127.0.0.1:3128'], count: 40 },
            // the variables it reads
            'env:AWS_REGION': { valid: ['eu-west-1'], count: 60 },
            'env:AWS_DEFAULT_REGION': { valid: ['eu-west-1'], count: 40 },
            'env:AWS_ID_TOKEN': { valid: [JWT], count: 100 },
            'env:AWS_ENDPOINT_URL_STS': { valid: [CLOSED, 'http://localhost:9'], count: 60 },
            'env:CI_JOB_ID': { valid: ['123'], count: 40 },
          },
          perInput: 150,
          mixed: 200,
          adjust: (c: FuzzCase) => {
            const [name] = c.label.split('=', 1) as [string];
            // one credential source at a time: the fuzzed one replaces the base token
            if (['web-identity-token-file', 'web-identity-token-variable', 'role-chaining'].includes(name))
              delete c.inputs['web-identity-token'];
            if (name === 'web-identity-token-variable') c.inputs['web-identity-token-variable'] ??= 'AWS_ID_TOKEN';
            if (name.startsWith('aws-') && name !== 'aws-region') {
              delete c.inputs['web-identity-token'];
              c.inputs['aws-access-key-id'] ??= 'AKIAFAKEFAKEFAKE0000';
              c.inputs['aws-secret-access-key'] ??= 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
            }
            if (name === 'env:AWS_ID_TOKEN') {
              delete c.inputs['web-identity-token'];
              c.inputs['web-identity-token-variable'] = 'AWS_ID_TOKEN';
              if (c.env!.AWS_ID_TOKEN!.trim().length >= 12) c.secrets = [...(c.secrets ?? []), c.env!.AWS_ID_TOKEN!];
            }
            // the region from the job's variables: the input left out
            if (name === 'env:AWS_REGION' || name === 'env:AWS_DEFAULT_REGION') delete c.inputs.region;
            if (name === 'aws-region' || name === 'role-to-assume')
              delete c.inputs[name === 'aws-region' ? 'region' : 'role-arn'];
            // a retry policy reaches an STS that refuses at once (no minute of backoff)
            if (name === 'retry-max-attempts' || name === 'timeout-seconds') c.env!.AWS_ENDPOINT_URL_STS = sts.url;
            c.secrets = [...(c.secrets ?? []), JWT];
            return c;
          },
        },
        r,
      );
      const t0 = Date.now();
      const results = await runFuzz(cases, { step, seed, concurrency: 3 });
      console.log(`assume-role fuzz (seed ${seed}): ${summarize(results, Date.now() - t0)}`);
      assertProperty(
        results,
        {
          failures: [
            /check that STS \(.*\) is reachable/s,
            /use a web identity token|role-chaining uses the credentials already in the job/,
            /the trust policy of .* must allow|not a JWT/,
          ],
          names: [/\bAWS_(REGION|DEFAULT_REGION|ID_TOKEN|ENDPOINT_URL(_STS)?|ACCESS_KEY_ID|SESSION_TOKEN)\b/],
        },
        { step, seed },
      );
    } finally {
      await sts.close();
    }
  }, 300_000);
});
