import { defineStep, type InputSpecs, type InputValues } from '../../runtime/define';
import { checkDestination, checkSource } from './plan';
import { checkTag, INSECURE_REGISTRIES_INPUT } from '../shared/registry';
import type { main as Main } from './main';

// main.ts and what only it needs (node:crypto for digests) load when main runs, after the
// inputs validate: a bad input fails without them.
const main: typeof Main = async (ctx) => (require('./main') as typeof import('./main')).main(ctx);

export const inputs = {
  source: {
    required: true,
    description: 'The image to promote, by tag or digest (`registry.example.com/team/app:1a2b3c4d`, `…@sha256:<hex>`).',
    check: checkSource,
    form: 'an image reference with a tag or digest',
    gitlabDefault: '$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA',
  },
  tags: {
    type: 'list',
    description: 'New tags in the source repository (plain tag names, not tag rules).',
    check: checkTag,
    form: "plain tags like 1.2.3 (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')",
    gitlabDefault: '$CI_COMMIT_TAG',
  },
  destinations: {
    type: 'list',
    description:
      'Full references in other repositories or registries to copy the image to (blobs mounted, or uploaded when they cannot be); without a tag, the source tag.',
    check: checkDestination,
    form: 'full references like registry.example.com/prod/app:1.2.3 (no digest)',
  },
  overwrite: {
    type: 'boolean',
    default: false,
    description:
      'Move a tag that already points at a different digest. Without it such a tag is an error naming the digest it holds.',
  },
  method: {
    default: 'auto',
    options: ['auto', 'registry', 'ecr-api'],
    description:
      "`registry`: the OCI Distribution API with docker config credentials; `ecr-api`: ECR BatchGetImage + PutImage with the job's AWS credentials (same repository only); `auto`: ecr-api for ECR hosts when every target is in the source repository, else registry.",
  },
  'insecure-registries': INSECURE_REGISTRIES_INPUT,
} as const satisfies InputSpecs;

export type Inputs = InputValues<typeof inputs>;

export default defineStep({
  name: 'retag',
  description:
    'Give an image already in a registry new tags or copy it to other repositories, without pulling layers (digest-exact)',
  inputs,
  outputs: {
    digest: { description: 'The digest every promoted reference now points at (the source manifest or index digest).' },
    refs: { description: 'The promoted references (`registry/repository:tag`), one per line.' },
  },
  gitlab: {
    stage: 'deploy',
    registryCredentials: true,
    rules: [{ if: '$CI_COMMIT_TAG' }],
  },
  lazy: async () => require('./lazy') as typeof import('./lazy'),
  main: (ctx) => main(ctx),
});
