// Wiring for retag's main, loaded after inputs validated: one registry client per
// registry, each asking in its one token request for every scope the job needs.
import type { Ctx } from '../../runtime/define';
import type { ImageRef } from '../../lib/registry/reference';
import { dockerConfigPath, readDockerConfig, registryKey } from '../../lib/registry/docker-config';
import { registryCredential } from '../../lib/registry/credentials';
import { RegistryClient } from '../../lib/registry/client';
import { repositoryScope } from '../../lib/registry/auth';
import { promoteViaEcr, promoteViaRegistry, type Result } from './promote';
import type { Method, Target } from './plan';

interface Inputs {
  overwrite: boolean;
  insecureRegistries: string[];
}

/** Scopes per registry: push where we write, pull on the source (mount's `from`). */
export function scopesByRegistry(source: ImageRef, targets: Target[]): Map<string, string[]> {
  const scopes = new Map<string, string[]>();
  const add = (registry: string, s: string) => scopes.set(registry, [...(scopes.get(registry) ?? []), s]);
  add(source.registry, repositoryScope(source.repository, ['pull']));
  for (const t of targets) add(t.ref.registry, repositoryScope(t.ref.repository, ['pull', 'push']));
  return scopes;
}

export async function run(ctx: Ctx<Inputs>, source: ImageRef, targets: Target[], method: Method): Promise<Result> {
  const log = (msg: string) => ctx.log.info(msg);
  if (method === 'ecr-api') {
    const { ecrSession } = await import('./lazy');
    const session = await ecrSession({ registry: source.registry, repository: source.repository }, ctx.env, ctx.log);
    const result = await promoteViaEcr({ source, targets, overwrite: ctx.inputs.overwrite, session, log });
    result.requests = `ECR API calls: ${session.requests}`;
    return result;
  }
  const configPath = dockerConfigPath(ctx.env);
  let config: ReturnType<typeof readDockerConfig> | undefined;
  const insecure = new Set(ctx.inputs.insecureRegistries.map(registryKey));
  const scopes = scopesByRegistry(source, targets);
  const clients = new Map<string, RegistryClient>();
  const client = (registry: string): RegistryClient => {
    let c = clients.get(registry);
    if (!c) {
      c = new RegistryClient({
        registry,
        scopes: scopes.get(registry) ?? [],
        configPath,
        insecure: insecure.has(registryKey(registry)),
        credential: async () => {
          config ??= readDockerConfig(configPath);
          return registryCredential(registry, configPath, ctx.env, config);
        },
        secret: (v) => ctx.secret(v),
        debug: (m) => ctx.log.debug(m),
        userAgent: 'shipline-retag',
      });
      clients.set(registry, c);
    }
    return c;
  };
  const result = await promoteViaRegistry({ source, targets, overwrite: ctx.inputs.overwrite, client, log });
  result.requests = [...clients.values()].map((c) => `${c.registry}: ${plural(c.requests.length, 'registry request')}, ${plural(c.tokenRequests, 'token request')}`).join('; ');
  return result;
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
