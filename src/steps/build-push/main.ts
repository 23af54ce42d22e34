// build-push's work, in the order a reader expects: credentials, builder, cache, smoke
// test, build, extract, push, outputs. Temporary names are saved to state before they
// exist, so `post` (or the finally here) removes exactly them and nothing else.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Ctx } from '../../runtime/define';
import { Docker } from '../../lib/docker/docker';
import {
  buildCommand,
  cacheStats,
  classifyPushFailure,
  PushProgress,
  type CacheStats,
  type DockerBuilder,
} from '../../lib/docker/build';
import { retry } from '../../lib/util/retry';
import { dockerConfigPath, readDockerConfig, registryKey, writeDockerConfig } from '../../lib/registry/docker-config';
import { ShiplineError, errorMessage } from '../../lib/util/errors';
import { chooseDockerBuilder } from '../shared/builder';
import { workspaceDestination } from '../shared/dockerfile';
import type { Inputs } from './index';
import { planBuild, type BuildPushPlan } from './plan';

export type StepCtx = Ctx<Inputs>;

export type Temporaries = {
  containers: string[];
  images: string[];
  /** Cache images pulled by this step (removed after the build). */
  pulled: string[];
  /** The private DOCKER_CONFIG, with credentials. */
  configDir?: string;
};

/** Names main gives its temporaries; post acts on a recorded name only when it has this shape. */
export const TEMP_SHAPES = {
  id: /^shipline-build-push-[0-9a-f]{10}$/,
  container: /^shipline-build-push-[0-9a-f]{10}-extract$/,
  image: /^shipline-build-push-[0-9a-f]{10}:(smoke|build)$/,
  configDir: /^shipline-build-push-config-[A-Za-z0-9]{6}$/,
};

/** The temporaries of this run, saved before they exist so post removes exactly them. */
export const temporaries = (ctx: Pick<StepCtx, 'state'>) => ctx.state<Temporaries>('build-push-temporaries');

/** A private DOCKER_CONFIG: the job's config (and plugins, contexts) plus our credentials. */
function privateConfig(ctx: StepCtx, dir: string, login: NonNullable<BuildPushPlan['login']>): void {
  const source = dockerConfigPath(ctx.env);
  const config = readDockerConfig(source);
  config.auths = { ...(config.auths ?? {}) };
  const auth = Buffer.from(`${login.username}:${login.password}`).toString('base64');
  ctx.secret(auth);
  for (const registry of login.registries) {
    const key = registryKey(registry);
    config.auths[key] = { auth };
    if (config.credHelpers) delete config.credHelpers[key];
  }
  if (config.credsStore) {
    ctx.log.warn(
      `ignoring credsStore '${config.credsStore}' of ${source} for this step, so the given credentials are used`,
    );
    delete config.credsStore;
  }
  writeDockerConfig(join(dir, 'config.json'), config);
  // cli-plugins (buildx), contexts and buildx state stay reachable through links.
  const sourceDir = dirname(source);
  if (existsSync(sourceDir)) {
    for (const entry of readdirSync(sourceDir)) {
      if (entry !== 'config.json') symlinkSync(join(sourceDir, entry), join(dir, entry));
    }
  }
}

/** Classic builder: cache sources must be local, so pull them (best effort) and keep those that exist. */
async function prepareCache(
  ctx: StepCtx,
  docker: Docker,
  plan: BuildPushPlan,
  builder: DockerBuilder,
  temps: Temporaries,
): Promise<string[]> {
  if (plan.cacheFrom.length === 0) return [];
  if (builder === 'buildx') return plan.cacheFrom;
  return ctx.log.group(`Cache sources (${plan.cacheFrom.length})`, async () => {
    const usable: string[] = [];
    for (const ref of plan.cacheFrom) {
      if (ref.includes('=')) {
        ctx.log.warn(`cache source '${ref}' needs buildx; the classic builder skips it`);
        continue;
      }
      const before = await docker.imageExists(ref);
      const pulled = await docker.pull(ref, { optional: true, timeoutMs: 600_000 });
      const local = pulled || before;
      // A cache image this step pulled is untagged afterwards, unless the build retags it.
      if (pulled && !before && !plan.refs.includes(ref)) temps.pulled.push(ref);
      ctx.log.info(`${ref}: ${pulled ? 'pulled' : local ? 'local only' : 'not found (skipped)'}`);
      if (local) usable.push(ref);
    }
    return usable;
  });
}

interface BuildResult {
  imageId: string;
  cache: CacheStats;
  digest: string | undefined;
}

