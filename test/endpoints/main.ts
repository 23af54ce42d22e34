// Entry point bundled by `scripts/testbed up`: starts every loopback endpoint of the bench
// in one process. Usage: node endpoints.js <config.json>
import fs from 'node:fs';
import { loadConfig } from './config';
import type { Endpoint } from './control';
import { createEcr } from './ecr';
import { createOidc } from './oidc';
import { createRegistryProxy } from './registry-proxy';
import { CredentialStore, createSts } from './sts';
import { createTokenServer } from './token-server';
import { createVault } from './vault';

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: endpoints.js <config.json>');
  const cfg = loadConfig(file);
  const oidc = createOidc(cfg);
  const store = new CredentialStore(cfg.account, cfg.aws);
  const sts = createSts(cfg, oidc, store);
  const endpoints: Endpoint[] = [
    createTokenServer(cfg),
    sts.endpoint,
    createEcr(cfg, store),
    oidc.endpoint,
    createVault(cfg).endpoint,
    createRegistryProxy('registry-open-proxy', cfg.ports.openProxy, { host: cfg.host, port: cfg.ports.open }, cfg.host),
    createRegistryProxy(
      'registry-token-proxy',
      cfg.ports.tokenProxy,
      { host: cfg.host, port: cfg.ports.token },
      cfg.host,
    ),
  ];
  for (const e of endpoints) {
    e.spec.host = cfg.host;
    await e.listen();
    process.stdout.write(`[endpoints] ${e.spec.name} listening on http://${cfg.host}:${e.spec.port}\n`);
  }
  fs.writeFileSync(`${cfg.stateDir}/endpoints.ready`, `${process.pid}\n`);
  const stop = (signal: string) => {
    process.stdout.write(`[endpoints] ${signal}: closing\n`);
    const timer = setTimeout(() => process.exit(0), 3000);
    timer.unref();
    void Promise.all(endpoints.map((e) => e.close())).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`[endpoints] failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
