import { defineStep, type InputSpecs, type InputValues } from '../../runtime/define';
import type { main as Main } from './main';
import type { post as Post } from './post';
const post: typeof Post = async (ctx) => (require('./post') as typeof import('./post')).post(ctx);
const main: typeof Main = async (ctx) => (require('./main') as typeof import('./main')).main(ctx);

export const inputs = {
  registry: {
    description:
      'Registry host to log in to (`host[:port]`; a scheme or path, as in `https://index.docker.io/v1/`, is dropped). docker/login-action’s `registry`.',
    defaultDoc: '`docker.io`; `$CI_REGISTRY` when set (GitLab)',
  },
  username: {
    description:
      'User name for `registry`. Default for `ghcr.io` on GitHub: `GITHUB_ACTOR`; for `$CI_REGISTRY` on GitLab: `CI_REGISTRY_USER`, else `gitlab-ci-token`.',
  },
  password: {
    description:
      'Password or access token for `registry` (at least 4 characters, so it can be masked). Default for `ghcr.io` on GitHub: `github-token`; for `$CI_REGISTRY` on GitLab: `CI_REGISTRY_PASSWORD`, else `CI_JOB_TOKEN`.',
    secret: true,
  },
  registries: {
    type: 'list',
    lines: true,
    description:
      'More registries, one per line: `<host> <USERNAME_VARIABLE> <PASSWORD_VARIABLE>`, naming job variables (never the values), or a bare `<host>` for `ghcr.io` on GitHub and `$CI_REGISTRY` on GitLab.',
    form: 'lines `<host> <USERNAME_VARIABLE> <PASSWORD_VARIABLE>` (or a bare `ghcr.io` / GitLab registry host)',
    check: (line) => (line.split(/\s+/).length > 3 ? 'has more than three fields' : undefined),
  },
  'registry-auth': {
    description:
      'docker/login-action’s `registry-auth`: a YAML (or JSON) list of `registry` / `username` / `password` objects. Not with `registry`, `username`, `password`, `ecr` or `scope`.',
    secret: true,
  },
  'auth-config-variable': {
    description:
      'NAME of a CI variable holding a docker config JSON, raw or base64 (e.g. `HARBOR_ROBOT_CREDS_JSON`, the shape kaniko-build reads): each `auths` entry is logged in to. Not with `registry-auth`.',
    regex: '[A-Za-z_][A-Za-z0-9_]*',
    form: 'a variable name (letters, digits, _), not its value',
  },
  ecr: {
    description:
      '`auto`: an ECR host (`<account>.dkr.ecr.<region>.amazonaws.com`, `public.ecr.aws`) is refused unless the user name is `AWS` (a token from `aws ecr get-login-password`), pointing at the ecr-login step; `false`: log in to it like any registry; `true`: refused (use ecr-login).',
    default: 'auto',
    options: ['auto', 'true', 'false'],
  },
  scope: {
    description:
      'docker/login-action’s buildx-only `scope`: not supported (shipline writes the docker config every tool reads); giving it is an error.',
  },
  logout: {
    type: 'boolean',
    description:
      'When the job ends (post / after_script / `--post`), remove the entries this step added and the private docker config directory it created.',
    default: true,
  },
  'github-token': {
    description: 'Password for `ghcr.io` on GitHub when none is given.',
    secret: true,
    githubDefault: '${{ github.token }}',
  },
} as const satisfies InputSpecs;

export type Inputs = InputValues<typeof inputs>;

export default defineStep({
  name: 'registry-login',
  description:
    'Log in to container registries (several in one step) in a private per-job docker config, checked with the registry, undone after the job',
  inputs,
  outputs: {
    registry: { description: 'The first registry logged in to (its docker config key).' },
    registries: { description: 'Every registry logged in to, one per line.' },
    'docker-config': {
      description: 'The private docker config directory (also exported as `DOCKER_CONFIG`).',
      local: true,
    },
  },
  exports: {
    DOCKER_CONFIG:
      'always: the private directory holding `config.json` with the new entries; docker, buildah, skopeo, crane, kaniko and shipline’s own steps read it',
  },
  gitlab: { stage: 'build', sourceEnv: true, userScript: true, dockerConfig: true },
  main: (ctx) => main(ctx),
  post: (ctx) => post(ctx),
});
