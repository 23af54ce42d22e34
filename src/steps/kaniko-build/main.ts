// kaniko-build's work: check everything (plan, builder, every credential source) before
// any builder runs, install the credentials where the builder reads them, build (a smoke
// target first), push, report the digest; the credentials and the work dir are removed
// again here, or by post when main was killed.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ctx, Json } from '../../runtime/define';
import { allRegistries, type DaemonlessBuild, type DaemonlessBuilder } from '../../lib/build/daemonless';
import { kanikoArgs, kanikoConfigDir, kanikoConfigPath, kanikoSmokeArgs } from '../../lib/build/kaniko';
import { budArgs, makeWorkDir, pushArgs, removeWorkDir } from '../../lib/build/buildah';
import {
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
import { dockerConfigPath } from '../../lib/registry/docker-config';
import { isDigest, parseReference, repositoryName } from '../../lib/registry/reference';
import type { Env } from '../../lib/util/env';
import { ofKind, ShiplineError } from '../../lib/util/errors';
import { exec } from '../../lib/util/exec';
import { chooseDaemonlessBuilder } from '../shared/builder';
import { labelledDockerfile } from '../shared/dockerfile';
import type { Inputs } from './index';
import { planKanikoBuild, type KanikoBuildPlan } from './plan';

export type StepCtx = Ctx<Inputs>;

// installAuth's record holds docker config entries read from a JSON file, typed with
// `unknown` extra fields (registry/docker-config.ts AuthEntry), which Json does not admit.
type StoredAuth = InstalledAuth & { [key: string]: Json };

/** The shape of the work dir makeWorkDir creates (mkdtemp's six characters); post removes nothing else. */
export const WORK_DIR_SHAPE = /^shipline-kaniko-build-[A-Za-z0-9]{6}$/;

/** What main leaves for post: the work dir, and how to undo the credentials it installed. */
export const state = (ctx: Pick<StepCtx, 'state'>) => ({
  workDir: ctx.state<string>('workdir'),
  auth: ctx.state<StoredAuth>('auth'),
});

export async function kanikoBuild(ctx: StepCtx): Promise<void> {
  const i = ctx.inputs;
  // 1. Everything that can be checked is checked before any builder runs.
  const plan = planKanikoBuild(i, ctx.ci, ctx.workspace, ctx.env);
  const { build } = plan;
  // The variables the inputs name are inputs too: checked before the job's builder is looked for.
  const fromVariables = variableCredentials(ctx.env, i, plan, (v) => ctx.secret(v));
  const builder = chooseDaemonlessBuilder(i.builder, i.executor, ctx.env);
  for (const name of plan.envBuildArgs)
    if (ctx.env[name] === undefined)
      ctx.log.warn(
        `build-args: job variable ${name} is not set (${builder} passes it ${builder === 'kaniko' ? 'empty' : 'unset'})`,
      );
  const auth = await collectAuth(
    ctx.env,
    i,
    plan,
    builder,
    (v) => ctx.secret(v),
    (m) => ctx.log.warn(m),
    fromVariables,
  );

  ctx.log.info(
    `builder: ${builder}; Dockerfile ${build.dockerfile}${build.target ? ` target ${build.target}` : ''}; ${build.push ? 'push' : 'no push'}: ${build.refs.join(', ') || '(untagged)'}`,
  );
  const saved = state(ctx);
  const workDir = makeWorkDir(ctx.tempDir);
  saved.workDir.set(workDir);
  let installed: InstalledAuth | undefined;
  try {
    if (auth.credentials.length || Object.keys(auth.credHelpers).length) {
      const path =
        builder === 'kaniko'
          ? kanikoConfigPath(kanikoConfigDir(ctx.env, i.kanikoConfigDir))
          : join(workDir, 'auth.json');
      installed = installAuth(path, auth, allRegistries(build));
      saved.auth.set(installed as StoredAuth);
      ctx.log.info(
        `registry credentials for ${auth.credentials.map((c) => `${c.registry} (${c.source})`).join(', ') || 'credential helpers'} in ${path}`,
      );
    }
    if (builder === 'kaniko' && i.network) {
      ctx.log.warn(`network '${i.network}' is for buildah: the kaniko executor runs RUN steps in the job's network`);
    }
    const digest =
      builder === 'kaniko'
        ? await runKaniko(ctx, build, i, workDir)
        : await runBuildah(ctx, forBuildah(ctx, plan, workDir), {
            isolation: i.isolation || ctx.env.BUILDAH_ISOLATION || 'chroot',
            workDir,
            authFile: installed?.path,
            network: i.network,
          });
    ctx.setOutput('digest', digest ?? '');
    ctx.setOutput('tags', build.refs.join('\n'));
    ctx.setOutput('image', digest && build.push && build.refs[0] ? imageByDigest(build.refs[0], digest) : '');
    ctx.setOutput('builder', builder);
    ctx.summary(
      [
        '### Image build (' + builder + ')',
        '',
        ...build.refs.map((r) => `- \`${r}\``),
        '',
        digest ? `digest \`${digest}\`` : '',
        '',
      ].join('\n'),
    );
  } finally {
    if (installed) uninstallAuth(installed);
    removeWorkDir(workDir);
    saved.auth.clear();
    saved.workDir.clear();
  }
}

/** A credentials-variable problem from the library, worded with the input that named the variable (exit 2). */
function namedBy<T>(input: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    const e = ofKind(err, 'not-found', 'invalid');
    const problem = e?.data.problem;
    if (!e || typeof problem !== 'string') throw err;
    let message = `variable ${String(e.data.variable)} (named by input '${input}') ${String(e.data.why)}`;
    let hint = e.hint;
    if (problem === 'not-a-name') message = `input '${input}' ${String(e.data.why)}`;
    if (problem === 'no-registry') {
      message = `input '${input}' is set but no Google registry is known to use the key for`;
      hint = "push to a gcr.io or <region>-docker.pkg.dev image, or list the registries in 'gcp-registries'";
    }
    throw new ShiplineError(message, { kind: 'input', hint, cause: err, data: { ...e.data, input } });
  }
}

