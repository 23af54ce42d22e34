import { defineStep } from '../../runtime/define';
import { TAG_INPUTS } from '../shared/tag-inputs';
import { imageTags } from './main';

export default defineStep({
  name: 'image-tags',
  description: 'Compute image tags and OCI labels from the CI context (MR, branch, sha, release tag, semver)',
  inputs: TAG_INPUTS,
  outputs: {
    tags: { description: 'Full image references, one per line (`image:tag`).' },
    'tag-names': { description: 'The tags alone, one per line.' },
    version: { description: 'The main version: the first tag.' },
    labels: { description: 'OCI labels, `key=value` per line.' },
    json: { description: '`{"tags": [...], "labels": {...}, "version": "..."}`' },
  },
  gitlab: { stage: 'build' },
  main: imageTags,
});
