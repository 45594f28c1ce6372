// Tenant env namespaces for unit tests: namespaces labelled as Wutong labels
// a tenant env's (tenancy/tenant-labels.ts defaults).
import { TenantDirectory } from '../../../src/tenancy/tenant-directory.js';
import { DEFAULT_TENANT_LABELS } from '../../../src/tenancy/tenant-labels.js';

/** The labels Wutong puts on the namespace of tenant env `tenant/env`. */
export function tenantNamespaceLabels(tenantName: string, tenantEnvName: string): Record<string, string> {
  return { 'app.kubernetes.io/managed-by': 'wutong', tenant_name: tenantName, tenant_env_name: tenantEnvName, tenant_id: `id-${tenantName}`, tenant_env_id: `id-${tenantName}-${tenantEnvName}` };
}

/** A directory that knows each `namespace → [tenant, env]` given; the default is acme-prod as acme/prod. */
export function tenantDirectory(namespaces: Record<string, readonly [string, string]> = { 'acme-prod': ['acme', 'prod'] }): TenantDirectory {
  const directory = new TenantDirectory(DEFAULT_TENANT_LABELS);
  for (const [name, [tenant, env]] of Object.entries(namespaces)) directory.upsert({ name, labels: tenantNamespaceLabels(tenant, env) });
  return directory;
}
