import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { defineStep, type Ctx } from '../../runtime/define';
import { TAG_INPUTS, planTags } from '../../lib/ci/tag-inputs';
import { ShiplineError } from '../../lib/util/errors';
import { exec } from '../../lib/util/exec';
import { normaliseRepository, ReferenceError } from '../../lib/registry/reference';
import { dockerConfigPath } from '../../lib/registry/docker-config';
import { allRegistries, makePlan, type BuildPlan } from '../../lib/build/plan';
import { kanikoArgs, kanikoConfigDir, kanikoConfigPath, kanikoSmokeArgs } from '../../lib/build/kaniko';
import { budArgs, makeWorkDir, pushArgs, removeWorkDir } from '../../lib/build/buildah';
import {
  CredentialError,
  dockerConfigFromVariable,
  existingConfigCredentials,
  gcpKeyCredentials,
  installAuth,
  isGoogleRegistry,
  mergeCredentials,
  uninstallAuth,
  type BuilderAuth,
  type InstalledAuth,
  type RegistryCredential,
} from '../../lib/build/registry-auth';

type Env = Readonly<Record<string, string | undefined>>;
// No regex here: the runner would echo a bad value, and a pasted secret must not be echoed.
const VAR = { form: 'a variable NAME such as HARBOR_ROBOT_CREDS_JSON (not its value)' } as const;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function onPath(env: Env, cmd: string): boolean {
  return (env.PATH ?? '').split(delimiter).some((d) => d !== '' && isExecutable(join(d, cmd)));
}

/** auto: the kaniko executor when it is there (a kaniko image), else buildah. */
export function chooseBuilder(wanted: string, executor: string, env: Env): 'kaniko' | 'buildah' {
  const hasKaniko = isExecutable(executor);
  if (wanted === 'kaniko' || (wanted === 'auto' && hasKaniko)) {
    if (!hasKaniko) throw new ShiplineError(`the kaniko executor ${executor} is missing or not executable`, { hint: "run the job in a kaniko image (or one that copies /kaniko from it), set 'executor', or use builder: buildah" });
    return 'kaniko';
  }
  if (!onPath(env, 'buildah')) {
    throw new ShiplineError(wanted === 'buildah' ? "'buildah' was not found on PATH" : `no daemonless builder found: ${executor} is missing and 'buildah' is not on PATH`, {
      hint: 'run the job in an image with buildah (e.g. quay.io/buildah/stable plus node) or kaniko (/kaniko/executor)',
    });
  }
  return 'buildah';
}

const readDigest = (file: string): string | undefined => {
  if (!existsSync(file)) return undefined;
  const d = readFileSync(file, 'utf8').trim();
  return DIGEST_RE.test(d) ? d : undefined;
};

