// registry-login's real bundle (dist/registry-login/index.js, then its cleanup) under
// hundreds of hostile values per input and per variable it reads, each in turn with the
// others valid. The registry is a loopback server refusing every login at once (401), or a
// closed loopback port; any other host is refused by the fuzz network guard. Every run
// exits 2 naming the input, or 1 with the step's own words for a registry that refuses or
// cannot be reached; never the bug path, a stack trace or an unhandled rejection; the
// cleanup exits 0; no password in the output.
import step from '../../../../src/steps/registry-login/index';
import {
  answeringServer,
  assertProperty,
  fuzzSeed,
  rng,
  runFuzz,
  stepCases,
  summarize,
  type FuzzCase,
  type ValueSpec,
} from '../../../support/fuzz';

const seed = fuzzSeed('registry-login');
const PASSWORD = 'glpat-0123456789abcdefSECRET';
const CONFIG = (host: string) =>
  JSON.stringify({ auths: { [host]: { auth: Buffer.from(`robot:${PASSWORD}`).toString('base64') } } });

describe('registry-login fuzz (real bundle)', () => {
  test('every run exits 2 naming the input, or 1 with the registry wording; the cleanup exits 0', async () => {
    const reg = await answeringServer(401, JSON.stringify({ errors: [{ code: 'UNAUTHORIZED' }] }), {
      'content-type': 'application/json',
      'www-authenticate': 'Basic realm="fuzz"',
    });
    try {
      const r = rng(seed);
      const inputs = Object.keys(step.inputs);
      const valid: Record<string, ValueSpec> = {
        registry: { valid: [reg.host, `http://${reg.host}/v2/`, '127.0.0.1:9', '[::1]:9', 'localhost:9'] },
        username: { valid: ['robot', 'AWS', 'gitlab-ci-token', 'a@b.c'] },
        password: { valid: [PASSWORD, 'abcd'] },
        registries: {
          valid: [`${reg.host} REG_USER REG_PASSWORD`, `127.0.0.1:9 REG_USER REG_PASSWORD`, reg.host],
          list: true,
        },
        'registry-auth': {
          valid: [
            `- registry: ${reg.host}\n  username: robot\n  password: ${PASSWORD}`,
            JSON.stringify([{ registry: reg.host, username: 'robot', password: PASSWORD }]),
          ],
        },
        'auth-config-variable': { valid: ['ROBOT_CONFIG', 'ROBOT_CONFIG_B64', 'UNSET_VAR'] },
        ecr: { valid: ['auto', 'true', 'false'], count: 80 },
        scope: { valid: ['@push'], count: 60 },
        logout: { valid: ['true', 'false'], count: 60 },
        'github-token': { valid: ['ghs_0123456789abcdefSECRET'] },
      };
      const fuzz: Record<string, ValueSpec> = {};
      for (const n of inputs) fuzz[n] = valid[n] ?? { valid: ['x'] };
      Object.assign(fuzz, {
        'env:REG_PASSWORD': { valid: [PASSWORD], count: 80 },
        'env:ROBOT_CONFIG': { valid: [CONFIG(reg.host)], count: 150 },
        'env:CI_REGISTRY': { valid: [reg.host], count: 80 },
        'env:CI_REGISTRY_PASSWORD': { valid: [PASSWORD], count: 60 },
      });
      const cases = stepCases(
        {
          base: { registry: reg.host, username: 'robot', password: PASSWORD },
          env: {
            REG_USER: 'robot',
            REG_PASSWORD: PASSWORD,
            ROBOT_CONFIG: CONFIG(reg.host),
            ROBOT_CONFIG_B64: Buffer.from(CONFIG(reg.host)).toString('base64'),
          },
          secrets: [PASSWORD],
          post: true,
          fuzz,
          perInput: 200,
          mixed: 200,
          adjust: (c: FuzzCase) => {
            const [name] = c.label.split('=', 1) as [string];
            // the other ways to give credentials replace registry/username/password
            if (['registries', 'registry-auth', 'auth-config-variable'].includes(name)) {
              delete c.inputs.registry;
              delete c.inputs.username;
              delete c.inputs.password;
            }
            if (name === 'env:ROBOT_CONFIG') {
              delete c.inputs.registry;
              delete c.inputs.username;
              delete c.inputs.password;
              c.inputs['auth-config-variable'] = 'ROBOT_CONFIG';
            }
            if (name === 'env:CI_REGISTRY' || name === 'env:CI_REGISTRY_PASSWORD') {
              c.env = { ...c.env, CI_REGISTRY: c.env?.CI_REGISTRY ?? reg.host, CI_REGISTRY_USER: 'robot' };
              c.env.CI_REGISTRY_PASSWORD ??= PASSWORD;
              delete c.inputs.username;
              delete c.inputs.password;
              c.inputs.registry = c.env.CI_REGISTRY!;
            }
            for (const k of ['REG_PASSWORD', 'CI_REGISTRY_PASSWORD']) {
              const v = c.env?.[k];
              if (v && v !== PASSWORD && v.trim().length >= 12) c.secrets = [...(c.secrets ?? []), v];
            }
            return c;
          },
        },
        r,
      );
      const t0 = Date.now();
      const results = await runFuzz(cases, { step, seed, concurrency: 4 });
      console.log(`registry-login fuzz (seed ${seed}): ${summarize(results, Date.now() - t0)}`);
      assertProperty(
        results,
        {
          failures: [/rejected the user name or password|check the registry address in|that the runner can reach/],
          names: [/\b(REG_USER|REG_PASSWORD|ROBOT_CONFIG\w*|CI_REGISTRY\w*|UNSET_VAR)\b/],
        },
        { step, seed },
      );
    } finally {
      await reg.close();
    }
  }, 300_000);
});
