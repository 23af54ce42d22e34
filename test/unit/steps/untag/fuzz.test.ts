// untag's real bundle (dist/untag/index.js, its lazy SDK bundle) under hundreds of hostile
// values per input, each in turn with the others valid. The registry is a loopback server
// that knows no manifest (404 at once: the tag is not there, success), a closed loopback
// port, or (ECR hosts) the ECR API at a closed loopback port; any other host is refused by
// the fuzz network guard. Every run exits 0, 2 naming the input (a protected or malformed
// tag), or 1 with the step's own words for a registry that cannot be reached; never the
// bug path, a stack trace or an unhandled rejection.
import step from '../../../../src/steps/untag/index';
import { answeringServer, assertProperty, fuzzSeed, rng, runFuzz, stepCases, summarize } from '../../../support/fuzz';

const seed = fuzzSeed('untag');
const KEYS = {
  AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE0000',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

describe('untag fuzz (real bundle)', () => {
  test('every run exits 0, 2 naming the input, or 1 with the registry wording', async () => {
    const reg = await answeringServer(
      404,
      JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }),
    );
    try {
      const r = rng(seed);
      const repo = `${reg.host}/team/app`;
      const cases = stepCases(
        {
          base: { image: repo, tags: 'MR-12' },
          env: { ...KEYS, AWS_REGION: 'eu-west-1' },
          secrets: [KEYS.AWS_SECRET_ACCESS_KEY],
          fuzz: {
            image: {
              valid: [
                repo,
                `${repo}:MR-7`,
                `localhost:${reg.host.split(':')[1]}/a/b/c`,
                '127.0.0.1:9/team/app',
                '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:MR-3',
              ],
            },
            tags: { valid: ['MR-12', 'feature-x', 'latest', 'v1.2.3', '123'], list: true },
            'dry-run': { valid: ['true', 'false'], count: 80 },
            protected: { valid: ['latest', 'v[0-9]*', '[0-9]*.[0-9]*', 'release-?', 'MR-*'], list: true },
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
      console.log(`untag fuzz (seed ${seed}): ${summarize(results, Date.now() - t0)}`);
      assertProperty(
        results,
        {
          failures: [
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