export default defineStep({
  name: 'kaniko-build',
  description: 'Build and push an image without a Docker daemon (kaniko executor or buildah), with registry credentials from CI variables',
  inputs: {
    builder: { description: '`auto`: the kaniko executor at `executor` when present, else buildah on PATH; or force `kaniko` / `buildah`.', default: 'auto', options: ['auto', 'kaniko', 'buildah'] },
    executor: { description: 'Path of the kaniko executor.', default: '/kaniko/executor', regex: '/.*', form: 'an absolute path' },
    context: { description: 'Build context directory, relative to the workspace.', default: '.' },
    file: { description: 'Dockerfile path, relative to the workspace.', defaultDoc: '`<context>/Dockerfile`' },
    target: { description: 'Stage to build (checked against the Dockerfile before anything runs).' },
    'build-args': { type: 'list', lines: true, description: 'Build arguments, `NAME=value` per line.', regex: '[A-Za-z_][A-Za-z0-9_]*=[\\s\\S]*', form: 'NAME=value lines' },
    ...TAG_INPUTS,
    cache: { type: 'boolean', description: 'Layer cache: kaniko `--cache=true` (cache repository inferred from the destination unless `cache-repo`); buildah `--layers` (+ `--cache-from/--cache-to cache-repo`).', default: false },
    'cache-repo': {
      description: 'Repository for cached layers, e.g. `registry.example.com/team/app/cache`.',
      form: 'host[:port]/path without a tag',
      check: (v: string) => {
        try {
          normaliseRepository(v);
          return undefined;
        } catch (err) {
          if (err instanceof ReferenceError) return err.message;
          throw err;
        }
      },
    },
    push: { type: 'boolean', description: 'Push the tags (false: build only; kaniko `--no-push`).', default: true },
    'smoke-target': { description: 'Stage built first, never pushed; its failure stops the build before any push.' },
    'auth-config-variable': { description: 'NAME of a CI variable holding a docker config JSON, raw or base64 (e.g. `HARBOR_ROBOT_CREDS_JSON`). Unset or malformed fails before the build.', ...VAR },
    registry: { description: 'Registry for `username`/`password` (default: the first image\'s registry).', form: 'host[:port]', regex: '[A-Za-z0-9.:\\[\\]-]+' },
    username: { description: 'User name for `registry` (e.g. `$CI_REGISTRY_USER` on GitLab).' },
    password: { description: 'Password or token for `registry` (e.g. `$CI_REGISTRY_PASSWORD`).', secret: true },
    'gcp-key-variable': { description: 'NAME of a CI variable holding a Google Cloud service-account key JSON (raw or base64, e.g. `GCP_SERVICE_ACCOUNT_KEY`): `_json_key` login to Artifact Registry / GCR.', ...VAR },
    'gcp-registries': { type: 'list', description: 'Registries the GCP key is for.', defaultDoc: 'the `gcr.io` / `*-docker.pkg.dev` hosts among the images' },
    'use-docker-config': { type: 'boolean', description: 'Also use credentials for the registries involved from the job\'s docker config (`$DOCKER_CONFIG` or `~/.docker`: what `ecr-login` or `docker login` left; for buildah also `$REGISTRY_AUTH_FILE` / `$XDG_RUNTIME_DIR/containers/auth.json`).', default: true },
    'kaniko-config-dir': { description: 'Directory whose `config.json` the executor reads.', defaultDoc: '`$DOCKER_CONFIG` if it is a directory, else `/kaniko/.docker` (kaniko\'s own rule)', regex: '/.*', form: 'an absolute path' },
    isolation: { description: 'buildah `--isolation`: `chroot`, `oci` or `rootless`.', defaultDoc: '`$BUILDAH_ISOLATION`, else `chroot`', regex: 'chroot|oci|rootless', form: 'chroot, oci or rootless' },
  },
  outputs: {
    digest: { description: 'Digest of the pushed manifest (kaniko: `--digest-file`; buildah: `--digestfile`). Empty for a buildah build with `push: false`.' },
    tags: { description: 'Full image references, one per line.' },
    builder: { description: 'The builder that ran: `kaniko` or `buildah`.' },
  },
  gitlab: {
    stage: 'build',
    extraInputs: {
      image: { description: 'Job image: needs node >= 20 and git, and buildah (or the kaniko executor at input `executor`).', default: 'node:24' },
    },
  },
  async main(ctx) {
    const i = ctx.inputs;
    const secret = (v: string) => ctx.secret(v);

    // 1. Everything that can be checked is checked before any builder runs.
    const tagPlan = planTags(ctx.ci, i);
    const plan: BuildPlan = makePlan({
      workspace: ctx.workspace,
      context: i.context,
      file: i.file,
      target: i.target,
      smokeTarget: i.smokeTarget,
      buildArgs: i.buildArgs,
      refs: tagPlan.refs,
      labels: tagPlan.labels,
      cache: i.cache,
      cacheRepo: i.cacheRepo ? normaliseRepository(i.cacheRepo) : undefined,
      push: i.push,
    });
    if (plan.push && plan.refs.length === 0) {
      throw new ShiplineError(tagPlan.images.length ? `no tag rule applies to this pipeline (${ctx.ci.provider}, event ${ctx.ci.event})` : 'nothing to push: no images given', {
        exitCode: 2,
        hint: tagPlan.images.length ? 'add a rule that applies, e.g. type=sha or type=raw,value=…' : "set 'images' (e.g. registry.example.com/team/app), or push: false",
      });
    }
    const builder = chooseBuilder(i.builder, i.executor, ctx.env);
    const auth = await collectAuth(ctx.env, i, plan, builder, secret, (m) => ctx.log.warn(m));

    ctx.log.info(`builder: ${builder}; Dockerfile ${plan.dockerfile}${plan.target ? ` target ${plan.target}` : ''}; ${plan.push ? 'push' : 'no push'}: ${plan.refs.join(', ') || '(untagged)'}`);
    const workDir = makeWorkDir(ctx.tempDir);
    ctx.saveState('workdir', workDir);
    let installed: InstalledAuth | undefined;
    try {
      if (auth.credentials.length || Object.keys(auth.credHelpers).length) {
        const path = builder === 'kaniko' ? kanikoConfigPath(kanikoConfigDir(ctx.env, i.kanikoConfigDir)) : join(workDir, 'auth.json');
        installed = installAuth(path, auth, allRegistries(plan));
        ctx.saveState('auth', JSON.stringify(installed));
        ctx.log.info(`registry credentials for ${auth.credentials.map((c) => `${c.registry} (${c.source})`).join(', ') || 'credential helpers'} in ${path}`);
      }
      const digest = builder === 'kaniko' ? await runKaniko(ctx, plan, i, workDir) : await runBuildah(ctx, plan, i.isolation || ctx.env.BUILDAH_ISOLATION || 'chroot', workDir, installed?.path);
      ctx.setOutput('digest', digest ?? '');
      ctx.setOutput('tags', plan.refs.join('\n'));
      ctx.setOutput('builder', builder);
      ctx.summary(['### Image build (' + builder + ')', '', ...plan.refs.map((r) => `- \`${r}\``), '', digest ? `digest \`${digest}\`` : '', ''].join('\n'));
    } finally {
      if (installed) uninstallAuth(installed);
      removeWorkDir(workDir);
      ctx.saveState('auth', '');
      ctx.saveState('workdir', '');
    }
  },
  // Runs after the job even when main was killed: undo the credentials, drop the work dir.
  async post(ctx) {
    const saved = ctx.getState('auth');
    if (saved) {
      const rec = JSON.parse(saved) as InstalledAuth;
      if (uninstallAuth(rec)) ctx.log.info(`removed the registry credentials shipline added to ${rec.path}`);
      ctx.saveState('auth', '');
    }
    const dir = ctx.getState('workdir');
    if (dir) {
      removeWorkDir(dir);
      ctx.saveState('workdir', '');
    }
  },
});

