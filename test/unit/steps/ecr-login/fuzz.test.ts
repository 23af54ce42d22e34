// ecr-login's real bundle (dist/ecr-login/index.js, its lazy SDK bundle, then its cleanup)
// under hundreds of hostile values per input and per variable it reads, each in turn with
// the others valid. ECR is a closed loopback port (AWS_ENDPOINT_URL_ECR[_PUBLIC]) or, for
// the retry inputs, a loopback server refusing at once (AccessDeniedException). Every run
// exits 2 naming the input, or 1 with the step's own words for an ECR API that cannot be
// reached or refuses; never the bug path, a stack trace or an unhandled rejection; the
// cleanup exits 0; no key in the output.
import step from '../../../../src/steps/ecr-login/index';
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

const seed = fuzzSeed('ecr-login');
const CLOSED = 'http://127.0.0.1:9';
const KEYS = {
  AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE0000',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

describe('ecr-login fuzz (real bundle)', () => {
  test('every run exits 2 naming the input, or 1 with the ECR wording; the cleanup exits 0', async () => {
    const ecr = await answeringServer(
      400,
      JSON.stringify({
        __type: 'AccessDeniedException',
        message: 'not authorized to perform ecr:GetAuthorizationToken',
      }),
      { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'AccessDeniedException' },
    );
    try {
      const r = rng(seed);
      const cases = stepCases(
        {
          base: { region: 'eu-west-1', 'retry-max-attempts': '1', 'timeout-seconds': '5' },
          env: { ...KEYS, AWS_ENDPOINT_URL_ECR: CLOSED, AWS_ENDPOINT_URL_ECR_PUBLIC: CLOSED },
          secrets: [KEYS.AWS_SECRET_ACCESS_KEY],
          post: true,
          fuzz: {
            region: { valid: ['eu-west-1', 'us-east-1', 'us-gov-west-1'] },
            registries: { valid: ['123456789012', '123456789012,000000000000'], list: true },
            'registry-type': { valid: ['private', 'public'], count: 80 },
            method: { valid: ['config', 'docker'], count: 80 },
            logout: { valid: ['true', 'false'], count: 80 },
            'skip-logout': { valid: ['true', 'false'], count: 80 },
            'retry-max-attempts': { valid: ['1', '3', '20'] },
            'timeout-seconds': { valid: ['5', '60', '900'] },
            'mask-password': { valid: ['true', 'false'], count: 40 },
            'http-proxy': { valid: ['http://127.0.0.1:3128'], count: 40 },
            'env:AWS_REGION': { valid: ['eu-west-1'], count: 60 },
            'env:AWS_DEFAULT_REGION': { valid: ['eu-west-1'], count: 40 },
            'env:AWS_ACCESS_KEY_ID': { valid: [KEYS.AWS_ACCESS_KEY_ID], count: 60 },
            'env:AWS_SESSION_TOKEN': { valid: ['FwoGZXIvYXdzEFAKETOKEN'], count: 60 },
            'env:AWS_ENDPOINT_URL_ECR': { valid: [CLOSED, 'http://localhost:9'], count: 60 },
            'env:DOCKER_CONFIG': { valid: ['@@CASE@@/docker', '@@CASE@@/new-docker'], also: ['/dev/null', '/proc'] },
          },
          perInput: 200,
          mixed: 200,
          adjust: (c: FuzzCase) => {
            const [name] = c.label.split('=', 1) as [string];
            if (name === 'env:AWS_REGION' || name === 'env:AWS_DEFAULT_REGION') delete c.inputs.region;
            // a retry policy reaches an ECR that refuses at once (no minute of backoff)
            if (name === 'retry-max-attempts' || name === 'timeout-seconds') {
              c.env!.AWS_ENDPOINT_URL_ECR = ecr.url;
              c.env!.AWS_ENDPOINT_URL_ECR_PUBLIC = ecr.url;
            }
            return c;
          },
        },
        r,
      );
      const t0 = Date.now();
      const results = await runFuzz(cases, { step, seed, concurrency: 3 });
      console.log(`ecr-login fuzz (seed ${seed}): ${summarize(results, Date.now() - t0)}`);
      assertProperty(
        results,
        {
          failures: [
            /check that the ECR API endpoint is reachable/,
            /the role needs ecr(-public)?:GetAuthorizationToken/,
            /the AWS credentials in the job are invalid/,
            /run assume-role before this step/,
          ],
          names: [
            /\bAWS_(REGION|DEFAULT_REGION|ACCESS_KEY_ID|SESSION_TOKEN|ENDPOINT_URL(_ECR(_PUBLIC)?)?)\b|\bDOCKER_CONFIG\b/,
          ],
        },
        { step, seed },
      );
    } finally {
      await ecr.close();
    }
  }, 300_000);
});
