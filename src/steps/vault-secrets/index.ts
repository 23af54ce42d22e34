import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineStep } from '../../runtime/define';
import { ShiplineError, errorMessage } from '../../lib/util/errors';
import { VaultClient } from '../../lib/vault/client';
import { fromLines, fromPrefixedEnv, groupByPath } from '../../lib/vault/locations';
import { readSecrets } from '../../lib/vault/read-secrets';

/** Job variables used when the inputs are empty (GitLab's own Vault variables use VAULT_ADDR). */
const unexpanded = (v: string | undefined) => (v === undefined || v.trim() === '' || /^\$\{?[A-Za-z_]/.test(v) ? undefined : v.trim());

export default defineStep({
  name: 'vault-secrets',
  description: 'Read KV secrets from HashiCorp Vault with AppRole and export them, masked, to the job',
  inputs: {
    url: { description: 'Vault address. Empty: the job variable `VAULT_ADDR`.', defaultDoc: '`$VAULT_ADDR`', regex: 'https?://\\S+', form: 'an http(s) URL like https://vault.example.com:8200' },
    'role-id': { description: 'AppRole role id. Empty: the job variable `VAULT_ROLE_ID`.', secret: true, defaultDoc: '`$VAULT_ROLE_ID`' },
    'secret-id': { description: 'AppRole secret id. Empty: the job variable `VAULT_SECRET_ID` (a role may need none).', secret: true, defaultDoc: '`$VAULT_SECRET_ID`' },
    'auth-path': { description: 'Mount path of the AppRole auth method (`auth/<path>/login`).', default: 'approle', regex: '[A-Za-z0-9_./-]+', form: 'a mount path like approle or ci/approle' },
    namespace: { description: 'Vault Enterprise namespace (sent as `X-Vault-Namespace`). Empty: the job variable `VAULT_NAMESPACE`, else none.', defaultDoc: '`$VAULT_NAMESPACE`' },
    prefix: {
      description: 'Variables named `<prefix>NAME` whose value is `<mount>/<path>/<key>` export `NAME` with that secret (ignored when `secrets` is given).',
      default: 'V_',
      regex: '[A-Za-z_][A-Za-z0-9_]*',
      form: 'a variable-name prefix like V_',
    },
    'kv-version': { description: 'KV engine version; `auto` asks Vault which mount holds each path and its version (one probe per mount).', default: 'auto', options: ['auto', '1', '2'] },
    export: { description: '`env`: each variable holds the secret; `file`: each variable holds the path of a 0600 file with the secret (removed after the job).', default: 'env', options: ['env', 'file'] },
    secrets: {
      type: 'list',
      lines: true,
      description: 'Explicit secrets instead of the prefix convention, one per line (or `;`-separated): `<mount>/<path> <key> | NAME` (NAME defaults to the key in upper case).',
    },
    'retry-max-attempts': {
      type: 'number',
      description: 'Attempts per Vault request when it is sealed, unreachable, throttling or answers 5xx.',
      default: 5,
      check: (v) => (Number.isInteger(Number(v)) && Number(v) >= 1 && Number(v) <= 20 ? undefined : 'must be a whole number from 1 to 20'),
    },
    'export-token': { type: 'boolean', description: 'Also export `VAULT_TOKEN` and `VAULT_ADDR` for later commands; the token is then revoked by the cleanup instead of at the end of the step.', default: false },
  },
  outputs: {
    names: { description: 'Names of the exported variables, one per line.' },
  },
  exports: { '<NAME>': 'each secret (or its file path with export: file)', VAULT_TOKEN: 'with export-token', VAULT_ADDR: 'with export-token' },
  gitlab: { stage: 'deploy', sourceEnv: true, userScript: true },
  async main(ctx) {
    const { inputs, env } = ctx;
    const url = inputs.url ?? unexpanded(env.VAULT_ADDR);
    if (!url) throw new ShiplineError("input 'url': no Vault address (the input and VAULT_ADDR are empty)", { hint: 'set url, or the job variable VAULT_ADDR', exitCode: 2 });
    if (!/^https?:\/\/\S+$/.test(url)) throw new ShiplineError(`VAULT_ADDR '${url}' is not an http(s) URL`, { hint: 'e.g. https://vault.example.com:8200', exitCode: 2 });
    const roleId = inputs.roleId?.trim() || unexpanded(env.VAULT_ROLE_ID);
    const secretId = inputs.secretId?.trim() || unexpanded(env.VAULT_SECRET_ID);
    // Values from job variables were not inputs, so the runtime has not masked them yet.
    if (roleId) ctx.secret(roleId);
    if (secretId) ctx.secret(secretId);

    const requests = inputs.secrets.length ? fromLines(inputs.secrets) : fromPrefixedEnv(env, inputs.prefix);
    const groups = groupByPath(requests);
    if (requests.length === 0) {
      // Later script lines expect the variables: failing here beats failing there obscurely.
      throw new ShiplineError(inputs.secrets.length ? 'the secrets input lists no secret' : `no ${inputs.prefix}* variables reach this job: nothing to read from Vault`, {
        hint: `define ${inputs.prefix}NAME=<mount>/<path>/<key> variables (protected variables reach only protected branches and tags), or the secrets input`,
      });
    }
    if (!roleId) throw new ShiplineError("input 'role-id': no AppRole role id (the input and VAULT_ROLE_ID are empty)", { hint: 'set role-id, or the job variable VAULT_ROLE_ID', exitCode: 2 });

    const namespace = inputs.namespace?.trim() || unexpanded(env.VAULT_NAMESPACE);
    const client = new VaultClient({
      url,
      maxAttempts: inputs.retryMaxAttempts,
      ...(namespace ? { namespace } : {}),
      onRetry: (m) => ctx.log.warn(m),
    });
    let keepToken = false;
    try {
      const values = await ctx.log.group(`Vault ${url}: ${requests.length} secret(s) from ${groups.size} path(s)`, async () => {
        const token = await client.login(inputs.authPath, roleId, secretId);
        ctx.secret(token);
        ctx.log.info(`logged in with AppRole at auth/${inputs.authPath.replace(/^\/+|\/+$/g, '')}${namespace ? ` (namespace ${namespace})` : ''}`);
        const read = await readSecrets(client, groups, inputs.kvVersion as 'auto' | '1' | '2');
        for (const [path, reqs] of groups) ctx.log.info(`${path}: ${reqs.map((r) => `${r.key} -> ${r.name}`).join(', ')}`);
        return read;
      });
      // Masked before anything can print or export them.
      for (const v of values) ctx.secret(v.value);

      if (inputs.export === 'file') {
        const dir = mkdtempSync(join(ctx.tempDir, 'shipline-vault-'));
        chmodSync(dir, 0o700);
        ctx.saveState('dir', dir);
        for (const v of values) {
          const file = join(dir, v.name);
          writeFileSync(file, v.value, { mode: 0o600 });
          ctx.exportVariable(v.name, file);
        }
      } else {
        for (const v of values) ctx.exportVariable(v.name, v.value, { secret: true });
      }
      if (inputs.exportToken) {
        const token = client.tokenValue();
        ctx.exportVariable('VAULT_ADDR', url);
        ctx.exportVariable('VAULT_TOKEN', token, { secret: true });
        ctx.saveState('token', token);
        ctx.saveState('url', url);
        if (namespace) ctx.saveState('namespace', namespace);
        keepToken = true;
      }
      ctx.setOutput('names', values.map((v) => v.name).join('\n'));
      ctx.summary(['### Vault secrets', '', ...values.map((v) => `- \`${v.name}\` from \`${v.path}\` key \`${v.key}\``), ''].join('\n'));
    } finally {
      if (!keepToken && client.hasToken) {
        try {
          await client.revokeSelf();
          ctx.log.info('revoked the Vault token');
        } catch (err) {
          ctx.log.warn(`could not revoke the Vault token (it expires with its TTL): ${errorMessage(err)}`);
        }
      }
    }
  },
  async post(ctx) {
    const dir = ctx.getState('dir');
    if (dir) rmSync(dir, { recursive: true, force: true });
    const token = ctx.getState('token');
    const url = ctx.getState('url');
    if (token && url) {
      ctx.secret(token);
      const namespace = ctx.getState('namespace');
      const client = new VaultClient({ url, maxAttempts: 3, deadlineMs: 20_000, ...(namespace ? { namespace } : {}) });
      client.useToken(token);
      try {
        await client.revokeSelf();
        ctx.log.info('revoked the Vault token');
      } catch (err) {
        ctx.log.warn(`could not revoke the Vault token (it expires with its TTL): ${errorMessage(err)}`);
      }
    }
  },
});
