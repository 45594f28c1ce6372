/**
 * A component is (namespace, service_id): Wutong's service_id is a label its
 * worker writes, and any tenant can write the same label in her own
 * namespace. So the same service_id in two namespaces is two components,
 * never one, everywhere a component is named: registry, caches, locks, work
 * queues, metrics, Events. The string form is `namespace/service_id` (a
 * namespace never holds a slash); the brand makes the compiler refuse a bare
 * service_id where a component is meant.
 */
export type ComponentKey = string & { readonly __componentKey: unique symbol };

export interface ComponentIdentity {
  namespace: string;
  serviceId: string;
}

export function componentKey(namespace: string, serviceId: string): ComponentKey {
  if (namespace === '' || namespace.includes('/')) throw new RangeError(`not a namespace: "${namespace}"`);
  return `${namespace}/${serviceId}` as ComponentKey;
}

export function keyOf(component: ComponentIdentity): ComponentKey {
  return componentKey(component.namespace, component.serviceId);
}

export function identityOf(key: ComponentKey): ComponentIdentity {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), serviceId: key.slice(slash + 1) };
}
