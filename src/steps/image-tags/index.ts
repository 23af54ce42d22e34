import { defineStep } from '../../runtime/define';
import { TAG_INPUTS, planTags } from '../../lib/ci/tag-inputs';
import { ShiplineError } from '../../lib/util/errors';

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
  async main(ctx) {
    const ci = ctx.ci;
    ctx.log.info(`context: ${ci.provider} ${ci.event}` + (ci.refName ? ` ref=${ci.refName}` : '') + (ci.sha ? ` sha=${ci.sha.slice(0, 12)}` : '') + (ci.mrIid ? ` mr=${ci.mrIid}` : ''));
    const plan = planTags(ci, ctx.inputs);
    if (plan.tags.length === 0) {
      throw new ShiplineError(`no tag rule applies to this pipeline (${ci.provider}, event ${ci.event})`, {
        hint: ci.provider === 'local' ? 'outside CI, pass CI variables (e.g. CI_COMMIT_SHA, CI_COMMIT_BRANCH) or a rule like type=raw,value=dev' : 'add a rule that applies, e.g. type=sha or type=raw,value=…',
      });
    }
    const refs = plan.images.length ? plan.refs : plan.tags;
    await ctx.log.group('Tags', async () => {
      for (const r of refs) ctx.log.info(r);
    });
    ctx.setOutput('tags', refs.join('\n'));
    ctx.setOutput('tag-names', plan.tags.join('\n'));
    ctx.setOutput('version', plan.version);
    ctx.setOutput('labels', Object.entries(plan.labels).map(([k, v]) => `${k}=${v}`).join('\n'));
    ctx.setOutput('json', JSON.stringify({ tags: refs, labels: plan.labels, version: plan.version }));
    ctx.summary(['### Image tags', '', ...refs.map((r) => `- \`${r}\``), ''].join('\n'));
  },
});