interface AuthInputs {
  authConfigVariable: string | undefined;
  registry: string | undefined;
  username: string | undefined;
  password: string | undefined;
  gcpKeyVariable: string | undefined;
  gcpRegistries: string[];
  useDockerConfig: boolean;
  kanikoConfigDir: string | undefined;
}

/** Reads (and masks) every credential source before anything runs; later sources win per registry. */
export async function collectAuth(
  env: Env,
  i: AuthInputs,
  plan: BuildPlan,
  builder: 'kaniko' | 'buildah',
  secret: (v: string) => void,
  warn: (m: string) => void,
): Promise<BuilderAuth> {
  const registries = allRegistries(plan);
  let existing: RegistryCredential[] = [];
  if (i.useDockerConfig) {
    const builderPath = builder === 'kaniko' ? kanikoConfigPath(kanikoConfigDir(env, i.kanikoConfigDir)) : undefined;
    // buildah with --authfile reads nothing else, so its own login file comes too (it wins, as in buildah).
    const paths = [dockerConfigPath(env), ...(builder === 'buildah' ? [containersAuthPath(env)] : [])].filter((p): p is string => p !== undefined && p !== builderPath);
    for (const p of paths) existing = mergeCredentials(existing, await existingConfigCredentials(p, registries, secret, warn));
  }
  const fromVariable: BuilderAuth = i.authConfigVariable ? dockerConfigFromVariable(env, i.authConfigVariable, 'auth-config-variable', secret) : { credentials: [], credHelpers: {} };
  let gcp: RegistryCredential[] = [];
  if (i.gcpKeyVariable) {
    const gcpRegs = i.gcpRegistries.length ? i.gcpRegistries : registries.filter(isGoogleRegistry);
    gcp = gcpKeyCredentials(env, i.gcpKeyVariable, 'gcp-key-variable', gcpRegs, secret);
  }
  const pair: RegistryCredential[] = [];
  if (i.username || i.password) {
    if (!i.username || !i.password) {
      throw new CredentialError(`input '${i.username ? 'password' : 'username'}' is empty while '${i.username ? 'username' : 'password'}' is set`, 'give both (e.g. $CI_REGISTRY_USER and $CI_REGISTRY_PASSWORD), or neither');
    }
    const registry = i.registry || plan.pushRegistries[0];
    if (!registry) throw new CredentialError("input 'registry' is empty and there is no image to take it from", "set 'registry' (host[:port])");
    pair.push({ registry, username: i.username, password: i.password, source: "inputs 'username'/'password'" });
  }
  const credentials = mergeCredentials(existing, fromVariable.credentials, gcp, pair);
  // The form the config file holds them in, too.
  for (const c of credentials) secret(Buffer.from(`${c.username}:${c.password}`).toString('base64'));
  return { credentials, credHelpers: fromVariable.credHelpers };
}

