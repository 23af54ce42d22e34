// build-push's work, in the order a reader expects: secrets masked, credentials, builder,
// cache, smoke test, build, extract, push, outputs. Temporary names are saved to state
// before they exist, so `post` (or the finally here) removes exactly them and nothing else.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { Ctx } from '../../runtime/define';
import { Docker } from '../../lib/docker/docker';
import { cacheStats, classifyPushFailure, PushProgress, type CacheStats } from '../../lib/docker/build';
import { retry } from '../../lib/util/retry';
import { dockerConfigPath, readDockerConfig, registryKey, writeDockerConfig } from '../../lib/registry/docker-config';
import { parseReference, repositoryName } from '../../lib/registry/reference';
import { ShiplineError, errorMessage } from '../../lib/util/errors';
import { InputError } from '../../runtime/inputs';
import { buildArgv, chooseDockerBuilder, csvField, type BuildFlags, type BuildMode } from '../shared/builder';
import { labelledDockerfile, workspaceDestination } from '../shared/dockerfile';
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
  /** The step's own files: the Dockerfile with its LABEL line, the 0600 secret files. */
  workDir?: string;
};

/** Random hex for a temporary's name; crypto is required on use (loading it costs ~4 ms of every start, fail-fast included). */
function hex(bytes: number): string {
  const { randomBytes } = require('node:crypto') as typeof import('node:crypto');
  return randomBytes(bytes).toString('hex');
}

