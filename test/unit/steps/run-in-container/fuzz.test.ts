// run-in-container's real bundle (dist/run-in-container/index.js, then its cleanup) under
// hundreds of hostile values per input, each in turn with the others valid, against a
// docker engine that is not there (DOCKER_HOST at a missing socket): every run exits 2
// naming the input (a malformed image reference, option, copy spec… before any docker
// call), or 1 with the step's words for the engine it cannot reach; never the bug path, a
// stack trace or an unhandled rejection; a secret-env value never in the output.
import step from '../../../../src/steps/run-in-container/index';
import { assertProperty, fuzzSeed, rng, runFuzz, stepCases, summarize, type FuzzCase } from '../../../support/fuzz';

const seed = fuzzSeed('run-in-container');
const TOKEN = 'npm_0123456789abcdefSECRET';

describe('run-in-container fuzz (real bundle)', () => {
  test('every run exits 2 naming the input, or 1 because the engine is unreachable', async () => {
    const r = rng(seed);
    const cases = stepCases(
      {
        base: { image: 'registry.example.com/team/app:MR-7', run: 'make test', 'copy-in': 'src' },
        env: { NPM_TOKEN: TOKEN, APP_ENV: 'staging' },
        files: { 'src/app.sh': 'echo app\n', 'dist/.keep': '', '.dockerignore': 'node_modules\n' },
        secrets: [TOKEN],
        // the cleanup asks docker too: in every third case
        post: 3,
        fuzz: {
          mode: { valid: ['run', 'start', 'exec', 'stop'], count: 80 },
          image: {
            valid: [
              'registry.example.com/team/app:MR-7',
              'alpine',
              'localhost:5000/a/b@sha256:' + '0'.repeat(64),
              '[::1]:5000/x:y',
            ],
          },
          pull: { valid: ['always', 'missing', 'never'], count: 80 },
          name: { valid: ['shipline-box', 'a.b_c-d', 'x'.repeat(128)] },
          run: { valid: ['make test', 'echo "$NPM_TOKEN" | wc -c', 'exit 3', 'cd /tmp && ls'], list: true },
          shell: { valid: ['sh -e', 'bash -eo pipefail', "sh -c 'x'"] },
          workdir: { valid: ['/app', '/', '/a b/c'] },
          'copy-in': { valid: ['src', '.', 'src:/opt', 'none', 'src/app.sh:/usr/local/bin'], list: true },
          'copy-out': { valid: ['dist/a.zip:a.zip', '/tmp/x:out/x', 'report.xml:reports/'], list: true },
          env: { valid: ['APP_ENV', 'NPM_TOKEN', 'UNSET_VAR'], list: true },
          'secret-env': { valid: ['NPM_TOKEN', 'APP_ENV'], list: true },
          network: { valid: ['host', 'none', 'bridge', 'my-net.1'] },
          options: {
            valid: ['--memory 512m', '--cpus=1.5 --read-only', "--label 'a b' --user 1000:1000", '--tmpfs /tmp'],
          },
          privileged: { valid: ['true', 'false'], count: 60 },
          keep: { valid: ['true', 'false'], count: 60 },
          'fail-fast': { valid: ['true', 'false'], count: 60 },
          'env:NPM_TOKEN': { valid: [TOKEN], count: 80 },
        },
        perInput: 200,
        mixed: 200,
        adjust: (c: FuzzCase) => {
          // the named secret's value, fuzzed: still a secret when long enough to tell apart
          const v = c.env?.NPM_TOKEN;
          if (v !== undefined && v !== TOKEN && v.trim().length >= 12) c.secrets = [...(c.secrets ?? []), v];
          if (c.label.startsWith('env:NPM_TOKEN=')) c.inputs['secret-env'] = 'NPM_TOKEN';
          return c;
        },
      },
      r,
    );
    const t0 = Date.now();
    const results = await runFuzz(cases, { step, seed, concurrency: 3 });
    console.log(`run-in-container fuzz (seed ${seed}): ${summarize(results, Date.now() - t0)}`);
    assertProperty(results, { failures: [/the docker engine is not reachable/], postCodes: [0] }, { step, seed });
  }, 300_000);
});
