import { podCreationScopes, type WebhookEntry, type WebhookScope } from '../controller/webhook-scope.js';
import { unexpectedAnswer, type KubeHttp } from './kube-http.js';
import { readNamespace } from './namespace-reader.js';

/** What decides which pods the API server sends the webhook, read live for the backfill. */
export interface WebhookScopeReader {
  /** The selectors of the configuration's webhooks for pods; undefined when the configuration does not exist. */
  webhooks(): Promise<WebhookScope[] | undefined>;
  /** The namespace's labels, and whether it is being deleted; undefined when it is gone. */
  namespace(name: string): Promise<{ labels: Record<string, string>; terminating: boolean } | undefined>;
}

export function webhookScopeReader(http: KubeHttp, configurationName: string, timeoutMs: number): WebhookScopeReader {
  return {
    async webhooks() {
      const path = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${encodeURIComponent(configurationName)}`;
      const response = await http.send('GET', path, undefined, timeoutMs);
      if (response.status === 404) return undefined;
      if (response.status !== 200) throw unexpectedAnswer(response, `get mutatingwebhookconfiguration ${configurationName}`);
      const entries = (response.body as { webhooks?: WebhookEntry[] } | undefined)?.webhooks ?? [];
      return podCreationScopes(entries);
    },
    namespace: (name) => readNamespace(http, name, timeoutMs),
  };
}
