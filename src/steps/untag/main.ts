// untag: plan the repository and tags (protected ones refused before anything runs), then
// remove them over the registry API (DELETE by digest, only when no other tag holds the
// digest) or ECR's (BatchDeleteImage by tag), then set deleted / kept / missing and the
// summary. A kept tag is a warning, not a failure: the cleanup job stays green.
import type { Ctx } from '../../runtime/define';
import { formatReference, type ImageRef } from '../../lib/registry/reference';
import { dockerConfigPath, readDockerConfig, registryKey, type DockerConfig } from '../../lib/registry/docker-config';
import { registryCredential } from '../../lib/registry/credentials';
import { repositoryScope } from '../../lib/registry/auth';
import { RegistryClient } from '../../lib/registry/client';
import { untagViaRegistry, type TagResult } from '../../lib/registry/delete';
import { hinted, isShiplineError, type ShiplineError } from '../../lib/util/errors';
import { LOGIN_HINT, registryHint } from '../shared/registry';
import type * as Lazy from './lazy';
import type { Inputs } from './index';
import { chooseMethod, planUntag, type Method } from './plan';

type StepCtx = Ctx<Inputs, typeof Lazy>;

interface Done {
  results: TagResult[];
  requests: string;
}

export async function main(ctx: StepCtx): Promise<void> {
  const { repo, tags } = planUntag(ctx.inputs);
  const method = chooseMethod(ctx.inputs.method, repo);
  const dryRun = ctx.inputs.dryRun;
  ctx.log.info(
    `untag ${formatReference(repo)}: ${tags.join(', ')} (method ${method}${dryRun ? ', dry run: nothing is removed' : ''})`,
  );
  const done = await (method === 'ecr-api' ? viaEcr(ctx, repo, tags) : viaRegistry(ctx, repo, tags)).catch(
    (err: unknown) => {
      throw hinted(err, stepHint);
    },
  );
  report(ctx, repo, method, done);
}

async function viaRegistry(ctx: StepCtx, repo: ImageRef, tags: string[]): Promise<Done> {
  const configPath = dockerConfigPath(ctx.env);
  let config: DockerConfig | undefined;
  const client = new RegistryClient({
    registry: repo.registry,
    // One token for the look-ups and the DELETE (a dry run asks for pull only).
    scopes: [repositoryScope(repo.repository, ctx.inputs.dryRun ? ['pull'] : ['pull', 'delete'])],
    configPath,
    insecure: ctx.inputs.insecureRegistries.map(registryKey).includes(registryKey(repo.registry)),
    credential: async () => {
      config ??= readDockerConfig(configPath);
      return registryCredential(repo.registry, configPath, ctx.env, config);
    },
    secret: (v) => ctx.secret(v),
    debug: (m) => ctx.log.debug(m),
    userAgent: 'shipline-untag',
  });
  const results = await untagViaRegistry({
    client,
    repository: repo.repository,
    tags,
    dryRun: ctx.inputs.dryRun,
    log: (m) => ctx.log.info(m),
  });
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  return {
    results,
    requests: `${repo.registry}: ${count(client.requests.length, 'registry request')}, ${count(client.tokenRequests, 'token request')}`,
  };
}

async function viaEcr(ctx: StepCtx, repo: ImageRef, tags: string[]): Promise<Done> {
  const { ecrUntagSession } = await ctx.lazy();
  const session = await ecrUntagSession(repo, ctx.env, ctx.log);
  const requests = () => `ECR API calls: ${session.requests}`;
  const missing = (tag: string): TagResult => ({ tag, outcome: 'missing' });
  try {
    if (ctx.inputs.dryRun) {
      const held = await session.look(tags);
      const results = tags.map((tag): TagResult => {
        const digest = held.get(tag);
        return digest ? { tag, outcome: 'would-delete', digest } : missing(tag);
      });
      return { results, requests: requests() };
    }
    // A tag neither removed nor reported is not there either.
    const { deleted } = await session.remove(tags);
    const results = tags.map((tag): TagResult => {
      const digest = deleted.get(tag);
      return digest === undefined ? missing(tag) : { tag, outcome: 'deleted', ...(digest ? { digest } : {}) };
    });
    return { results, requests: requests() };
  } catch (err) {
    // As over the registry API, a repository that is not there holds none of the tags.
    if (!isShiplineError(err) || err.data.code !== 'RepositoryNotFoundException') throw err;
    ctx.log.warn(`${formatReference(repo)}: ECR has no such repository, so none of the tags is there`);
    return { results: tags.map(missing), requests: requests() };
  }
}

