// image-tags' work: log the CI context, compute the tags, labels and annotations, and hand
// them out as outputs, DOCKER_METADATA_OUTPUT_* variables and a summary.
import type { Ctx } from '../../runtime/define';
import { planImageTags, type Inputs } from './plan';

export async function imageTags(ctx: Ctx<Inputs>): Promise<void> {
  const ci = ctx.ci;
  ctx.log.info(
    `context: ${ci.provider} ${ci.event}` +
      (ci.refName ? ` ref=${ci.refName}` : '') +
      (ci.sha ? ` sha=${ci.sha.slice(0, 12)}` : '') +
      (ci.mrIid ? ` mr=${ci.mrIid}` : ''),
  );
  const plan = planImageTags(ci, ctx.inputs);
  for (const w of plan.tag.warnings) ctx.log.warn(w);
  if (!ci.commitTime)
    ctx.log.info('created: no commit time in the CI variables, event or checkout; the label holds the current time');
  const refs = plan.tag.images.length ? plan.tag.refs : plan.tag.tags;
  if (refs.length === 0)
    ctx.log.warn(
      `no tag rule applies to this pipeline (${ci.provider}, event ${ci.event}): the tags are empty, as docker/metadata-action leaves them`,
    );
  await ctx.log.group('Tags', async () => {
    for (const r of refs) ctx.log.info(r);
  });
  for (const [name, value] of plan.outputs) ctx.setOutput(name, value);
  for (const [name, value] of plan.exports) ctx.exportVariable(name, value);
  ctx.summary(['### Image tags', '', ...refs.map((r) => `- \`${r}\``), ''].join('\n'));
}
