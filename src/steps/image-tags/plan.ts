// image-tags' plan: the tag plan of the shared inputs, laid out as docker/metadata-action's
// outputs (separators, annotation levels, the JSON object) and the variables it exports.
import type { CiContext } from '../../lib/ci/context';
import type { InputValues } from '../../runtime/define';
import { InputError, isInputError } from '../../runtime/inputs';
import { planTags, variableError, type TagPlan } from '../shared/tag-inputs';
import type { inputs } from './index';

export type Inputs = InputValues<typeof inputs>;

export interface ImageTagsPlan {
  tag: TagPlan;
  /** Output name → value, in the order they are set. */
  outputs: [string, string][];
  /** DOCKER_METADATA_OUTPUT_* variables (empty with DOCKER_METADATA_SET_OUTPUT_ENV=false). */
  exports: [string, string][];
}

const BOOL_TRUE = /^(true|1|yes|on)$/i;
const BOOL_FALSE = /^(false|0|no|off)$/i;

/** What to do, for an input error the tag plan raised without saying it. */
const INPUT_HINTS: Record<string, string> = {
  tags: "write rule lines like type=ref,event=branch or type=raw,value=<tag>, whose tags are letters, digits, '_', '.', '-' (at most 128, not starting with '.' or '-'); see Tag rules",
  flavor: 'write lines latest=auto|true|false, prefix=<text>[,onlatest=true] or suffix=<text>[,onlatest=true]',
  labels: 'write key=value lines (expressions such as {{branch}} allowed in both)',
  annotations: 'write key=value lines (expressions such as {{branch}} allowed in both)',
  images: 'give repositories without a tag, e.g. registry.example.com/team/app, one per line',
};

function withInputHint(err: unknown): unknown {
  if (!isInputError(err) || err.hint !== undefined) return err;
  const hint = INPUT_HINTS[err.input];
  if (hint === undefined) return err;
  const prefix = `input '${err.input}': `;
  return new InputError(
    err.input,
    err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message,
    hint,
  );
}

export function planImageTags(ci: CiContext, inputs: Inputs, now?: Date): ImageTagsPlan {
  let tag: TagPlan;
  try {
    tag = planTags(ci, inputs, { annotations: inputs.annotations, ...(now ? { now } : {}) });
  } catch (err) {
    throw withInputHint(err);
  }
  const levelsRaw = ci.anchor.annotationLevels ?? 'manifest';
  const levels = levelsRaw.split(',').map((l) => l.trim());
  for (const l of levels)
    if (!/^(manifest|index|manifest-descriptor|index-descriptor)(\[[a-z0-9._/-]+(,[a-z0-9._/-]+)*\])?$/.test(l))
      throw variableError(
        'DOCKER_METADATA_ANNOTATIONS_LEVELS',
        levelsRaw,
        'use a comma-separated list of manifest, index, manifest-descriptor, index-descriptor',
      );
  const setEnv = ci.anchor.setOutputEnv;
  if (setEnv !== undefined && !BOOL_TRUE.test(setEnv) && !BOOL_FALSE.test(setEnv))
    throw variableError('DOCKER_METADATA_SET_OUTPUT_ENV', setEnv, 'use true or false');

  const refs = tag.images.length ? tag.refs : tag.tags;
  const sepTags = inputs.sepTags || '\n';
  const sepLabels = inputs.sepLabels || '\n';
  const sepAnnotations = inputs.sepAnnotations || '\n';
  const labels = Object.entries(tag.labels).map(([k, v]) => `${k}=${v}`);
  const annotations = levels.flatMap((level) => Object.entries(tag.annotations).map(([k, v]) => `${level}:${k}=${v}`));
  const json = JSON.stringify({
    tags: refs,
    'tag-names': tag.tags,
    labels: tag.labels,
    annotations,
    version: tag.version,
  });
  const outputs: [string, string][] = [
    ['version', tag.version],
    ['tags', refs.join(sepTags)],
    ['tag-names', tag.tags.join(sepTags)],
    ['labels', labels.join(sepLabels)],
    ['annotations', annotations.join(sepAnnotations)],
    ['json', json],
  ];
  const exports =
    setEnv !== undefined && BOOL_FALSE.test(setEnv)
      ? []
      : outputs.map(([k, v]): [string, string] => [`DOCKER_METADATA_OUTPUT_${k.replace(/\W/g, '_').toUpperCase()}`, v]);
  return { tag, outputs, exports };
}
