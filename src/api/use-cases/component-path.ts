import type { ComponentRef } from '../../components/component.js';

/** The API's path prefix for one component (the region API's routes). */
export function componentPath(ref: ComponentRef): string {
  return `/v2/tenants/${encodeURIComponent(ref.tenantName)}/envs/${encodeURIComponent(ref.tenantEnvName)}/services/${encodeURIComponent(ref.serviceAlias)}`;
}

/** Where a backup record's download_url points: this API's download route, which asks Velero for a pre-signed URL. */
export function downloadPath(ref: ComponentRef, backupId: string): string {
  return `${componentPath(ref)}/backup/${encodeURIComponent(backupId)}/download`;
}
