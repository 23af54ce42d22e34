// retag: plan the targets, promote over the registry API (one client per registry, each
// asking in its one token request for every scope the job needs) or ECR's, then set the
// outputs and the summary. Library errors come with data; here they get the hints that
// name this step's inputs and the steps around it.
import type { Ctx } from '../../runtime/define';
import { formatReference, type ImageRef } from '../../lib/registry/reference';
import { dockerConfigPath, readDockerConfig, registryKey, type DockerConfig } from '../../lib/registry/docker-config';
import { registryCredential } from '../../lib/registry/credentials';
import { RegistryClient } from '../../lib/registry/client';
import {
  promoteViaEcr,
  promoteViaRegistry,
  promotionScopes,
  type Promotion,
  type Target,
} from '../../lib/registry/promote';
import { hinted, type ShiplineError } from '../../lib/util/errors';
import { LOGIN_HINT, registryHint } from '../shared/registry';
import type * as Lazy from './lazy';
import type { Inputs } from './index';
import { chooseMethod, planTargets } from './plan';

type StepCtx = Ctx<Inputs, typeof Lazy>;

/** What a promotion did, and the requests it took (for the log). */
interface Done {
  promotion: Promotion;
  requests: string;
}

export async function main(ctx: StepCtx): Promise<void> {
  const { source, targets } = planTargets(ctx.inputs);
  const method = chooseMethod(ctx.inputs.method, source, targets);
  ctx.log.info(
    `retag ${formatReference(source)} → ${targets.map((t) => formatReference(t.ref)).join(', ')} (method ${method}${ctx.inputs.overwrite ? ', overwrite' : ''})`,
  );
  const done = await (method === 'ecr-api' ? viaEcr(ctx, source, targets) : viaRegistry(ctx, source, targets)).catch(
    (err: unknown) => {
      throw hinted(err, stepHint);
    },
  );
  report(ctx, source, done);
}

async function viaRegistry(ctx: StepCtx, source: ImageRef, targets: Target[]): Promise<Done> {
  const clients = registryClients(ctx, promotionScopes(source, targets));
  const promotion = await promoteViaRegistry({
    source,
    targets,
    overwrite: ctx.inputs.overwrite,
    client: clients.get,
    log: (m) => ctx.log.info(m),
  });
  return { promotion, requests: clients.requests() };
}

async function viaEcr(ctx: StepCtx, source: ImageRef, targets: Target[]): Promise<Done> {
  const { ecrSession } = await ctx.lazy();
  const session = await ecrSession({ registry: source.registry, repository: source.repository }, ctx.env, ctx.log, {
    agent: 'retag',
  });
  const promotion = await promoteViaEcr({
    source,
    targets,
    overwrite: ctx.inputs.overwrite,
    session,
    log: (m) => ctx.log.info(m),
  });
  return { promotion, requests: `ECR API calls: ${session.requests}` };
}

/** One client per registry, made on first use, with the job's credentials and masking. */
function registryClients(ctx: StepCtx, scopes: Map<string, string[]>) {
  const configPath = dockerConfigPath(ctx.env);
  let config: DockerConfig | undefined;
  const insecure = new Set(ctx.inputs.insecureRegistries.map(registryKey));
  const clients = new Map<string, RegistryClient>();
  const get = (registry: string): RegistryClient => {
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
  const requests = () =>
    [...clients.values()]
      .map(
        (c) =>
          `${c.registry}: ${plural(c.requests.length, 'registry request')}, ${plural(c.tokenRequests, 'token request')}`,
      )
      .join('; ');
  return { get, requests };
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function report(ctx: StepCtx, source: ImageRef, { promotion, requests }: Done): void {
  for (const t of promotion.targets) {
    const how =
      t.outcome === 'unchanged'
        ? 'already there, nothing written'
        : t.outcome === 'moved'
          ? `moved from ${t.previous}`
          : t.outcome === 'overwritten'
            ? 'tagged (overwrite: not looked up first)'
            : t.outcome;
    const copy = t.copy
      ? ` (blobs: ${t.copy.blobs.mounted} mounted, ${t.copy.blobs.present} present, ${t.copy.blobs.uploaded} uploaded; ${t.copy.manifests} manifests)`
      : '';
    ctx.log.info(`${t.ref}: ${how}${copy}`);
  }
  if (requests) ctx.log.info(requests);
  ctx.setOutput('digest', promotion.digest);
  ctx.setOutput('refs', promotion.targets.map((t) => t.ref).join('\n'));
  ctx.summary(
    [
      '### Retag',
      '',
      `\`${formatReference(source)}\` → \`${promotion.digest}\``,
      '',
      ...promotion.targets.map((t) => `- \`${t.ref}\`: ${t.outcome}`),
      '',
    ].join('\n'),
  );
}

function stepHint(err: ShiplineError): string | undefined {
  const d = err.data;
  if (err.kind === 'conflict' && d.conflicts)
    return 'set input overwrite: true to move it, or pick a tag that is not in use';
  if (err.kind === 'not-found' && d.source)
    return 'check the source reference: was the image pushed under this tag (e.g. by the build job of the same commit)?';
  if (d.operation && d.code === 'RepositoryNotFoundException')
    return 'create the repository first, or check the source reference';
  return registryHint(err, LOGIN_HINT, 'ecr:BatchGetImage and ecr:PutImage');
}