function report(ctx: StepCtx, repo: ImageRef, method: Method, { results, requests }: Done): void {
  const name = formatReference(repo);
  for (const r of results) {
    const at = r.digest ? ` (${r.digest})` : '';
    if (r.outcome === 'kept') {
      const why = [
        ...(r.sharedWith ? [`tag ${r.sharedWith.join(', ')} points at the same digest`] : []),
        ...(r.childOf ? [`it is a platform image of the index tagged ${r.childOf.join(', ')}`] : []),
      ].join('; ');
      ctx.log.warn(
        `${name}:${r.tag}: kept${at}: ${why}. The registry API can only delete by digest, which would remove those tags too; remove it with the registry's own UI/API or retention policy, or leave it for the next cleanup`,
      );
    } else if (r.outcome === 'deleted') {
      ctx.log.info(
        `${name}:${r.tag}: deleted${at}${method === 'ecr-api' ? ' (the tag; ECR keeps the image while another tag holds it)' : ''}`,
      );
    } else if (r.outcome === 'would-delete') {
      ctx.log.info(`${name}:${r.tag}: would be deleted${at} (dry run)`);
    } else {
      ctx.log.info(`${name}:${r.tag}: not there, nothing to do`);
    }
  }
  if (requests) ctx.log.info(requests);
  const list = (o: TagResult['outcome']) =>
    results
      .filter((r) => r.outcome === o)
      .map((r) => r.tag)
      .join('\n');
  ctx.setOutput('deleted', list('deleted'));
  ctx.setOutput('would-delete', list('would-delete'));
  ctx.setOutput('kept', list('kept'));
  ctx.setOutput('missing', list('missing'));
  const words: Record<TagResult['outcome'], string> = {
    deleted: 'deleted',
    'would-delete': 'would be deleted (dry run)',
    kept: 'kept: another tag holds its digest',
    missing: 'not there',
  };
  ctx.summary(
    [
      `### Untag${ctx.inputs.dryRun ? ' (dry run)' : ''}`,
      '',
      `\`${name}\` (method ${method})`,
      '',
      ...results.map((r) => {
        const others = [...(r.sharedWith ?? []), ...(r.childOf ?? [])];
        return `- \`${r.tag}\`: ${words[r.outcome]}${others.length ? ` (${others.map((t) => `\`${t}\``).join(', ')})` : ''}`;
      }),
      '',
    ].join('\n'),
  );
}

function stepHint(err: ShiplineError): string | undefined {
  const d = err.data;
  if (d.deleteDisabled)
    return 'the registry refuses deletes: enable them (Distribution: storage.delete.enabled: true) or use its own retention policy';
  if (d.tooManyTags)
    return 'the repository has too many tags to check that no other tag shares the digest; clean it up with the registry’s own retention policy';
  const shared = registryHint(
    err,
    `${LOGIN_HINT}; on GitLab CI_REGISTRY_USER/CI_REGISTRY_PASSWORD are used`,
    'ecr:BatchDeleteImage (and ecr:BatchGetImage for a dry run)',
  );
  if (shared) return shared;
  if (err.kind === 'denied' || (err.kind === 'auth' && !d.operation))
    return 'the account may not delete in this repository; grant it delete access (a token scope repository:<name>:delete) or use another account';
  return undefined;
}
