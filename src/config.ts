import { DEFAULT_POLICY_FILE } from './policy/default-policy.js';

export interface Config {
  port: number;
  host: string | undefined;
  /** Set when POLICY_FILE is given explicitly: a file then wins over the ConfigMap even in a cluster. */
  policyFile: string;
  policyFileExplicit: boolean;
  policyConfigMap: string;
}

function port(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`PORT must be a port number, got "${value}"`);
  return n;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: port(env.PORT, 8443),
    host: env.HOST || undefined,
    policyFile: env.POLICY_FILE || DEFAULT_POLICY_FILE,
    policyFileExplicit: Boolean(env.POLICY_FILE),
    policyConfigMap: env.POLICY_CONFIGMAP || 'wutong-backup-policy',
  };
}
