import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { DEFAULT_REQUEST_TIMEOUT_MS, makeApiClient } from './api-client.js';
import type { Logger } from 'pino';
import type { ObjectReference } from './object-reference.js';

export interface EventRecorder {
  record(object: ObjectReference, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

const COMPONENT = 'wutong-backup';
// The API server rejects Event messages over 1 kB with a validation error.
const MAX_MESSAGE = 1024;

/** Kubernetes Events, so `kubectl describe configmap` shows why a policy was rejected. */
export function kubeEventRecorder(kubeConfig: KubeConfig, log: Logger, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): EventRecorder {
  const api = makeApiClient(kubeConfig, CoreV1Api, requestTimeoutMs);
  return {
    async record(object, type, reason, message) {
      const now = new Date();
      try {
        await api.createNamespacedEvent({
          namespace: object.namespace,
          body: {
            metadata: { generateName: `${object.name}.`, namespace: object.namespace },
            involvedObject: {
              apiVersion: object.apiVersion,
              kind: object.kind,
              name: object.name,
              namespace: object.namespace,
              uid: object.uid,
              resourceVersion: object.resourceVersion,
            },
            type,
            reason,
            message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message,
            source: { component: COMPONENT },
            reportingComponent: COMPONENT,
            reportingInstance: process.env.HOSTNAME ?? COMPONENT,
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        });
      } catch (err) {
        // An Event is a courtesy: failing to write one must not disturb admission.
        log.warn({ object: `${object.kind}/${object.namespace}/${object.name}`, reason, err: (err as Error).message }, 'could not record event');
      }
    },
  };
}
