import { existsSync } from 'node:fs';
import { defineStep } from '../../runtime/define';
import { ACCOUNT_ID_RE } from '../../lib/aws/arn';
import { ECR_PUBLIC_REGION, REGION_RE, endpointFor, regionFrom } from '../../lib/aws/client';
import { fromLazy } from '../../lib/aws/revive';
import { addAuths, dockerConfigPath, readDockerConfig, registryKey, restoreAuths, type AuthEntry } from '../../lib/registry/docker-config';
import { exec } from '../../lib/util/exec';
import { InputError, ShiplineError } from '../../lib/util/errors';

const int = (min: number, max: number) => (v: string) => (/^\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? undefined : `must be a whole number from ${min} to ${max}`);

/** What main added, so post can undo exactly that. */
interface Added {
  path: string;
  method: 'config' | 'docker';
  createdFile: boolean;
  /** The config had an `auths` object before (an empty one is then kept). */
  hadAuths: boolean;
  previous: Record<string, AuthEntry | null>;
}

export default defineStep({
  name: 'ecr-login',
  description: 'Log in to Amazon ECR (private registries or ECR Public) through the docker config, undone after the job',
  inputs: {
    region: { description: 'AWS region of the registries (ECR Public always uses us-east-1).', regex: REGION_RE, form: 'a region like eu-west-1', defaultDoc: '`AWS_REGION`, then `AWS_DEFAULT_REGION`' },
    registries: { type: 'list', description: 'Account IDs whose registries to log in to; empty: the credentials\' own account.', regex: ACCOUNT_ID_RE, form: 'a 12-digit account ID' },
    'registry-type': { description: '`private` (ECR) or `public` (ECR Public, public.ecr.aws).', default: 'private', options: ['private', 'public'] },
    method: { description: '`config`: write the auth entries into the docker config (DOCKER_CONFIG or ~/.docker/config.json, 0600, merged), which docker, buildah, skopeo, crane and kaniko read; `docker`: run `docker login --password-stdin`.', default: 'config', options: ['config', 'docker'] },
    logout: { type: 'boolean', description: 'Remove exactly the entries this step added when the job ends (post / after_script), restoring any entry they replaced.', default: true },
    'retry-max-attempts': { type: 'number', description: 'ECR attempts in all; only throttling, 5xx, timeouts and connection failures are retried.', default: 5, check: int(1, 20) },
    'timeout-seconds': { type: 'number', description: 'Deadline for all attempts together (each attempt is cut at 10 s).', default: 60, check: int(5, 900) },
  },
  outputs: {
    registry: { description: 'The first registry host logged in to (e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com`).' },
    registries: { description: 'Every registry host logged in to, one per line.' },
    'docker-config': { description: 'Path of the docker config holding the entries.' },
  },
  gitlab: { stage: 'build', userScript: true },

  async main(ctx) {
    const i = ctx.inputs;
    const pub = i.registryType === 'public';
    const region = pub ? ECR_PUBLIC_REGION : regionFrom(i.region, ctx.env);
    if (!region) throw new InputError('region', 'is required: no input and no AWS_REGION / AWS_DEFAULT_REGION in the job', 'give the region of the registries, e.g. region: eu-west-1');
    if (pub && i.registries.length) ctx.log.warn('registries is ignored for ECR Public (one registry: public.ecr.aws)');
    if (pub && i.region && i.region !== ECR_PUBLIC_REGION) ctx.log.warn(`ECR Public tokens come from ${ECR_PUBLIC_REGION}; region ${i.region} is not used`);

    // The SDK loads only now, after every input check passed.
    // require, not import(): a dynamic import would send the CommonJS bundle through Node's ESM
    // loader, which lexes all of it (tens of ms).
    const { ecrAuthorization } = require('./lazy') as typeof import('./lazy');
    const auths = await fromLazy(() => ecrAuthorization({
      type: pub ? 'public' : 'private',
      region,
      registryIds: pub ? [] : i.registries,
      endpoint: endpointFor(ctx.env, pub ? 'ECR_PUBLIC' : 'ECR'),
      policy: { maxAttempts: i.retryMaxAttempts, deadlineMs: i.timeoutSeconds * 1000 },
      log: ctx.log,
      onSecret: (v) => ctx.secret(v),
    }));

    const path = dockerConfigPath(ctx.env);
    const createdFile = !existsSync(path);
    const beforeConfig = readDockerConfig(path);
    const hadAuths = beforeConfig.auths !== undefined;
    const before = beforeConfig.auths ?? {};
    const previous: Added['previous'] = {};
    for (const a of auths) previous[registryKey(a.registry)] ??= before[registryKey(a.registry)] ?? null;

    if (i.method === 'docker') {
      for (const a of auths) {
        // The password goes through stdin only; DOCKER_CONFIG (if any) comes with the env.
        await exec('docker', ['login', '--username', a.username, '--password-stdin', a.registry], {
          input: a.password,
          env: { ...ctx.env },
          timeoutMs: 60_000,
          what: `docker login ${a.registry}`,
          hint: 'check that the docker CLI can reach the registry',
        });
      }
    } else {
      addAuths(path, auths);
    }
    if (i.logout) {
      const added: Added = { path, method: i.method === 'docker' ? 'docker' : 'config', createdFile, hadAuths, previous };
      ctx.saveState('added', JSON.stringify(added));
    }

    const hosts = auths.map((a) => a.registry);
    for (const a of auths) ctx.log.info(`logged in to ${a.registry}${a.expiresAt ? ` (token valid until ${a.expiresAt.toISOString()})` : ''}`);
    ctx.log.info(`${i.method === 'docker' ? 'docker login wrote' : 'wrote'} ${hosts.length} entr${hosts.length === 1 ? 'y' : 'ies'} to ${path}${i.logout ? '; they are removed when the job ends' : ''}`);
    ctx.setOutput('registry', hosts[0]!);
    ctx.setOutput('registries', hosts.join('\n'));
    ctx.setOutput('docker-config', path);
  },

  async post(ctx) {
    const raw = ctx.getState('added');
    if (!raw) return;
    let added: Added;
    try {
      added = JSON.parse(raw) as Added;
    } catch {
      throw new ShiplineError('the saved state of ecr-login is not readable; the docker config was left as it is', { hint: 'remove the ECR entries from the docker config by hand' });
    }
    if (added.method === 'docker') {
      for (const [key, prev] of Object.entries(added.previous)) {
        if (prev !== null) continue;
        await exec('docker', ['logout', key], { env: { ...ctx.env }, timeoutMs: 30_000, allowFailure: true, what: `docker logout ${key}` });
      }
    }
    restoreAuths(added.path, { previous: added.previous, hadAuths: added.hadAuths }, { createdFile: added.createdFile });
    // The state held copies of replaced entries: drop them now that they are back in place.
    ctx.saveState('added', '');
    ctx.log.info(`removed ${Object.keys(added.previous).join(', ')} from ${added.path}${Object.values(added.previous).some((p) => p !== null) ? ' (restored the entries they replaced)' : ''}`);
  },
});
