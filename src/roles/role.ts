/**
 * What one process of the project does. One image and one binary; each
 * Deployment runs one role, so each gets its own ServiceAccount and only the
 * rights that role uses (README "Roles"). `npm start` runs all of them in one
 * process.
 * - webhook: admission only (the policy, TLS, /mutate); no component or Velero cache.
 * - api: the backup API (authentication, authorization, records from the caches).
 * - controller: the leader-elected loops.
 */
export type Role = 'webhook' | 'api' | 'controller';

export const ROLES: readonly Role[] = ['webhook', 'api', 'controller'];

/** ROLE: `all` (the default) or a comma-separated list of roles; the error names the variable and what it accepts. */
export function rolesFromEnv(value: string | undefined): ReadonlySet<Role> {
  const text = value?.trim() ?? '';
  if (text === '' || text === 'all') return new Set(ROLES);
  const roles = new Set<Role>();
  for (const part of text.split(',').map((p) => p.trim())) {
    if (!(ROLES as readonly string[]).includes(part)) throw new Error(`ROLE must be "all" or a comma-separated list of ${ROLES.join(', ')}, got "${value}"`);
    roles.add(part as Role);
  }
  return roles;
}

/**
 * Whether this process keeps the TLS Secret of TLS_SOURCE=self and the
 * webhook configuration's caBundle (creates, renews, rotates, repairs,
 * publishes): only the controller role does, `all` included. The webhook and
 * api roles face the network, so they only read the Secret: a compromised
 * one cannot change what the API server trusts (cert-manager keeps its CA
 * injector apart from its webhook for the same reason).
 */
export function keepsTlsSecret(roles: ReadonlySet<Role>): boolean {
  return roles.has('controller');
}
