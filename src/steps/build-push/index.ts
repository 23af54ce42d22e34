import { defineStep, type GitlabJobHints, type InputSpecs, type InputValues } from '../../runtime/define';
import { BUILD_TAGS_INPUT, TAG_INPUTS } from '../shared/tag-inputs';
import type { buildPush as BuildPush } from './main';
import {
  addHostCheck,
  cacheToCheck,
  cgroupParentCheck,
  credentialCheck,
  refCheck,
  secretEnvCheck,
  secretFileCheck,
  shmSizeCheck,
  sshCheck,
  ulimitCheck,
} from './plan';
import type { cleanup as Cleanup } from './post';
const cleanup: typeof Cleanup = async (ctx) => (require('./post') as typeof import('./post')).cleanup(ctx);
const buildPush: typeof BuildPush = async (ctx) => (require('./main') as typeof import('./main')).buildPush(ctx);

const gitlab: GitlabJobHints = {
  stage: 'build',
  image: 'docker:27-cli',
  needsDocker: true,
  registryCredentials: true,
};

export const inputs = {
  context: { description: 'Build context directory, relative to the workspace.', default: '.' },
  file: { description: 'Dockerfile, relative to the workspace.', defaultDoc: '`<context>/Dockerfile`' },
  target: { description: 'Stage to build (`--target`); empty: the last stage.' },
  'build-args': {
    type: 'list',
    lines: true,
    description:
      'Build arguments, one per line (values may hold commas): `KEY=value`, or `KEY` alone to pass the value of the job variable `KEY` without putting it in argv. Build arguments are recorded in the image history: never pass secrets this way.',
    form: 'KEY=value or KEY lines',
    check: (v: string) => (/^[A-Za-z_][A-Za-z0-9_]*(=|$)/.test(v) ? undefined : `'${v}' is not KEY=value`),
  },
  ...TAG_INPUTS,
  tags: BUILD_TAGS_INPUT,
  refs: {
    type: 'list',
    description:
      'Explicit full references to tag and push (`registry/team/app:tag`), in addition to `images` × tag rules.',
    form: 'host/repository:tag',
    check: refCheck,
  },
  push: {
    type: 'boolean',
    default: true,
    description:
      'Push every reference after the build (and the smoke test) succeeded. `false`: build (and extract) only.',
  },
  pull: { type: 'boolean', default: false, description: 'Always pull newer versions of the base images (`--pull`).' },
  'no-cache': {
    type: 'boolean',
    default: false,
    description:
      'Build without any cache (`--no-cache`; no `cache-from` image is pulled). With `smoke-target` and the classic builder, the target build reuses only the layers the smoke build just made.',
  },
  load: {
    type: 'boolean',
    default: false,
    description:
      "docker/build-push-action's `load`: the image is in the local engine after the build. The classic builder always keeps it there, buildx gets `--load` (build-push loads every single-platform build anyway, to extract from it and push it); an image of several platforms cannot be loaded (exit 2).",
  },
  'add-hosts': {
    type: 'list',
    description:
      'Extra `/etc/hosts` entries for the RUN steps (`--add-host`), `host:ip` each (or `host=ip`; `host-gateway` as the ip).',
    form: 'host:ip items, e.g. registry.internal:10.0.0.5',
    check: addHostCheck,
  },
  'shm-size': {
    description: 'Size of `/dev/shm` for the RUN steps (`--shm-size`, e.g. `2g`). Classic builder and buildx.',
    form: 'a size like 64m or 2g',
    check: shmSizeCheck,
  },
  ulimit: {
    type: 'list',
    lines: true,
    description:
      'Resource limits for the RUN steps (`--ulimit`), `name=soft[:hard]` per line (e.g. `nofile=1024:2048`). Classic builder and buildx.',
    form: 'name=soft[:hard] lines',
    check: ulimitCheck,
  },
  'cgroup-parent': {
    description: 'Parent cgroup of the RUN steps (`--cgroup-parent`). Classic builder and buildx.',
    form: 'a cgroup path such as /ci-builds',
    check: cgroupParentCheck,
  },
  secrets: {
    secret: true,
    description:
      "Build secrets for `RUN --mount=type=secret,id=<id>`, one `id=value` per line (a record in double quotes may hold commas and line breaks: `\"id=…\"`), as docker/build-push-action's `secrets`. Each value goes to a 0600 file in the job's private temp dir, removed when the step ends; never in argv, the log or the image. Needs BuildKit: buildx, or a docker CLI with built-in BuildKit (`DOCKER_BUILDKIT=1 docker build`, docker ≤ 22; Debian's docker.io).",
  },
  'secret-envs': {
    type: 'list',
    description:
      'Build secrets from job variables, `id=VARIABLE` each: the builder reads the variable itself (`--secret id=<id>,env=<VARIABLE>`), so its value is in no argv or file. Needs BuildKit (see `secrets`).',
    form: 'id=VARIABLE items',
    check: secretEnvCheck,
  },
  'secret-files': {
    type: 'list',
    lines: true,
    description:
      'Build secrets from files, `id=path` per line (relative to the workspace, or absolute; `--secret id=<id>,src=<path>`). Needs BuildKit (see `secrets`).',
    form: 'id=path lines',
    check: secretFileCheck,
  },
  ssh: {
    type: 'list',
    lines: true,
    description:
      'SSH agent sockets or keys for `RUN --mount=type=ssh` (`--ssh`), one per line: `default` (the agent at `$SSH_AUTH_SOCK`, e.g. from the ssh-key step), `default=<socket or key>`, `<id>=<path>[,<path>]`. Needs BuildKit (see `secrets`).',
    form: 'default, or id=path lines',
    check: sshCheck,
  },
  network: {
    description:
      'Network for the RUN steps (`--network`): `host`, `none`, or a network name; e.g. `host` where the engine has no default bridge and a RUN step installs packages.',
    regex: '[A-Za-z0-9][A-Za-z0-9_.-]*',
    form: 'host, none, default or a network name',
  },
  'cache-from': {
    type: 'list',
    lines: true,
    description:
      "Images whose layers the build may reuse. Empty: this pipeline's own moving tags (e.g. `MR-<iid>`, a branch slug) then `latest`, per image. `none`: no cache source. The classic builder reuses only local images, so these are pulled first (best effort, missing ones skipped); buildx reads them from the registry (`type=…` lines are passed as they are).",
    form: 'full references with a tag, buildx type=… lines, or none',
    check: refCheck,
  },
  'cache-to': {
    type: 'list',
    lines: true,
    description:
      'buildx cache exports (`type=…` lines). Empty with buildx: `type=inline`, so the pushed image carries its cache. Not supported by the classic builder.',
    form: 'type=… lines',
    check: cacheToCheck,
  },
  platforms: {
    type: 'list',
    description: 'Target platforms (e.g. `linux/amd64,linux/arm64`). More than one needs buildx.',
    form: 'os/arch[/variant]',
    regex: '[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?',
  },
  builder: {
    description: '`auto`: buildx when `docker buildx` answers, else the classic builder; `buildx`; `docker` (classic).',
    default: 'auto',
    options: ['auto', 'buildx', 'docker'],
  },
  'smoke-target': {
    description:
      'A stage built first (e.g. `smoke-test`); if it fails, nothing is built further or pushed. Its temporary image is removed.',
  },
  extract: {
    type: 'list',
    lines: true,
    description:
      'Files to copy out of the built image, one per line `/path/in/image:dest` (dest relative to the workspace), e.g. `/src/deps.lock:deps.lock`. Uses a temporary container that is always removed.',
    form: '/path/in/image:dest lines',
    check: (v: string) => (/^\/[^:]*:.+$/.test(v) ? undefined : `'${v}' is not /path/in/image:dest`),
  },
  username: { description: 'Registry user to log in with (only with `password`).', gitlabDefault: '$CI_REGISTRY_USER' },
  password: {
    secret: true,
    check: credentialCheck,
    form: 'the registry password or token (4 characters or more)',
    description:
      "Registry password/token. Given: the step uses a private copy of the docker config with these credentials, removed when the step ends; the job's own config is never written.",
    gitlabDefault: '$CI_REGISTRY_PASSWORD',
  },
  'login-registry': {
    type: 'list',
    description: 'Registries the credentials are for. Empty: the registries of the pushed references.',
    gitlabDefault: '$CI_REGISTRY',
  },
} as const satisfies InputSpecs;