/** Reads (and masks) every credential source before anything runs; later sources win per registry. */
export interface VariableCredentials {
  fromVariable: BuilderAuth;
  gcp: RegistryCredential[];
}

/**
 * The credentials the variables named by `auth-config-variable` and `gcp-key-variable`
 * hold, read and masked; an unset or malformed one is an input error naming the input and
 * the variable (exit 2), raised before the builder is even looked for.
 */
export function variableCredentials(
  env: Env,
  i: Pick<Inputs, 'authConfigVariable' | 'gcpKeyVariable' | 'gcpRegistries'>,
  plan: Pick<KanikoBuildPlan, 'build'>,
  secret: (v: string) => void,
): VariableCredentials {
  const variable = i.authConfigVariable;
  const fromVariable: BuilderAuth = variable
    ? namedBy('auth-config-variable', () => dockerConfigFromVariable(env, variable, secret))
    : { credentials: [], credHelpers: {} };
  let gcp: RegistryCredential[] = [];
  const gcpVariable = i.gcpKeyVariable;
  if (gcpVariable) {
    const gcpRegs = i.gcpRegistries.length ? i.gcpRegistries : allRegistries(plan.build).filter(isGoogleRegistry);
    gcp = namedBy('gcp-key-variable', () => gcpKeyCredentials(env, gcpVariable, gcpRegs, secret));
  }
  return { fromVariable, gcp };
}

