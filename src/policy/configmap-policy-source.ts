import type { Logger } from 'pino';
import type { ConfigMapHandlers, ObservedConfigMap } from '../kube/configmap-watch.js';
import type { EventRecorder } from '../kube/event-recorder.js';
import { policyValid } from '../observability/metrics.js';
import { applyPolicyText } from './apply-policy-text.js';
import type { PolicyStore } from './policy-store.js';

export const POLICY_KEY = 'policy.yaml';

/**
 * Turns ConfigMap updates into policy: a valid document goes into force, an
 * invalid one leaves the last good policy serving and is reported as a
 * Warning Event on the ConfigMap, with the exact field paths.
 */
export function configMapPolicyHandlers(store: PolicyStore, events: EventRecorder, log: Logger): ConfigMapHandlers {
  let lastSeen = '';
  return {
    onUpsert(cm: ObservedConfigMap) {
      if (cm.resourceVersion === lastSeen) return;
      lastSeen = cm.resourceVersion;
      const source = `configmap ${cm.namespace}/${cm.name}@${cm.resourceVersion}`;
      const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: cm.name, namespace: cm.namespace, uid: cm.uid, resourceVersion: cm.resourceVersion };
      const text = cm.data[POLICY_KEY];
      if (text === undefined) {
        policyValid.set(0);
        const message = `key ${POLICY_KEY} is missing; keeping policy "${store.current().source}"`;
        log.error({ source }, message);
        void events.record(ref, 'Warning', 'PolicyRejected', message);
        return;
      }
      const error = applyPolicyText(store, text, source, log);
      if (error) {
        const where = error.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
        void events.record(ref, 'Warning', 'PolicyRejected', `${where} (keeping policy "${store.current().source}")`);
      } else {
        void events.record(ref, 'Normal', 'PolicyLoaded', `policy generation ${store.current().generation} in force`);
      }
    },
    onDelete(name: string) {
      lastSeen = '';
      log.warn({ name, inForce: store.current().source }, 'policy configmap deleted; keeping the policy in force');
    },
  };
}
