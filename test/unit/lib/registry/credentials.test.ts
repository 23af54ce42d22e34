// Where registry credentials come from, in order.
import { registryCredential } from '../../../../src/lib/registry/credentials';

describe('registryCredential', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const none = '/nonexistent/config.json';
  test('docker config first, then DOCKER_AUTH_CONFIG, then GitLab CI_REGISTRY_* for $CI_REGISTRY only', async () => {
    const gitlab = {
      CI_REGISTRY: 'registry.gitlab.example.com',
      CI_REGISTRY_USER: 'gitlab-ci-token',
      CI_REGISTRY_PASSWORD: 'job-token-value',
    };
    const fromFile = await registryCredential('registry.gitlab.example.com', none, gitlab, {
      auths: { 'registry.gitlab.example.com': { auth: b64('me:pw') } },
    });
    expect(fromFile).toMatchObject({
      username: 'me',
      password: 'pw',
      source: `auths["registry.gitlab.example.com"] in ${none}`,
    });
    const fromVar = await registryCredential('registry.gitlab.example.com', none, {
      ...gitlab,
      DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { 'registry.gitlab.example.com': { auth: b64('dac:pw2') } } }),
    });
    expect(fromVar).toMatchObject({
      username: 'dac',
      source: 'auths["registry.gitlab.example.com"] in the DOCKER_AUTH_CONFIG variable',
    });
    expect(await registryCredential('registry.gitlab.example.com', none, gitlab)).toEqual({
      username: 'gitlab-ci-token',
      password: 'job-token-value',
      source: 'CI_REGISTRY_USER/CI_REGISTRY_PASSWORD (GitLab job variables for registry.gitlab.example.com)',
    });
    expect(await registryCredential('other.example.com', none, gitlab)).toBeUndefined();
  });
});
