import { defineStep, type InputSpecs, type InputValues } from '../../runtime/define';
import { normaliseRepository, ReferenceError } from '../../lib/registry/reference';
import { TAG_INPUTS } from '../shared/tag-inputs';
import type { kanikoBuild as KanikoBuild } from './main';
import { credentialCheck } from './plan';
import type { cleanup as Cleanup } from './post';
const cleanup: typeof Cleanup = async (ctx) => (require('./post') as typeof import('./post')).cleanup(ctx);
const kanikoBuild: typeof KanikoBuild = async (ctx) => (require('./main') as typeof import('./main')).kanikoBuild(ctx);

// No regex here: the runner would echo a bad value, and a pasted secret must not be echoed.
const VAR = { form: 'a variable NAME such as HARBOR_ROBOT_CREDS_JSON (not its value)' } as const;

export const inputs = {
  builder: {
    description:
      '`auto`: the kaniko executor at `executor` when present, else buildah on PATH; or force `kaniko` / `buildah`.',
    default: 'auto',
    options: ['auto', 'kaniko', 'buildah'],
  },
  executor: {
    description: 'Path of the kaniko executor.',
    default: '/kaniko/executor',
    regex: '/.*',
    form: 'an absolute path',
  },
  context: { description: 'Build context directory, relative to the workspace.', default: '.' },
  file: { description: 'Dockerfile path, relative to the workspace.', defaultDoc: '`<context>/Dockerfile`' },
  target: { description: 'Stage to build (checked against the Dockerfile before anything runs).' },
  'build-args': {
    type: 'list',
    lines: true,
    description:
      "Build arguments, one per line (values may hold commas): `NAME=value`, or `NAME` alone to pass the value of the job variable `NAME` without putting it in argv (both builders read it from their environment), as build-push's. With buildah, the defaults of the Dockerfile's global ARGs (before the first FROM) that a FROM line uses are passed explicitly when not given here (buildah 1.28 does not expand them in FROM). Build arguments are recorded in the image history: never pass secrets this way.",
    regex: '[A-Za-z_][A-Za-z0-9_]*(=[\\s\\S]*)?',
    form: 'NAME=value or NAME lines',
  },
  ...TAG_INPUTS,
  cache: {
    type: 'boolean',
    description:
      'Layer cache: kaniko `--cache=true` (cache repository inferred from the destination unless `cache-repo`); buildah `--layers` (+ `--cache-from/--cache-to cache-repo`).',
    default: false,
  },
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
  'auth-config-variable': {
    description:
      'NAME of a CI variable holding a docker config JSON, raw or base64 (e.g. `HARBOR_ROBOT_CREDS_JSON`). Unset or malformed fails before the build.',
    ...VAR,
  },
  registry: {
    description: "Registry for `username`/`password` (default: the first image's registry).",
    form: 'host[:port]',
    regex: '[A-Za-z0-9.:\\[\\]-]+',
  },
  username: { description: 'User name for `registry` (e.g. `$CI_REGISTRY_USER` on GitLab).' },
  password: {
    description: 'Password or token for `registry` (e.g. `$CI_REGISTRY_PASSWORD`).',
    secret: true,
    check: credentialCheck,
    form: 'the registry password or token (4 characters or more)',
  },
  'gcp-key-variable': {
    description:
      'NAME of a CI variable holding a Google Cloud service-account key JSON (raw or base64, e.g. `GCP_SERVICE_ACCOUNT_KEY`): `_json_key` login to Artifact Registry / GCR.',
    ...VAR,
  },
  'gcp-registries': {
    type: 'list',
    description: 'Registries the GCP key is for.',
    defaultDoc: 'the `gcr.io` / `*-docker.pkg.dev` hosts among the images',
  },
  'use-docker-config': {
    type: 'boolean',
    description:
      "Also use credentials for the registries involved from the job's docker config (`$DOCKER_CONFIG` or `~/.docker`: what `ecr-login` or `docker login` left; for buildah also `$REGISTRY_AUTH_FILE` / `$XDG_RUNTIME_DIR/containers/auth.json`).",
    default: true,
  },
  'kaniko-config-dir': {
    description: 'Directory whose `config.json` the executor reads.',
    defaultDoc: "`$DOCKER_CONFIG` if it is a directory, else `/kaniko/.docker` (kaniko's own rule)",
    regex: '/.*',
    form: 'an absolute path',
  },
  network: {
    description:
      "buildah: network for the RUN steps (`--network`: `host`, `none`, or a network name). The kaniko executor runs RUN steps in the job's own network and ignores it (with a warning).",
    regex: '[A-Za-z0-9][A-Za-z0-9_.-]*',
    form: 'host, none or a network name',
  },
  isolation: {
    description: 'buildah `--isolation`: `chroot`, `oci` or `rootless`.',
    defaultDoc: '`$BUILDAH_ISOLATION`, else `chroot`',
    regex: 'chroot|oci|rootless',
    form: 'chroot, oci or rootless',
  },
} as const satisfies InputSpecs;

export type Inputs = InputValues<typeof inputs>;

export default defineStep({
  name: 'kaniko-build',
  description:
    'Build and push an image without a Docker daemon (kaniko executor or buildah), with registry credentials from CI variables',
  inputs,
  outputs: {
    digest: {
      description:
        'Digest of the pushed manifest (kaniko: `--digest-file`; buildah: `--digestfile`). Empty for a buildah build with `push: false`.',
    },
    tags: { description: 'Full image references, one per line.' },
    image: {
      description:
        'The first pushed reference by digest, `<repository>@<digest>` (e.g. `harbor.example.com/team/app@sha256:…`), for later jobs to run exactly what was built; empty without push.',
    },
    builder: { description: 'The builder that ran: `kaniko` or `buildah`.' },
  },
  gitlab: {
    stage: 'build',
    registryCredentials: true,
    extraInputs: {
      image: {
        description: 'Job image: needs node >= 20 and git, and buildah (or the kaniko executor at input `executor`).',
        default: 'node:24',
      },
    },
  },
  main: kanikoBuild,
  // Runs after the job even when main was killed: undo the credentials, drop the work dir.
  post: cleanup,
});
