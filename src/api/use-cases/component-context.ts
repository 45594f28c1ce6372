import { conflict, notFound, unavailable, ValidationError } from '../api-error.js';
import type { Component, ComponentRef } from '../../components/component.js';
import { resolveComponent } from '../../components/resolve-component.js';
import type { BackupApiDeps } from './backup-api-deps.js';

/** 503 naming what is missing when Velero cannot take a request; checked on every request, never remembered. */
export function requireVelero(deps: BackupApiDeps): void {
  const readiness = deps.cache.readiness();
  if (!readiness.ready) throw unavailable(readiness.missing, 'velero_unavailable');
}

/**
 * The component the route names: the objects in the tenant env's namespace
 * that carry its alias (never objects elsewhere, whatever they claim). A
 * `service_id` in the body (the seed console sends one) must be this
 * component's: a mismatch means the console and the cluster disagree about
 * which component this is, and acting on either could be the wrong one.
 */
export async function componentFor(deps: BackupApiDeps, ref: ComponentRef, namespace: string, bodyServiceId?: string): Promise<Component> {
  const resolution = resolveComponent(ref, namespace, await deps.components.read(namespace, ref.serviceAlias));
  if (!resolution.found) throw resolution.reason === 'ambiguous' ? conflict(resolution.message, 'component_ambiguous') : notFound(resolution.message);
  const component = resolution.component;
  if (bodyServiceId !== undefined && bodyServiceId !== component.serviceId) {
    throw new ValidationError({ service_id: [`does not match the component: ${ref.serviceAlias} has service_id ${component.serviceId}`] });
  }
  return component;
}
