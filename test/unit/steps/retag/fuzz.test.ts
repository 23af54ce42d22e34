// retag's real bundle (dist/retag/index.js, its lazy SDK bundle) under hundreds of hostile
// values per input, each in turn with the others valid. The registry is a loopback server
// that knows no manifest (404 at once), a closed loopback port, or (ECR hosts) the ECR API
// at a closed loopback port; any other host is refused by the fuzz network guard. Every
// run exits 2 naming the input, or 1 with the step's own words for a registry that cannot
// be reached or has no such image; never the bug path, a stack trace or an unhandled
// rejection.
import step from '../../../../src/steps/retag/index';
import {
  answeringServer,
  assertProperty,
  fuzzSeed,
  refusedConnections,
  rng,
  runFuzz,
  stepCases,
  summarize,
} from '../../../support/fuzz';

const seed = fuzzSeed('retag');
const KEYS = {
  AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE0000',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const D = 'sha256:' + 'ab'.repeat(32);

describe('retag fuzz (real bundle)', () => {
  test('every run exits 2 naming the input, or 1 with the registry wording', async () => {
    const reg = await answeringServer(
      404,
      JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }),
    );
    try {
      const r = rng(seed);
      const src = `${reg.host}/team/app:1a2b3c4d`;
      const cases = stepCases(
        {
          base: { source: src, tags: '1.2.3' },
          env: { ...KEYS, AWS_REGION: 'eu-west-1' },
          secrets: [KEYS.AWS_SECRET_ACCESS_KEY],
          fuzz: {
            source: {
              valid: [
                src,
                `${reg.host}/team/app@${D}`,
                `${reg.host}/team/app:t@${D}`,
                `localhost:${reg.host.split(':')[1]}/a/b/c:d`,
                '127.0.0.1:9/team/app:x',
                '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1a2b3c4d',
              ],
            },
            tags: { valid: ['1.2.3', 'latest', 'v1.0.0-rc.1', 'a_b.c-d'], list: true },
            destinations: {
              valid: [`${reg.host}/prod/app:1.2.3`, `${reg.host}/prod/app`, '127.0.0.1:9/x/y:z'],
              list: true,
            },
            overwrite: { valid: ['true', 'false'], count: 80 },
            method: { valid: ['auto', 'registry', 'ecr-api'], count: 80 },
            'insecure-registries': { valid: ['registry.internal:5000', '[::1]:5000', reg.host], list: true },
          },
          perInput: 200,
          mixed: 200,
        },
        r,
      );
      const t0 = Date.now();
      const results = await runFuzz(cases, { step, seed, parallel: 6 });
      console.log(`retag fuzz (seed ${seed}): ${summarize(results, Date.now() - t0)}`);
      // fuzzed hosts (registry.example.com, ECR, docker.io) were tried and stopped by the guard, not looked up
      expect(refusedConnections(results)).toBeGreaterThan(0);
      assertProperty(
        results,
        {
          failures: [
            /check the source reference/,
            /the registry kept failing|is reachable|check the registry address|ENOTFOUND|ECONNREFUSED/,
            /check the AWS credentials in the job|set AWS_REGION/,
          ],
        },
        { step, seed },
      );
    } finally {
      await reg.close();
    }
  }, 300_000);
});
