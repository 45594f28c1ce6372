import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { ClusterAccess } from '../kube/kube-config.js';
import { policyValid } from '../observability/metrics.js';
import { applyPolicyText } from './apply-policy-text.js';
import { configMapPolicyHandlers } from './configmap-policy-source.js';
import { watchPolicyFile } from './file-policy-source.js';
import type { PolicyStore } from './policy-store.js';

export type PolicySourceSpec =
  | { kind: 'file'; path: string }
  | {
      kind: 'configmap';
      cluster: ClusterAccess;
      name: string;
      /** How long startup waits for the first list (default FIRST_LIST_WAIT_MS) before serving what the store holds. */
      firstListWaitMs?: number;
    };

/**
 * Startup waits this long for the policy ConfigMap before the server
 * listens: long enough for a loaded API server, short enough that a replica
 * whose API server connection hangs still starts (and serves the built-in
 * default, saying so) instead of never answering its readiness probe.
 */
export const FIRST_LIST_WAIT_MS = 10_000;

/**
 * Starts the policy source and resolves once its first read is done (for the
 * ConfigMap: listed, or FIRST_LIST_WAIT_MS passed), so the webhook never
 * reports ready on a policy it has not tried to load. Until a valid document
 * arrives the store keeps the built-in default, and says so; the watch keeps
 * trying and puts the ConfigMap in force whenever it arrives.
 */
export async function startPolicySource(spec: PolicySourceSpec, store: PolicyStore, log: Logger): Promise<() => void> {
  const builtIn = store.current().source;
  const sayIfDefault = (): void => {
    if (store.current().source === builtIn) {
      policyValid.set(0);
      log.warn({ source: spec.kind === 'file' ? spec.path : `configmap ${spec.cluster.namespace}/${spec.name}` }, 'no valid policy loaded: serving the built-in default');
    }
  };
  if (spec.kind === 'file') {
    try {
      applyPolicyText(store, readFileSync(spec.path, 'utf8'), spec.path, log);
    } catch (err) {
      log.error({ path: spec.path, err: (err as Error).message }, 'policy file unreadable');
    }
    sayIfDefault();
    return watchPolicyFile(store, spec.path, log);
  }
  const { cluster, name } = spec;
  // One after the other: jest's ESM loader fails two concurrent imports of one shared module.
  const { watchConfigMap } = await import('../kube/configmap-watch.js');
  const { kubeEventRecorder } = await import('../kube/event-recorder.js');
  const handlers = configMapPolicyHandlers(store, kubeEventRecorder(cluster.kubeConfig, log), log);
  const watch = watchConfigMap(cluster.kubeConfig, cluster.namespace, name, handlers, log);
  const waitMs = spec.firstListWaitMs ?? FIRST_LIST_WAIT_MS;
  let timer: NodeJS.Timeout | undefined;
  const listed = await Promise.race([
    watch.start().then(() => true),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), waitMs))),
  ]);
  clearTimeout(timer);
  if (!listed) log.warn({ configmap: `${cluster.namespace}/${name}`, waitedMs: waitMs }, 'policy ConfigMap not listed in time; starting anyway and still watching');
  sayIfDefault();
  return () => watch.stop();
}
