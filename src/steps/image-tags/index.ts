import { defineStep } from '../../runtime/define';
import { TAG_INPUTS } from '../shared/tag-inputs';
import type { imageTags as ImageTags } from './main';
const imageTags: typeof ImageTags = async (ctx) => (require('./main') as typeof import('./main')).imageTags(ctx);

export const inputs = {
  ...TAG_INPUTS,
  annotations: {
    type: 'list',
    lines: true,
    description:
      'Extra annotations, `key=value` per line (expressions allowed), over the generated ones; the `annotations` output prefixes each with its level (`DOCKER_METADATA_ANNOTATIONS_LEVELS`, default `manifest`).',
    form: 'key=value lines',
    check: (v: string) => (v.indexOf('=') > 0 ? undefined : `'${v}' is not key=value`),
  },
  'sep-tags': {
    description: 'Separator of the `tags` and `tag-names` outputs (default a newline), kept as given (spaces too).',
    trim: false,
  },
  'sep-labels': { description: 'Separator of the `labels` output (default a newline), kept as given.', trim: false },
  'sep-annotations': {
    description: 'Separator of the `annotations` output (default a newline), kept as given.',
    trim: false,
  },
} as const;

export default defineStep({
  name: 'image-tags',
  description: 'Compute image tags and OCI labels from the CI context (MR, branch, sha, release tag, semver)',
  inputs,
  // metadata-action's inputs with no meaning here, refused rather than dropped.
  unsupported: {
    context: {
      why: "the CI context is always read from the job (metadata-action's workflow context)",
      accept: ['workflow'],
    },
    'bake-target': { why: 'no bake files are written', accept: ['docker-metadata-action'] },
    'github-token': { why: 'repository data comes from the event payload; no GitHub API call is made' },
  },
  outputs: {
    tags: { description: 'Full image references (`image:tag`; the tags alone without `images`), one per line.' },
    'tag-names': { description: 'The tags alone, one per line.' },
    version: { description: 'The main version: the first tag.' },
    labels: { description: 'OCI labels, `key=value` per line.' },
    annotations: { description: 'Annotations, `<level>:key=value` per line.' },
    json: {
      description:
        '`{"tags": [...], "tag-names": [...], "labels": {...}, "annotations": [...], "version": "..."}` (docker/metadata-action\'s, plus `version`).',
    },
  },
  exports: {
    DOCKER_METADATA_OUTPUT_VERSION:
      'The `version` output (unless `DOCKER_METADATA_SET_OUTPUT_ENV=false`), as docker/metadata-action.',
    DOCKER_METADATA_OUTPUT_TAGS: 'The `tags` output.',
    DOCKER_METADATA_OUTPUT_TAG_NAMES: 'The `tag-names` output.',
    DOCKER_METADATA_OUTPUT_LABELS: 'The `labels` output.',
    DOCKER_METADATA_OUTPUT_ANNOTATIONS: 'The `annotations` output.',
    DOCKER_METADATA_OUTPUT_JSON: 'The `json` output.',
  },
  gitlab: { stage: 'build' },
  main: imageTags,
});
