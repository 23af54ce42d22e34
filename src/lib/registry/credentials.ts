// Where registry credentials come from, in order: docker config.json (auths, credHelpers,
// credsStore: what docker login and ecr-login write), then the job's own: GitLab's
// DOCKER_AUTH_CONFIG variable and, for $CI_REGISTRY, CI_REGISTRY_USER/CI_REGISTRY_PASSWORD
// (so a GitLab job promotes in its project's registry without a login step).
import type { Env } from '../util/env';
import { credentialsFor, readDockerConfig, registryKey, type Credential, type DockerConfig } from './docker-config';

export async function registryCredential(
  registry: string,
  configPath: string,
  env: Env,
  config?: DockerConfig,
): Promise<Credential | undefined> {
  const fromFile = await credentialsFor(config ?? readDockerConfig(configPath), registry, configPath);
  if (fromFile) return fromFile;
  if (env.DOCKER_AUTH_CONFIG) {
    let parsed: DockerConfig | undefined;
    try {
      parsed = JSON.parse(env.DOCKER_AUTH_CONFIG) as DockerConfig;
    } catch {
      parsed = undefined; // not JSON: ignored, like the runner does for a malformed value
    }
    const c = parsed && (await credentialsFor(parsed, registry, 'the DOCKER_AUTH_CONFIG variable'));
    if (c) return c;
  }
  if (
    env.CI_REGISTRY &&
    env.CI_REGISTRY_USER &&
    env.CI_REGISTRY_PASSWORD &&
    registryKey(env.CI_REGISTRY) === registryKey(registry)
  ) {
    return {
      username: env.CI_REGISTRY_USER,
      password: env.CI_REGISTRY_PASSWORD,
      source: `CI_REGISTRY_USER/CI_REGISTRY_PASSWORD (GitLab job variables for ${env.CI_REGISTRY})`,
    };
  }
  return undefined;
}
