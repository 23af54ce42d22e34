// The bench configuration written by `scripts/testbed up` into $STATE/endpoints/config.json.
import fs from 'node:fs';

export interface BenchConfig {
  stateDir: string;
  host: string;
  account: string;
  region: string;
  ports: {
    open: number;
    basic: number;
    token: number;
    tokenServer: number;
    sts: number;
    ecr: number;
    oidc: number;
    vault: number;
    openProxy: number;
    tokenProxy: number;
  };
  registry: {
    basicUser: string;
    basicPassword: string;
    awsPassword: string;
    tokenUser: string;
    tokenPassword: string;
    tokenService: string;
    tokenIssuer: string;
    tokenKeyFile: string;
    tokenCertFile: string;
  };
  aws: { accessKeyId: string; secretAccessKey: string; externalId: string };
  oidc: { keyFile: string; githubRequestToken: string };
  vault: { roleId: string; secretId: string; ciRoleId: string; ciSecretId: string };
}

export function loadConfig(file: string): BenchConfig {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as BenchConfig;
}

export const url = (cfg: BenchConfig, port: number): string => `http://${cfg.host}:${port}`;