/** Names main gives its temporaries; post acts on a recorded name only when it has this shape. */
export const TEMP_SHAPES = {
  id: /^shipline-build-push-[0-9a-f]{10}$/,
  container: /^shipline-build-push-[0-9a-f]{10}-extract$/,
  image: /^shipline-build-push-[0-9a-f]{10}:(smoke|build)$/,
  configDir: /^shipline-build-push-config-[A-Za-z0-9]{6}$/,
  workDir: /^shipline-build-push-work-[A-Za-z0-9]{6}$/,
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

/**
 * Cache sources the build may use. buildx reads them from the registry, and so does the
 * docker CLI's BuildKit (image references only); the classic builder only from local
 * images, so it pulls them first (best effort) and keeps those that exist.
 */
async function prepareCache(
  ctx: StepCtx,
  docker: Docker,
  plan: BuildPushPlan,
  mode: BuildMode,
  temps: Temporaries,
): Promise<string[]> {
  if (plan.cacheFrom.length === 0) return [];
  if (plan.options.noCache) {
    ctx.log.info('no-cache: the build uses no cache source');
    return [];
  }
  if (mode === 'buildx') return plan.cacheFrom;
  const skip = (ref: string) =>
    ctx.log.warn(
      `cache source '${ref}' needs buildx; ${mode === 'buildkit' ? "docker's BuildKit" : 'the classic builder'} skips it`,
    );
  if (mode === 'buildkit') return plan.cacheFrom.filter((ref) => (ref.includes('=') ? (skip(ref), false) : true));
  return ctx.log.group(`Cache sources (${plan.cacheFrom.length})`, async () => {
    const usable: string[] = [];
    for (const ref of plan.cacheFrom) {
      if (ref.includes('=')) {
        skip(ref);
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

/** What one build of the step uses besides the plan: its target, tags, cache, Dockerfile and labels. */
interface BuildRun {
  target: string | undefined;
  tags: string[];
  cacheFrom: string[];
  title: string;
  push?: boolean;
  file: string;
  labels: Record<string, string>;
  /** The LABEL instruction added to `file` (its step is not counted in the cache figures). */
  labelStep?: string;
  flags: BuildFlags;
}

/** The output without the step of the LABEL instruction build-push added (classic builder: `Step n/m : LABEL …` and its lines). */
export function withoutStep(lines: string[], instruction: string | undefined): string[] {
  if (!instruction) return lines;
  const at = lines.findIndex((l) => /^Step \d+\/\d+ : /.test(l) && l.slice(l.indexOf(' : ') + 3) === instruction);
  if (at < 0) return lines;
  let end = at + 1;
  while (end < lines.length && !/^Step \d+\/\d+ : /.test(lines[end]!)) end++;
  return [...lines.slice(0, at), ...lines.slice(end)];
}

async function build(
  ctx: StepCtx,
  docker: Docker,
  mode: BuildMode,
  plan: BuildPushPlan,
  o: BuildRun,
): Promise<BuildResult> {
  const iidFile = join(ctx.tempDir, `shipline-build-push-${hex(4)}.iid`);
  const metadataFile = o.push ? `${iidFile}.json` : undefined;
  const cmd = buildArgv(
    mode,
    {
      context: plan.context,
      file: o.file,
      target: o.target,
      buildArgs: plan.buildArgs,
      labels: o.labels,
      tags: o.tags,
      pull: plan.pull,
      network: plan.network,
      cacheFrom: o.cacheFrom,
      cacheTo: mode === 'buildx' ? plan.cacheTo : [],
      platforms: plan.platforms,
      iidFile,
      ...(o.push ? { push: true } : {}),
      ...(metadataFile ? { metadataFile } : {}),
    },
    o.flags,
  );
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
        const how = mode === 'buildx' ? 'buildx build' : mode === 'buildkit' ? 'build, BuildKit' : 'build';
        throw new ShiplineError(`${o.title} failed (docker ${how} exit code ${r.code}):\n${tail}`, {
          hint: 'the build log above shows the failing instruction',
        });
      }
    });
    const imageId = existsSync(iidFile) ? readFileSync(iidFile, 'utf8').trim() : '';
    let digest: string | undefined;
    if (metadataFile && existsSync(metadataFile)) {
      digest = (JSON.parse(readFileSync(metadataFile, 'utf8')) as Record<string, string>)['containerimage.digest'];
    }
    return { imageId, cache: cacheStats(withoutStep(lines, o.labelStep), o.labels), digest };
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

/** The inputs that ask for BuildKit (secrets, ssh), by name, for the error when there is none. */
function buildKitInputs(ctx: StepCtx): string[] {
  const i = ctx.inputs;
  return [
    ...(i.secrets?.trim() ? ['secrets'] : []),
    ...(i.secretEnvs.length ? ['secret-envs'] : []),
    ...(i.secretFiles.length ? ['secret-files'] : []),
    ...(i.ssh.length ? ['ssh'] : []),
  ];
}

/** Secret values are masked before anything is logged; a secret-envs variable that is unset is said once. */
function maskSecrets(ctx: StepCtx, plan: BuildPushPlan): void {
  for (const s of plan.secrets) {
    if (s.kind === 'value') ctx.secret(s.value);
    if (s.kind !== 'env') continue;
    const v = ctx.env[s.variable];
    if (v) ctx.secret(v);
    else
      ctx.log.warn(
        `secret-envs: job variable ${s.variable} is not set: the build's secret '${s.id}' is missing (a RUN --mount with required=true fails)`,
      );
  }
  for (const item of plan.ssh) {
    if (item === 'default' && !ctx.env.SSH_AUTH_SOCK)
      throw new InputError(
        'ssh',
        "'default' forwards the ssh agent at $SSH_AUTH_SOCK, which is not set",
        'start an agent first (the ssh-key step, start-agent: true), or give default=<socket or key file>',
      );
  }
}

/**
 * docker's built-in BuildKit (20.10) takes add-host but not shm-size, ulimit or
 * cgroup-parent (it drops them silently), and no user-defined network: refused, naming the input.
 */
function checkBuildKitMode(plan: BuildPushPlan): void {
  const why = "the docker CLI's built-in BuildKit (used for secrets and ssh, as buildx is missing) does not apply it";
  const hint = 'install the buildx plugin, or drop it';
  if (plan.options.shmSize) throw new InputError('shm-size', why, hint);
  if (plan.options.ulimits.length) throw new InputError('ulimit', why, hint);
  if (plan.options.cgroupParent) throw new InputError('cgroup-parent', why, hint);
  if (plan.network && !['host', 'none', 'default'].includes(plan.network))
    throw new InputError(
      'network',
      `BuildKit runs RUN steps only on host, none or default, not '${plan.network}'`,
      hint,
    );
}

/** `--secret` values; a value secret is written to a 0600 file in the step's work dir first. */
function secretFlags(plan: BuildPushPlan, workDir: string): string[] {
  return plan.secrets.map((s, n) => {
    const id = csvField(`id=${s.id}`);
    if (s.kind === 'env') return `${id},${csvField(`env=${s.variable}`)}`;
    const src = s.kind === 'file' ? s.path : join(workDir, `secret-${n}`);
    if (s.kind === 'value') writeFileSync(src, s.value, { mode: 0o600, flag: 'wx' });
    return `${id},${csvField(`src=${src}`)}`;
  });
}

/** `<repository>@<digest>` of the first pushed reference that has a digest, or ''. */
export function imageByDigest(pushed: { ref: string; digest: string }[]): string {
  const first = pushed.find((p) => p.digest);
  return first ? `${repositoryName(parseReference(first.ref))}@${first.digest}` : '';
}

export async function buildPush(ctx: StepCtx): Promise<void> {
  const plan = planBuild(ctx.inputs, ctx.ci, ctx.workspace);
  maskSecrets(ctx, plan);
  const id = `shipline-build-push-${hex(5)}`;
  const temps: Temporaries = { containers: [`${id}-extract`], images: [`${id}:smoke`, `${id}:build`], pulled: [] };
  if (plan.login) temps.configDir = mkdtempSync(join(ctx.tempDir, 'shipline-build-push-config-'));
  temps.workDir = mkdtempSync(join(ctx.tempDir, 'shipline-build-push-work-'));
  const saved = temporaries(ctx);
  saved.set(temps);
  // No engine answered: no container or image of this run can exist, only its files.
  let engine = false;
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
    engine = true;
    const mode = await chooseDockerBuilder(docker, plan.builder, plan.platforms, {
      needsBuildKit: buildKitInputs(ctx),
    });
    if (mode === 'buildkit') checkBuildKitMode(plan);
    const targetName = plan.target ?? plan.stages[plan.stages.length - 1]?.name ?? 'last stage';
    const modeName =
      mode === 'buildx'
        ? 'buildx'
        : mode === 'buildkit'
          ? "docker's built-in BuildKit (DOCKER_BUILDKIT=1; no buildx here)"
          : 'classic (no buildx here)';
    ctx.log.info(`builder: ${modeName}; file ${plan.file}; target ${targetName}`);
    const cacheFrom = await prepareCache(ctx, docker, plan, mode, temps);
    const flags: BuildFlags = {
      ...plan.options,
      secrets: mode === 'docker' ? [] : secretFlags(plan, temps.workDir),
      ssh: mode === 'docker' ? [] : plan.ssh,
    };

    if (plan.smokeTarget) {
      // No labels on the smoke build: its image is never pushed.
      await build(ctx, docker, mode, plan, {
        target: plan.smokeTarget,
        tags: [`${id}:smoke`],
        cacheFrom,
        title: `Smoke test: build stage ${plan.smokeTarget}`,
        file: plan.file,
        labels: {},
        flags,
      }).catch((err: unknown) => {
        throw new ShiplineError(`smoke test failed, nothing was pushed: ${errorMessage(err)}`, {
          hint: `fix stage '${plan.smokeTarget}' of ${plan.file} (or the code it tests)`,
        });
      });
    }

    // The classic builder turns each --label into a step of its own: one LABEL line instead,
    // at the end of the target stage of a copy of the Dockerfile (buildx and BuildKit put
    // --label in the image config, no step).
    let file = plan.file;
    let labels = plan.labels;
    let labelStep: string | undefined;
    if (mode === 'docker' && Object.keys(plan.labels).length) {
      const l = labelledDockerfile(plan.dockerfileText, plan.stages, plan.target, plan.labels);
      if (l.instruction) {
        file = join(temps.workDir, 'Dockerfile');
        writeFileSync(file, l.text, { mode: 0o600 });
        labels = l.rest;
        labelStep = l.instruction;
      }
    }

    // Multi-platform images cannot be loaded into the engine: buildx pushes them itself.
    const direct = mode === 'buildx' && plan.platforms.length > 1;
    if (direct && plan.extract.length)
      throw new ShiplineError('extract needs a single-platform build (the image must be loaded into the engine)');
    // The classic builder reuses the smoke build's layers only when told to (cache-from turns off its local cache);
    // with no-cache, those fresh layers are the only cache it gets.
    const classicSmoke = mode === 'docker' && plan.smokeTarget !== undefined;
    const targetCache =
      classicSmoke && plan.options.noCache
        ? [`${id}:smoke`]
        : classicSmoke && cacheFrom.length
          ? [...cacheFrom, `${id}:smoke`]
          : cacheFrom;
    const result = await build(ctx, docker, mode, plan, {
      target: plan.target,
      tags: direct ? plan.refs : [...plan.refs, `${id}:build`],
      cacheFrom: targetCache,
      title: `Build ${targetName}`,
      push: direct && plan.push,
      file,
      labels,
      ...(labelStep ? { labelStep } : {}),
      flags: classicSmoke && plan.options.noCache ? { ...flags, noCache: false } : flags,
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
    const image = imageByDigest(pushed);

    ctx.setOutput('digest', digest);
    ctx.setOutput('image-id', result.imageId);
    ctx.setOutput('tags', plan.refs.join('\n'));
    ctx.setOutput('image', image);
    ctx.setOutput(
      'metadata',
      JSON.stringify({
        'image-id': result.imageId,
        digest,
        refs: pushed.length ? pushed : plan.refs.map((ref) => ({ ref, digest: '' })),
        builder: mode,
        target: targetName,
        cache: { steps: result.cache.steps, cached: result.cache.cached },
        extracted,
      }),
    );
    ctx.summary(
      [
        `### build-push: ${targetName}`,
        '',
        plan.push ? `Pushed \`${digest}\`${image ? ` (\`${image}\`)` : ''}:` : 'Built (not pushed):',
        '',
        ...plan.refs.map((r) => `- \`${r}\``),
        '',
        `Image id \`${result.imageId}\`; ${result.cache.cached}/${result.cache.steps} steps from cache (${modeName}).`,
        ...(extracted.length ? ['', `Extracted: ${extracted.map((e) => `\`${e}\``).join(', ')}`] : []),
        '',
      ].join('\n'),
    );
  } finally {
    // All gone: post has nothing left to check.
    const left = engine ? temps : { containers: [], images: [], pulled: [], ...filesOf(temps) };
    if (await removeTemporaries(ctx, new Docker({ env: ctx.env, cwd: ctx.workspace }), left)) saved.clear();
  }
}

const filesOf = (t: Temporaries): Pick<Temporaries, 'configDir' | 'workDir'> => ({
  ...(t.configDir ? { configDir: t.configDir } : {}),
  ...(t.workDir ? { workDir: t.workDir } : {}),
});

export async function removeTemporaries(ctx: StepCtx, docker: Docker, temps: Temporaries): Promise<boolean> {
  if (temps.configDir) rmSync(temps.configDir, { recursive: true, force: true });
  if (temps.workDir) rmSync(temps.workDir, { recursive: true, force: true });
  const okC = await docker.rm(temps.containers).catch(() => false);
  // Only our own temporary tags: an image also tagged for the registry keeps those tags.
  const okI = await docker.imageRm([...temps.images, ...temps.pulled]).catch(() => false);
  if (!okC || !okI)
    ctx.log.warn(
      `could not remove every temporary of this step (${[...temps.containers, ...temps.images].join(', ')})`,
    );
  return okC && okI;
}
