import { defineStep, type InputSpecs, type InputValues } from '../../runtime/define';
import { checkImage, checkPattern, DEFAULT_PROTECTED } from './plan';
import { checkTag, INSECURE_REGISTRIES_INPUT } from '../shared/registry';
import type { main as Main } from './main';

// main.ts and what only it needs (node:crypto for digests) load when main runs, after the
// inputs validate: a bad input fails without them.
const main: typeof Main = async (ctx) => (require('./main') as typeof import('./main')).main(ctx);

export const inputs = {
  image: {
    required: true,
    description:
      'The repository to remove tags from (`registry.example.com/team/app`), or a reference with the tag to remove (`…/app:MR-12`).',
    check: checkImage,
    form: 'an image repository, optionally with a tag (no digest)',
    gitlabDefault: '$CI_REGISTRY_IMAGE',
  },
  tags: {
    type: 'list',
    description: 'Tags to remove (plain tag names). A tag that is not there is success: nothing to do.',
    check: checkTag,
    form: "plain tags like MR-12 (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')",
    gitlabDefault: 'MR-$CI_MERGE_REQUEST_IID',
  },
  'dry-run': {
    type: 'boolean',
    default: false,
    description: 'Look up and report what would be removed, and remove nothing.',
  },
  protected: {
    type: 'list',
    default: DEFAULT_PROTECTED.join(', '),
    description:
      'Tags never removed: names or globs (`*`, `?`, `[0-9]`). Asking to remove one is an input error (exit 2). Giving a list replaces the default (`latest` and release-looking tags).',
    check: checkPattern,
    form: 'tag names or globs',
  },
  method: {
    default: 'auto',
    options: ['auto', 'registry', 'ecr-api'],
    description:
      "`registry`: the OCI Distribution API (DELETE by digest, only when no other tag holds the digest); `ecr-api`: ECR BatchDeleteImage by tag with the job's AWS credentials (removes the tag only); `auto`: ecr-api for ECR hosts, else registry.",
  },
  'insecure-registries': INSECURE_REGISTRIES_INPUT,
} as const satisfies InputSpecs;

export type Inputs = InputValues<typeof inputs>;

export default defineStep({
  name: 'untag',
  description:
    'Remove tags (e.g. a merge request’s `MR-<iid>`) from a registry, never one that shares its image with another tag (cleanup stage)',
  inputs,
  outputs: {
    deleted: { description: 'The tags removed (in a dry run: none), one per line.' },
    'would-delete': { description: 'Dry run only: the tags that would be removed, one per line.' },
    kept: {
      description:
        'Tags left in place because another tag holds the same digest (Distribution can only delete by digest), one per line.',
    },
    missing: { description: 'Tags that were not there (nothing to do), one per line.' },
  },
  gitlab: {
    stage: 'cleanup',
    registryCredentials: true,
    rules: [{ if: '$CI_MERGE_REQUEST_IID', when: 'manual', allow_failure: true }],
  },
  lazy: async () => require('./lazy') as typeof import('./lazy'),
  main: (ctx) => main(ctx),
});
