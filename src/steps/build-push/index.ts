import { defineStep, type GitlabJobHints, type InputSpecs, type InputValues } from '../../runtime/define';
import { BUILD_TAGS_INPUT, TAG_INPUTS } from '../shared/tag-inputs';
import { buildPush } from './main';
import { cacheToCheck, credentialCheck, refCheck } from './plan';
import { cleanup } from './post';

const gitlab: GitlabJobHints = {
  stage: 'build',
  image: 'docker:27-cli',
  needsDocker: true,
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
  // docker/build-push-action's inputs build-push does not honour yet, refused rather than dropped.
  unsupported: {
    'add-hosts': { why: 'not supported yet by build-push' },
    allow: { why: 'not supported yet by build-push (no buildx entitlements)' },
    annotations: { why: 'not supported yet by build-push' },
    attests: { why: 'not supported yet by build-push (no attestations)' },
    'build-contexts': { why: 'not supported yet by build-push' },
    call: { why: 'not supported yet by build-push' },
    'cgroup-parent': { why: 'not supported yet by build-push' },
    load: { why: 'the classic builder keeps every image in the local engine; with buildx the image is pushed' },
    'no-cache': { why: 'not supported yet by build-push (use cache-from: none)', accept: ['false'] },
    'no-cache-filters': { why: 'not supported yet by build-push' },
    outputs: { why: 'build-push pushes to the registry (push) or keeps the image local (push: false)' },
    provenance: { why: 'not supported yet by build-push (no attestations)', accept: ['false'] },
    sbom: { why: 'not supported yet by build-push (no attestations)', accept: ['false'] },
    secrets: { why: 'not supported yet by build-push' },
    'secret-envs': { why: 'not supported yet by build-push' },
    'secret-files': { why: 'not supported yet by build-push' },
    'shm-size': { why: 'not supported yet by build-push' },
    ssh: { why: 'not supported yet by build-push' },
    ulimit: { why: 'not supported yet by build-push' },
    'github-token': { why: 'the build context is the local checkout (no Git context URLs)' },
  },
  outputs: {
    digest: {
      description: 'Manifest digest of the pushed image (`sha256:…`), as the registry reports it; empty without push.',
    },
    'image-id': { description: 'Local image id (`sha256:…`; the config digest).', aliases: ['imageid'] },
    tags: { description: 'Full references built (and pushed), one per line.' },
    metadata: {
      description:
        'JSON: `{"image-id", "digest", "refs": [{"ref", "digest"}], "builder", "target", "cache": {"steps", "cached"}, "extracted": [...]}`.',
    },
  },
  gitlab,
  main: buildPush,
  post: cleanup,
});