async function build(
  ctx: StepCtx,
  docker: Docker,
  builder: DockerBuilder,
  plan: BuildPushPlan,
  o: { target: string | undefined; tags: string[]; cacheFrom: string[]; title: string; push?: boolean },
): Promise<BuildResult> {
  const iidFile = join(ctx.tempDir, `shipline-build-push-${randomBytes(4).toString('hex')}.iid`);
  const metadataFile = o.push ? `${iidFile}.json` : undefined;
  const cmd = buildCommand(builder, {
    context: plan.context,
    file: plan.file,
    target: o.target,
    buildArgs: plan.buildArgs,
    labels: plan.labels,
    tags: o.tags,
    pull: plan.pull,
    network: plan.network,
    cacheFrom: o.cacheFrom,
    cacheTo: builder === 'buildx' ? plan.cacheTo : [],
    platforms: plan.platforms,
    iidFile,
    ...(o.push ? { push: true } : {}),
    ...(metadataFile ? { metadataFile } : {}),
  });
  const lines: string[] = [];
  try {
    await ctx.log.group(o.title, async () => {
      const r = await docker.run(cmd.args, {
        extraEnv: cmd.env,
        capture: false,
        allowFailure: true,
        onLine: (line) => {
          lines.push(line);
          if (
            !/^(DEPRECATED: The legacy builder|\s+BuildKit is currently disabled|\s+environment-variable\.|\s+Install the buildx component)/.test(
              line,
            )
          )
            ctx.log.info(line);
        },
      });
      if (r.code !== 0) {
        const tail = lines
          .filter((l) => l.trim() !== '')
          .slice(-8)
          .join('\n');
        throw new ShiplineError(
          `${o.title} failed (docker ${builder === 'buildx' ? 'buildx build' : 'build'} exit code ${r.code}):\n${tail}`,
          {
            hint: 'the build log above shows the failing instruction',
          },
        );
      }
    });
    const imageId = existsSync(iidFile) ? readFileSync(iidFile, 'utf8').trim() : '';
    let digest: string | undefined;
    if (metadataFile && existsSync(metadataFile)) {
      digest = (JSON.parse(readFileSync(metadataFile, 'utf8')) as Record<string, string>)['containerimage.digest'];
    }
    return { imageId, cache: cacheStats(lines, plan.labels), digest };
  } finally {
    rmSync(iidFile, { force: true });
    if (metadataFile) rmSync(metadataFile, { force: true });
  }
}

async function extract(
  ctx: StepCtx,
  docker: Docker,
  plan: BuildPushPlan,
  image: string,
  container: string,
): Promise<string[]> {
  return ctx.log.group(`Extract ${plan.extract.length} path(s)`, async () => {
    await docker.create(image, { name: container, cmd: ['extract'] });
    const done: string[] = [];
    for (const item of plan.extract) {
      // Checked again now: an earlier item may have put a symlink where this one goes.
      const to = workspaceDestination('extract', ctx.workspace, item.to);
      mkdirSync(dirname(to), { recursive: true });
      await docker.cp(`${container}:${item.from}`, workspaceDestination('extract', ctx.workspace, to));
      ctx.log.info(`${item.from} -> ${to}`);
      done.push(to);
    }
    return done;
  });
}

async function pushAll(ctx: StepCtx, docker: Docker, refs: string[]): Promise<{ ref: string; digest: string }[]> {
  return ctx.log.group(`Push ${refs.length} reference(s)`, async () => {
    const out: { ref: string; digest: string }[] = [];
    for (const ref of refs) {
      const progress = new PushProgress();
      // Classified: a 5xx, throttling or a reset pushes again (layers already there are
      // skipped by the registry); auth and validation errors fail at once.
      const digest = await retry(
        () =>
          docker.push(ref, {
            timeoutMs: 3_600_000,
            onLine: (line) => {
              // one line per layer's final state (and retries), not the Preparing/Waiting chatter
              const shown = progress.feed(line);
              if (shown !== undefined) ctx.log.info(shown);
            },
          }),
        {
          what: `docker push ${ref}`,
          hint: 'the registry kept failing; try again later or check its health',
          maxAttempts: 4,
          deadlineMs: 600_000,
          baseDelayMs: 1000,
          classify: (err) => classifyPushFailure(errorMessage(err)),
          onRetry: ({ attempt, delayMs, reason }) =>
            ctx.log.warn(
              `push of ${ref} failed (${reason}); attempt ${attempt + 1} in ${(delayMs / 1000).toFixed(1)} s`,
            ),
        },
      );
      ctx.log.info(`${ref}@${digest} (${progress.summary()})`);
      out.push({ ref, digest });
    }
    return out;
  });
}

