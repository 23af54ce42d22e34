// vault-secrets' real bundle (dist/vault-secrets/index.js, then its cleanup) under hundreds
// of hostile values per input and per variable it reads (V_ locations, VAULT_*), each in
// turn with the others valid. Vault is a closed loopback port (connection refused) or, for
// the retry input, a loopback server refusing the login at once (403). Every run exits 2
// naming the input or variable, or 1 with the step's own words for an unreachable or
// refusing Vault; never the bug path, a stack trace or an unhandled rejection; the AppRole
// ids never in the output.
import step from '../../../../src/steps/vault-secrets/index';
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

const seed = fuzzSeed('vault-secrets');
const CLOSED = 'http://127.0.0.1:9';

describe('vault-secrets fuzz (real bundle)', () => {
  test('every run exits 2 naming the input, or 1 with the Vault wording; no AppRole id shown', async () => {
    const vault = await answeringServer(403, '{"errors":["permission denied"]}');
    try {
      const r = rng(seed);
      const cases = stepCases(
        {
          base: {
            url: CLOSED,
            'role-id': 'role-0123456789ab',
            'secret-id': 'secret-0123456789ab',
            'retry-max-attempts': '1',
          },
          env: { V_DB_PASSWORD: 'secret/app/db/password' },
          post: true,
          fuzz: {
            url: {
              valid: [CLOSED, 'http://localhost:9/', 'https://127.0.0.1:9', vault.url],
              also: ['http://vault.example.com:8200'],
            },
            'role-id': { valid: ['role-0123456789ab', '3f1c2d4e-aaaa-bbbb-cccc-0123456789ab'] },
            'secret-id': { valid: ['secret-0123456789ab', ''] },
            'auth-path': { valid: ['approle', 'ci/approle', 'auth/approle/'] },
            namespace: { valid: ['team-a', 'a/b'] },
            prefix: { valid: ['V_', 'VAULT_SECRET_', 'X'] },
            'kv-version': { valid: ['auto', '1', '2'], count: 80 },
            export: { valid: ['env', 'file'], count: 80 },
            secrets: {
              valid: [
                'secret/app/db password | DB_PASSWORD',
                'secret/app/db password',
                'teams/ci//app/db password | X',
                'secret/a k1; secret/a k2 | K2',
              ],
              list: true,
            },
            'retry-max-attempts': { valid: ['1', '2', '5'], count: 100 },
            'export-token': { valid: ['false', 'true'], count: 80 },
            'env:V_DB_PASSWORD': { valid: ['secret/app/db/password', 'teams/ci//app/db/password', 'kv/a/b/c/d'] },
            'env:V_': { valid: ['secret/app/x'], count: 40 },
            'env:V_1BAD': { valid: ['secret/app/x'], count: 40 },
            'env:VAULT_ADDR': { valid: [CLOSED], count: 100 },
            'env:VAULT_ROLE_ID': { valid: ['role-0123456789ab'], count: 60 },
            'env:VAULT_NAMESPACE': { valid: ['team-a'], count: 40 },
          },
          perInput: 200,
          mixed: 200,
          adjust: (c: FuzzCase) => {
            // a retry count reaches a server that refuses at once (no minute of backoff)
            if (c.label.startsWith('retry-max-attempts=')) c.inputs.url = vault.url;
            // the job variables the inputs fall back to: the inputs left empty
            if (/^env:VAULT_(ADDR|ROLE_ID)=/.test(c.label)) {
              const name = c.label.startsWith('env:VAULT_ADDR') ? 'url' : 'role-id';
              delete c.inputs[name];
            }
            if (c.label.startsWith('env:VAULT_ROLE_ID=')) {
              const v = c.env!.VAULT_ROLE_ID!;
              if (v.trim().length >= 8) c.secrets = [...(c.secrets ?? []), v];
            }
            return c;
          },
        },
        r,
      );
      const t0 = Date.now();
      const results = await runFuzz(cases, { step, seed, concurrency: 3 });
      console.log(`vault-secrets fuzz (seed ${seed}): ${summarize(results, Date.now() - t0)}`);
      assertProperty(
        results,
        {
          failures: [/check the url input \/ VAULT_ADDR|check role-id and secret-id|auth-path/],
          names: [/\bV_\w*|\bVAULT_(ADDR|ROLE_ID|SECRET_ID|NAMESPACE)\b|secrets line \d+/],
        },
        { step, seed },
      );
    } finally {
      await vault.close();
    }
  }, 240_000);
});
