import type { EnvLookup, TenantEnv } from '../../tenancy/tenant-directory.js';
import type { ComponentObjects } from '../../components/resolve-component.js';

/**
 * What only the use cases need from the cluster, as small interfaces: the
 * Kubernetes adapters in src/kube implement them, and nothing here knows
 * about HTTP to the API server. The ports they share with the holder and the
 * controller live with what they are about: Velero's cache and store in
 * src/velero/velero-ports.ts, the per-component lock in
 * src/components/component-lock.ts.
 */

/** Tenant env → namespace, from the namespaces' own labels (tenancy/). */
export interface TenantLookup {
  namespaceOf(env: TenantEnv): EnvLookup;
  /** The namespaces have been listed once: before that, an unknown env proves nothing. */
  synced(): boolean;
}

/** Reads what one namespace holds under a component's alias: nothing outside that namespace is ever read. */
export interface ComponentReader {
  read(namespace: string, serviceAlias: string): Promise<ComponentObjects>;
}
