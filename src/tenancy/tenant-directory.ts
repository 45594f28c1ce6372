import { matchesSelector, selectorTerms, type TenantLabels } from './tenant-labels.js';

/** A tenant env as its namespace's labels say. */
export interface TenantEnv {
  tenantName: string;
  tenantEnvName: string;
}

/** What the directory keeps of a namespace: its name and labels, nothing else. */
export interface NamespaceSummary {
  name: string;
  labels: Readonly<Record<string, string>>;
}

export type EnvLookup =
  | { found: true; namespace: string }
  /** No namespace is that env, or two are (a platform labelling mistake: refusing beats picking one). */
  | { found: false; reason: 'unknown' | 'ambiguous'; namespaces: string[] };

/** What the component registry needs of the directory. */
export interface TenantNamespaces {
  envOf(namespace: string): TenantEnv | undefined;
  isTenantNamespace(namespace: string): boolean;
  subscribe(listener: (namespace: string) => void): () => void;
}

/**
 * Every namespace counts, as no tenant env: for `wutong-backup
 * release-finalizers`, the uninstall step that must take the data guard's
 * finalizer off every PVC wherever it is, tenant env or not any more.
 */
export const EVERY_NAMESPACE: TenantNamespaces = {
  envOf: () => ({ tenantName: '', tenantEnvName: '' }),
  isTenantNamespace: () => true,
  subscribe: () => () => undefined,
};

/**
 * Tenant envs ↔ namespaces, from the namespaces' own labels (tenant-labels.ts:
 * tenants cannot write them). Pure: a namespace watch feeds it; the API maps
 * a route's tenant/env through it before it looks anything else up, and the
 * registry counts as components only objects in namespaces it knows.
 */
export class TenantDirectory implements TenantNamespaces {
  readonly #terms: Array<[string, string]>;
  readonly #byNamespace = new Map<string, TenantEnv>();
  readonly #byEnv = new Map<string, Set<string>>();
  readonly #listeners = new Set<(namespace: string) => void>();

  constructor(readonly labels: TenantLabels) {
    this.#terms = selectorTerms(labels.selector);
  }

  /** What a namespace is, by its labels: a tenant env, or nothing. */
  envOfLabels(labels: Readonly<Record<string, string>>): TenantEnv | undefined {
    if (!matchesSelector(labels, this.#terms)) return undefined;
    const tenantName = labels[this.labels.tenantName];
    const tenantEnvName = labels[this.labels.tenantEnvName];
    if (!tenantName || !tenantEnvName) return undefined;
    return { tenantName, tenantEnvName };
  }

  upsert(namespace: NamespaceSummary): void {
    const before = this.#byNamespace.get(namespace.name);
    const after = this.envOfLabels(namespace.labels);
    if (before?.tenantName === after?.tenantName && before?.tenantEnvName === after?.tenantEnvName) return;
    this.#unset(namespace.name);
    if (after) {
      this.#byNamespace.set(namespace.name, after);
      const key = envKey(after);
      let names = this.#byEnv.get(key);
      if (!names) this.#byEnv.set(key, (names = new Set()));
      names.add(namespace.name);
    }
    this.#notify(namespace.name);
  }

  remove(name: string): void {
    if (!this.#byNamespace.has(name)) return;
    this.#unset(name);
    this.#notify(name);
  }

  /** The tenant env a namespace is, or undefined when it is none. */
  envOf(namespace: string): TenantEnv | undefined {
    return this.#byNamespace.get(namespace);
  }

  isTenantNamespace(namespace: string): boolean {
    return this.#byNamespace.has(namespace);
  }

  namespaceOf(env: TenantEnv): EnvLookup {
    const names = [...(this.#byEnv.get(envKey(env)) ?? [])].sort();
    if (names.length === 1) return { found: true, namespace: names[0]! };
    return { found: false, reason: names.length === 0 ? 'unknown' : 'ambiguous', namespaces: names };
  }

  namespaces(): string[] {
    return [...this.#byNamespace.keys()];
  }

  /** Called with a namespace's name whenever it became, stopped being or changed which tenant env it is. */
  subscribe(listener: (namespace: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #unset(name: string): void {
    const env = this.#byNamespace.get(name);
    if (!env) return;
    this.#byNamespace.delete(name);
    const names = this.#byEnv.get(envKey(env));
    names?.delete(name);
    if (names?.size === 0) this.#byEnv.delete(envKey(env));
  }

  #notify(namespace: string): void {
    for (const listener of this.#listeners) listener(namespace);
  }
}

// Label values cannot hold a slash, so this key is unambiguous.
function envKey(env: TenantEnv): string {
  return `${env.tenantName}/${env.tenantEnvName}`;
}