/** Where `buildah login` / `podman login` keep credentials: REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json. */
export function containersAuthPath(env: Env): string | undefined {
  if (env.REGISTRY_AUTH_FILE) return env.REGISTRY_AUTH_FILE;
  return env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json') : undefined;
}

type StepCtx = Pick<Ctx<unknown>, 'env' | 'log'>;

async function runKaniko(ctx: StepCtx, plan: BuildPlan, i: { executor: string; kanikoConfigDir: string | undefined }, workDir: string): Promise<string | undefined> {
  const env = { ...ctx.env, DOCKER_CONFIG: kanikoConfigDir(ctx.env, i.kanikoConfigDir) };
  const run = (args: string[], what: string) =>
    ctx.log.group(what, () => exec(i.executor, args, { env, capture: false, onLine: (l) => ctx.log.info(l), what, hint: 'see the executor output above' }));
  if (plan.smokeTarget) await run(kanikoSmokeArgs(plan), `kaniko smoke build (target ${plan.smokeTarget})`);
  const files = { digestFile: join(workDir, 'digest'), imageNameWithDigestFile: join(workDir, 'image-name-with-digest') };
  await run(kanikoArgs(plan, files), plan.push ? 'kaniko build and push' : 'kaniko build');
  const digest = readDigest(files.digestFile);
  if (plan.push && !digest) throw new ShiplineError(`the kaniko executor finished but wrote no digest to ${files.digestFile}`, { hint: "check that 'executor' is kaniko (or a fork of it) and supports --digest-file" });
  return digest;
}

async function runBuildah(ctx: StepCtx, plan: BuildPlan, isolation: string, workDir: string, authFile: string | undefined): Promise<string | undefined> {
  const env = { ...ctx.env };
  const buildah = (args: string[], what: string) => exec('buildah', args, { env, capture: false, onLine: (l) => ctx.log.info(l), what, hint: 'see the buildah output above' });
  const rmi = async (id: string) => {
    await exec('buildah', ['rmi', '-f', id], { env, allowFailure: true, what: 'buildah rmi' });
  };
  if (plan.smokeTarget) {
    const iid = join(workDir, 'smoke.iid');
    try {
      await ctx.log.group(`buildah smoke build (target ${plan.smokeTarget})`, () => buildah(budArgs(plan, { isolation, iidFile: iid, authFile, smoke: true }), 'buildah bud (smoke)'));
    } finally {
      if (existsSync(iid)) await rmi(readFileSync(iid, 'utf8').trim());
    }
  }
  const iidFile = join(workDir, 'image.iid');
  await ctx.log.group('buildah build', () => buildah(budArgs(plan, { isolation, iidFile, authFile }), 'buildah bud'));
  const imageId = readFileSync(iidFile, 'utf8').trim();
  if (!plan.push) return undefined;
  let first: string | undefined;
  try {
    await ctx.log.group('buildah push', async () => {
      for (const [n, ref] of plan.refs.entries()) {
        const digestFile = join(workDir, `push-${n}.digest`);
        await buildah(pushArgs(imageId, ref, { authFile, digestFile }), `buildah push ${ref}`);
        const d = readDigest(digestFile);
        if (!d) throw new ShiplineError(`buildah push ${ref} wrote no digest`);
        ctx.log.info(`${ref} ${d}`);
        if (first === undefined) first = d;
        else if (d !== first) ctx.log.warn(`${ref} got digest ${d}, not ${first} like ${plan.refs[0]}`);
      }
    });
  } finally {
    // The local copy is only a cache; with cache: true it feeds the next --layers build.
    if (!plan.cache) await rmi(imageId);
  }
  return first;
}
