// Turns kaniko-build's inputs and the CI context into one checked plan before any builder
// runs: the Dockerfile and its stages, the references from the tag rules, the registries
// involved, and the username/password pair. Every problem is an input error (exit 2).
import type { CiContext } from '../../lib/ci/context';
import { baseImages, registriesOf, type DaemonlessBuild } from '../../lib/build/daemonless';
import type { Stage } from '../../lib/docker/dockerfile';
import { normaliseRepository } from '../../lib/registry/reference';
import type { Env } from '../../lib/util/env';
import { ShiplineError } from '../../lib/util/errors';
import { InputError } from '../../runtime/inputs';
import { globalArgDefaults, planDockerfile, withFormHint, type GlobalArgDefaults } from '../shared/dockerfile';
import { planTags, TAG_INPUTS } from '../shared/tag-inputs';
import type { Inputs } from './index';

export interface KanikoBuildPlan {
  build: DaemonlessBuild;
  /** The `username`/`password` inputs, for `registry` (default: the first image's). */
  login: { registry: string; username: string; password: string } | undefined;
  /** The Dockerfile's stages and text (buildah: one LABEL line for the built stage). */
  stages: Stage[];
  dockerfileText: string;
  /** Defaults of the global ARGs a FROM line uses that `build-args` does not give (for buildah). */
  argDefaults: GlobalArgDefaults;
  /** Bare `NAME` build arguments, whose values the builder reads from the job's environment. */
  envBuildArgs: string[];
}

/** Shorter credentials cannot be masked in a log (each character would be); they are refused. */
export const MIN_CREDENTIAL = 4;

/** `check` of the password input (the value is never shown). */
export const credentialCheck = (v: string): string | undefined =>
  v.trim().length > 0 && v.trim().length < MIN_CREDENTIAL
    ? `is shorter than ${MIN_CREDENTIAL} characters: a value that short cannot be masked in the log`
    : undefined;

/** One of a pair given without the other: worded as before, exit 2. */
function halfPair(given: 'username' | 'password'): ShiplineError {
  const missing = given === 'username' ? 'password' : 'username';
  return new ShiplineError(`input '${missing}' is empty while '${given}' is set`, {
    kind: 'input',
    hint: 'give both (e.g. $CI_REGISTRY_USER and $CI_REGISTRY_PASSWORD), or neither',
    data: { input: missing },
  });
}

export function planKanikoBuild(inputs: Inputs, ci: CiContext, workspace: string, env: Env = {}): KanikoBuildPlan {
  const { context, file, stages, text } = planDockerfile(workspace, inputs);
  const argDefaults = globalArgDefaults(text, inputs.buildArgs, env);
  const envBuildArgs = inputs.buildArgs.filter((a) => !a.includes('='));
  // The FROM lines as the builder resolves them: given values, job variables, then the defaults.
  const resolved = [
    ...inputs.buildArgs.map((a) => (a.includes('=') ? a : `${a}=${env[a] ?? ''}`)),
    ...argDefaults.args,
  ];
  const tags = withFormHint(() => planTags(ci, inputs), TAG_INPUTS);
  if (inputs.push && tags.refs.length === 0) {
    throw tags.images.length
      ? new InputError(
          'tags',
          `no tag rule applies to this pipeline (${ci.provider}, event ${ci.event})`,
          'add a rule that applies, e.g. type=sha or type=raw,value=…',
        )
      : new InputError(
          'images',
          'nothing to push: no images given',
          "set 'images' (e.g. registry.example.com/team/app), or push: false",
        );
  }
  const cacheRepo = inputs.cacheRepo ? normaliseRepository(inputs.cacheRepo) : undefined;
  const build: DaemonlessBuild = {
    context,
    dockerfile: file,
    target: inputs.target,
    smokeTarget: inputs.smokeTarget,
    buildArgs: inputs.buildArgs,
    refs: tags.refs,
    labels: tags.labels,
    cache: inputs.cache,
    cacheRepo,
    push: inputs.push,
    pullRegistries: registriesOf(baseImages(stages, resolved)),
    pushRegistries: registriesOf(cacheRepo ? [...tags.refs, cacheRepo] : tags.refs),
  };

  let login: KanikoBuildPlan['login'];
  if (inputs.username || inputs.password) {
    if (!inputs.password) throw halfPair('username');
    if (!inputs.username) throw halfPair('password');
    const short = credentialCheck(inputs.password);
    if (short) throw new InputError('password', short, 'give the registry password or token itself');
    const registry = inputs.registry || build.pushRegistries[0];
    if (!registry) {
      throw new ShiplineError("input 'registry' is empty and there is no image to take it from", {
        kind: 'input',
        hint: "set 'registry' (host[:port])",
        data: { input: 'registry' },
      });
    }
    login = { registry, username: inputs.username, password: inputs.password };
  }
  return { build, login, stages, dockerfileText: text, argDefaults, envBuildArgs };
}