export type Inputs = InputValues<typeof inputs>;

export default defineStep({
  name: 'build-push',
  description:
    'Build an image once (classic builder or buildx), smoke-test a stage, tag it by MR / sha / branch / release, push it and report the digest',
  inputs,
  // docker/build-push-action's inputs build-push cannot honour, refused rather than dropped.
  unsupported: {
    allow: {
      why: "build-push grants no buildx entitlements (network.host, security.insecure); RUN steps get the host's network with network: host",
    },
    annotations: {
      why: 'build-push writes no OCI annotations (the classic builder cannot; buildx --annotation is not wired)',
    },
    attests: { why: 'build-push makes no attestations (the classic builder cannot)' },
    'build-contexts': { why: 'build-push passes no named contexts (the classic builder has none)' },
    call: { why: 'build-push always builds (no lint/outline/targets calls)' },
    'no-cache-filters': {
      why: 'build-push has no per-stage cache switch (the classic builder has none); use no-cache',
    },
    outputs: { why: 'build-push pushes to the registry (push) or keeps the image local (push: false)' },
    provenance: { why: 'build-push makes no provenance attestation (the classic builder cannot)', accept: ['false'] },
    sbom: { why: 'build-push makes no SBOM attestation (the classic builder cannot)', accept: ['false'] },
    'github-token': { why: 'the build context is the local checkout (no Git context URLs)' },
  },
  outputs: {
    digest: {
      description: 'Manifest digest of the pushed image (`sha256:…`), as the registry reports it; empty without push.',
    },
    'image-id': { description: 'Local image id (`sha256:…`; the config digest).', aliases: ['imageid'] },
    tags: { description: 'Full references built (and pushed), one per line.' },
    image: {
      description:
        'The first pushed reference by digest, `<repository>@<digest>` (e.g. `registry.example.com/team/app@sha256:…`), for later jobs to run exactly what was built; empty without push.',
    },
    metadata: {
      description:
        'JSON: `{"image-id", "digest", "refs": [{"ref", "digest"}], "builder", "target", "cache": {"steps", "cached"}, "extracted": [...]}`.',
    },
  },
  gitlab,
  main: buildPush,
  post: cleanup,
});