export async function buildPush(ctx: StepCtx): Promise<void> {
  const plan = planBuild(ctx.inputs, ctx.ci, ctx.workspace);
  const id = `shipline-build-push-${randomBytes(5).toString('hex')}`;
  const temps: Temporaries = { containers: [`${id}-extract`], images: [`${id}:smoke`, `${id}:build`], pulled: [] };
  if (plan.login) temps.configDir = mkdtempSync(join(ctx.tempDir, 'shipline-build-push-config-'));
  const saved = temporaries(ctx);
  saved.set(temps);
  try {
    let env = ctx.env;
    if (plan.login && temps.configDir) {
      privateConfig(ctx, temps.configDir, plan.login);
      env = { ...ctx.env, DOCKER_CONFIG: temps.configDir };
      ctx.log.info(
        `credentials for ${plan.login.registries.join(', ')} (user ${plan.login.username}) in a private docker config`,
      );
    }
    const docker = new Docker({ env, cwd: ctx.workspace });
    await docker.ping();
    const builder = await chooseDockerBuilder(docker, plan.builder, plan.platforms);
    const targetName = plan.target ?? plan.stages[plan.stages.length - 1]?.name ?? 'last stage';
    ctx.log.info(
      `builder: ${builder === 'buildx' ? 'buildx' : 'classic (no buildx here)'}; file ${plan.file}; target ${targetName}`,
    );
    const cacheFrom = await prepareCache(ctx, docker, plan, builder, temps);

    if (plan.smokeTarget) {
      await build(ctx, docker, builder, plan, {
        target: plan.smokeTarget,
        tags: [`${id}:smoke`],
        cacheFrom,
        title: `Smoke test: build stage ${plan.smokeTarget}`,
      }).catch((err: unknown) => {
        throw new ShiplineError(`smoke test failed, nothing was pushed: ${errorMessage(err)}`, {
          hint: `fix stage '${plan.smokeTarget}' of ${plan.file} (or the code it tests)`,
        });
      });
    }

    // Multi-platform images cannot be loaded into the engine: buildx pushes them itself.
    const direct = builder === 'buildx' && plan.platforms.length > 1;
    if (direct && plan.extract.length)
      throw new ShiplineError('extract needs a single-platform build (the image must be loaded into the engine)');
    // The classic builder reuses the smoke build's layers only when told to (cache-from turns off its local cache).
    const targetCache =
      builder === 'docker' && plan.smokeTarget && cacheFrom.length ? [...cacheFrom, `${id}:smoke`] : cacheFrom;
    const result = await build(ctx, docker, builder, plan, {
      target: plan.target,
      tags: direct ? plan.refs : [...plan.refs, `${id}:build`],
      cacheFrom: targetCache,
      title: `Build ${targetName}`,
      push: direct && plan.push,
    });
    ctx.log.info(`image ${result.imageId}: ${result.cache.cached}/${result.cache.steps} steps from cache`);

    const extracted = plan.extract.length ? await extract(ctx, docker, plan, `${id}:build`, `${id}-extract`) : [];

    let pushed: { ref: string; digest: string }[] = [];
    if (plan.push && direct) pushed = plan.refs.map((ref) => ({ ref, digest: result.digest ?? '' }));
    else if (plan.push) pushed = await pushAll(ctx, docker, plan.refs);
    const digest = pushed[0]?.digest ?? '';
    const distinct = new Set(pushed.map((p) => p.digest));
    if (distinct.size > 1)
      ctx.log.warn(`registries report different digests: ${pushed.map((p) => `${p.ref}@${p.digest}`).join(', ')}`);

    ctx.setOutput('digest', digest);
    ctx.setOutput('image-id', result.imageId);
    ctx.setOutput('tags', plan.refs.join('\n'));
    ctx.setOutput(
      'metadata',
      JSON.stringify({
        'image-id': result.imageId,
        digest,
        refs: pushed.length ? pushed : plan.refs.map((ref) => ({ ref, digest: '' })),
        builder,
        target: targetName,
        cache: { steps: result.cache.steps, cached: result.cache.cached },
        extracted,
      }),
    );
    ctx.summary(
      [
        `### build-push: ${targetName}`,
        '',
        plan.push ? `Pushed \`${digest}\`:` : 'Built (not pushed):',
        '',
        ...plan.refs.map((r) => `- \`${r}\``),
        '',
        `Image id \`${result.imageId}\`; ${result.cache.cached}/${result.cache.steps} steps from cache (${builder === 'buildx' ? 'buildx' : 'classic builder'}).`,
        ...(extracted.length ? ['', `Extracted: ${extracted.map((e) => `\`${e}\``).join(', ')}`] : []),
        '',
      ].join('\n'),
    );
  } finally {
    // All gone: post has nothing left to check.
    if (await removeTemporaries(ctx, new Docker({ env: ctx.env, cwd: ctx.workspace }), temps)) saved.clear();
  }
}

export async function removeTemporaries(ctx: StepCtx, docker: Docker, temps: Temporaries): Promise<boolean> {
  if (temps.configDir) rmSync(temps.configDir, { recursive: true, force: true });
  const okC = await docker.rm(temps.containers).catch(() => false);
  // Only our own temporary tags: an image also tagged for the registry keeps those tags.
  const okI = await docker.imageRm([...temps.images, ...temps.pulled]).catch(() => false);
  if (!okC || !okI)
    ctx.log.warn(
      `could not remove every temporary of this step (${[...temps.containers, ...temps.images].join(', ')})`,
    );
  return okC && okI;
}
