// image-tags' work: log the CI context, compute the tags and labels, and hand them out as
// outputs and a summary.
import type { Ctx } from '../../runtime/define';
import { ShiplineError } from '../../lib/util/errors';
import { planTags, type TagInputs } from '../shared/tag-inputs';

export async function imageTags(ctx: Ctx<TagInputs>): Promise<void> {
  const ci = ctx.ci;
  ctx.log.info(
    `context: ${ci.provider} ${ci.event}` +
      (ci.refName ? ` ref=${ci.refName}` : '') +
      (ci.sha ? ` sha=${ci.sha.slice(0, 12)}` : '') +
      (ci.mrIid ? ` mr=${ci.mrIid}` : ''),
  );
  const plan = planTags(ci, ctx.inputs);
  if (plan.tags.length === 0) {
    throw new ShiplineError(`no tag rule applies to this pipeline (${ci.provider}, event ${ci.event})`, {
      hint:
        ci.provider === 'local'
          ? 'outside CI, pass CI variables (e.g. CI_COMMIT_SHA, CI_COMMIT_BRANCH) or a rule like type=raw,value=dev'
          : 'add a rule that applies, e.g. type=sha or type=raw,value=…',
    });
  }
  const refs = plan.images.length ? plan.refs : plan.tags;
  await ctx.log.group('Tags', async () => {
    for (const r of refs) ctx.log.info(r);
  });
  ctx.setOutput('tags', refs.join('\n'));
  ctx.setOutput('tag-names', plan.tags.join('\n'));
  ctx.setOutput('version', plan.version);
  ctx.setOutput(
    'labels',
    Object.entries(plan.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n'),
  );
  ctx.setOutput('json', JSON.stringify({ tags: refs, labels: plan.labels, version: plan.version }));
  ctx.summary(['### Image tags', '', ...refs.map((r) => `- \`${r}\``), ''].join('\n'));
}