export async function collectAuth(
  env: Env,
  i: Pick<Inputs, 'authConfigVariable' | 'gcpKeyVariable' | 'gcpRegistries' | 'useDockerConfig' | 'kanikoConfigDir'>,
  plan: Pick<KanikoBuildPlan, 'build' | 'login'>,
  builder: DaemonlessBuilder,
  secret: (v: string) => void,
  warn: (m: string) => void,
  /** The variables' credentials, when main read them already (before choosing the builder). */
  pre?: VariableCredentials,
): Promise<BuilderAuth> {
  const registries = allRegistries(plan.build);
  let existing: RegistryCredential[] = [];
  if (i.useDockerConfig) {
    const builderPath = builder === 'kaniko' ? kanikoConfigPath(kanikoConfigDir(env, i.kanikoConfigDir)) : undefined;
    // buildah with --authfile reads nothing else, so its own login file comes too (it wins, as in buildah).
    const paths = [dockerConfigPath(env), ...(builder === 'buildah' ? [containersAuthPath(env)] : [])].filter(
      (p): p is string => p !== undefined && p !== builderPath,
    );
    for (const p of paths)
      existing = mergeCredentials(existing, await existingConfigCredentials(p, registries, secret, warn));
  }
  const { fromVariable, gcp } = pre ?? variableCredentials(env, i, plan, secret);
  const pair: RegistryCredential[] = plan.login ? [{ ...plan.login, source: "inputs 'username'/'password'" }] : [];
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

const readDigest = (file: string): string | undefined => {
  if (!existsSync(file)) return undefined;
  const d = readFileSync(file, 'utf8').trim();
  return isDigest(d) ? d : undefined;
};

type RunCtx = Pick<StepCtx, 'env' | 'log'>;

async function runKaniko(
  ctx: RunCtx,
  build: DaemonlessBuild,
  i: Pick<Inputs, 'executor' | 'kanikoConfigDir'>,
  workDir: string,
): Promise<string | undefined> {
  const env = { ...ctx.env, DOCKER_CONFIG: kanikoConfigDir(ctx.env, i.kanikoConfigDir) };
  const run = (args: string[], what: string) =>
    ctx.log.group(what, () =>
      exec(i.executor, args, {
        env,
        capture: false,
        onLine: (l) => ctx.log.info(l),
        what,
        hint: 'see the executor output above',
      }),
    );
  if (build.smokeTarget) await run(kanikoSmokeArgs(build), `kaniko smoke build (target ${build.smokeTarget})`);
  const files = {
    digestFile: join(workDir, 'digest'),
    imageNameWithDigestFile: join(workDir, 'image-name-with-digest'),
  };
  await run(kanikoArgs(build, files), build.push ? 'kaniko build and push' : 'kaniko build');
  const digest = readDigest(files.digestFile);
  if (build.push && !digest)
    throw new ShiplineError(`the kaniko executor finished but wrote no digest to ${files.digestFile}`, {
      hint: "check that 'executor' is kaniko (or a fork of it) and supports --digest-file",
    });
  return digest;
}

/** `<repository>@<digest>` of a pushed reference. */
export const imageByDigest = (ref: string, digest: string): string =>
  `${repositoryName(parseReference(ref))}@${digest}`;

/** What buildah builds: the smoke build as planned, the main one with its labels in one LABEL line. */
export interface BuildahBuilds {
  smoke: DaemonlessBuild;
  main: DaemonlessBuild;
}

/**
 * buildah's builds: the global ARG defaults a FROM line uses passed explicitly (buildah
 * 1.28 does not expand them in FROM), and the labels as one LABEL instruction at the end of
 * the built stage in a copy of the Dockerfile in the work dir (buildah makes each --label a
 * step of its own). The smoke build gets no labels.
 */
export function forBuildah(ctx: Pick<StepCtx, 'log'>, plan: KanikoBuildPlan, workDir: string): BuildahBuilds {
  const { build, argDefaults } = plan;
  if (argDefaults.args.length) ctx.log.info(`global ARG defaults passed to buildah: ${argDefaults.args.join(', ')}`);
  if (argDefaults.skipped.length)
    ctx.log.warn(
      `global ARGs used in FROM that buildah may not expand (give them in build-args): ${argDefaults.skipped.join(', ')}`,
    );
  const withArgs = { ...build, buildArgs: [...build.buildArgs, ...argDefaults.args] };
  const l = labelledDockerfile(plan.dockerfileText, plan.stages, build.target, build.labels);
  if (!l.instruction) return { smoke: withArgs, main: withArgs };
  const dockerfile = join(workDir, 'Dockerfile');
  writeFileSync(dockerfile, l.text, { mode: 0o600 });
  return { smoke: withArgs, main: { ...withArgs, dockerfile, labels: l.rest } };
}

async function runBuildah(
  ctx: RunCtx,
  builds: BuildahBuilds,
  o: { isolation: string; workDir: string; authFile: string | undefined; network?: string | undefined },
): Promise<string | undefined> {
  const { isolation, workDir, authFile, network } = o;
  const build = builds.main;
  const env = { ...ctx.env };
  const buildah = (args: string[], what: string) =>
    exec('buildah', args, {
      env,
      capture: false,
      onLine: (l) => ctx.log.info(l),
      what,
      hint: 'see the buildah output above',
    });
  const rmi = async (id: string) => {
    await exec('buildah', ['rmi', '-f', id], { env, allowFailure: true, what: 'buildah rmi' });
  };
  if (build.smokeTarget) {
    const iid = join(workDir, 'smoke.iid');
    try {
      await ctx.log.group(`buildah smoke build (target ${build.smokeTarget})`, () =>
        buildah(
          budArgs(builds.smoke, { isolation, iidFile: iid, authFile, smoke: true, network }),
          'buildah bud (smoke)',
        ),
      );
    } finally {
      if (existsSync(iid)) await rmi(readFileSync(iid, 'utf8').trim());
    }
  }
  const iidFile = join(workDir, 'image.iid');
  await ctx.log.group('buildah build', () =>
    buildah(budArgs(build, { isolation, iidFile, authFile, network }), 'buildah bud'),
  );
  const imageId = readFileSync(iidFile, 'utf8').trim();
  if (!build.push) return undefined;
  let first: string | undefined;
  try {
    await ctx.log.group('buildah push', async () => {
      for (const [n, ref] of build.refs.entries()) {
        const digestFile = join(workDir, `push-${n}.digest`);
        await buildah(pushArgs(imageId, ref, { authFile, digestFile }), `buildah push ${ref}`);
        const d = readDigest(digestFile);
        if (!d) throw new ShiplineError(`buildah push ${ref} wrote no digest`);
        ctx.log.info(`${ref} ${d}`);
        if (first === undefined) first = d;
        else if (d !== first) ctx.log.warn(`${ref} got digest ${d}, not ${first} like ${build.refs[0]}`);
      }
    });
  } finally {
    // The local copy is only a cache; with cache: true it feeds the next --layers build.
    if (!build.cache) await rmi(imageId);
  }
  return first;
}
