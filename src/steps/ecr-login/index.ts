import { defineStep, type InputSpecs, type InputValues } from '../../runtime/define';
import { ACCOUNT_ID_RE } from '../../lib/aws/arn';
import { REGION_RE } from '../../lib/aws/client';
import { retryInputs } from '../shared/aws';
import type { main as Main } from './main';
import type { post as Post } from './post';
const post: typeof Post = async (ctx) => (require('./post') as typeof import('./post')).post(ctx);
const main: typeof Main = async (ctx) => (require('./main') as typeof import('./main')).main(ctx);

const retry = retryInputs('ECR');

export const inputs = {
  region: {
    description: 'AWS region of the registries (ECR Public always uses us-east-1).',
    regex: REGION_RE,
    form: 'a region like eu-west-1',
    defaultDoc: '`AWS_REGION`, then `AWS_DEFAULT_REGION`',
  },
  registries: {
    type: 'list',
    description: "Account IDs whose registries to log in to; empty: the credentials' own account.",
    regex: ACCOUNT_ID_RE,
    form: 'a 12-digit account ID',
  },
  'registry-type': {
    description: '`private` (ECR) or `public` (ECR Public, public.ecr.aws).',
    default: 'private',
    options: ['private', 'public'],
  },
  method: {
    description:
      '`config`: write the auth entries into the docker config (DOCKER_CONFIG or ~/.docker/config.json, 0600, merged), which docker, buildah, skopeo, crane and kaniko read; `docker`: run `docker login --password-stdin`.',
    default: 'config',
    options: ['config', 'docker'],
  },
  logout: {
    negatedAliases: ['skip-logout'],
    type: 'boolean',
    description:
      'Remove exactly the entries this step added when the job ends (post / after_script), restoring any entry they replaced.',
    default: true,
  },
  'retry-max-attempts': { ...retry['retry-max-attempts'], form: 'a whole number from 1 to 20' },
  'timeout-seconds': { ...retry['timeout-seconds'], form: 'a whole number of seconds from 5 to 900' },
} as const satisfies InputSpecs;

export type Inputs = InputValues<typeof inputs>;

export default defineStep({
  name: 'ecr-login',
  description:
    'Log in to Amazon ECR (private registries or ECR Public) through the docker config, undone after the job',
  inputs,
  // amazon-ecr-login's inputs that have no meaning here.
  unsupported: {
    'http-proxy': { why: 'requests do not go through a proxy' },
    'mask-password': { why: 'the password is always masked', accept: ['true'] },
  },
  outputs: {
    registry: {
      description: 'The first registry host logged in to (e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com`).',
    },
    registries: { description: 'Every registry host logged in to, one per line.' },
    'docker-config': { description: 'Path of the docker config holding the entries.', local: true },
    // amazon-ecr-login's pair for service containers (`credentials:` of a job's `services`).
    'docker_username_*': {
      description:
        'amazon-ecr-login’s user name output per registry, the host with `.`/`:` as `_` (`docker_username_123456789012_dkr_ecr_eu_west_1_amazonaws_com`): `AWS`.',
    },
    'docker_password_*': {
      description:
        'The matching password (the ECR token), for `services.<name>.credentials` on GitHub; masked, and GitLab keeps it out of the dotenv report.',
      secret: true,
    },
  },
  gitlab: { stage: 'build', userScript: true, dockerConfig: true },
  main: (ctx) => main(ctx),
  post: (ctx) => post(ctx),
});
