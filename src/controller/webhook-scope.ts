/** A Kubernetes label selector (metav1.LabelSelector) as the API server stores it. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: ReadonlyArray<{ key: string; operator: string; values?: readonly string[] }>;
}

/** The selectors of one webhook of a MutatingWebhookConfiguration: which pods the API server sends it. */
export interface WebhookScope {
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
}

/** A webhook entry as the configuration stores it: its selectors and the requests it is sent. */
export interface WebhookEntry extends WebhookScope {
  name?: string;
  rules?: ReadonlyArray<{ resources?: readonly string[]; operations?: readonly string[] }>;
}

/**
 * The entries the API server sends pod creations to: the backfill makes up
 * for exactly those. The configuration also has the upgrade hold's entry
 * (StatefulSet and Deployment UPDATEs), whose selectors say nothing about pods.
 */
export function podCreationScopes(entries: readonly WebhookEntry[]): WebhookScope[] {
  const coversPodCreation = (w: WebhookEntry): boolean =>
    (w.rules ?? []).some((r) => (r.resources ?? []).some((x) => x === 'pods' || x === '*') && (r.operations ?? []).some((o) => o === 'CREATE' || o === '*'));
  return entries.filter(coversPodCreation).map(({ namespaceSelector, objectSelector }) => ({
    ...(namespaceSelector ? { namespaceSelector } : {}),
    ...(objectSelector ? { objectSelector } : {}),
  }));
}

/**
 * Kubernetes' own semantics (apimachinery labels.Selector): an absent or
 * empty selector selects everything, NotIn and DoesNotExist match a missing
 * key. An operator this code does not know selects nothing: backfill then
 * leaves the pod alone rather than guess.
 */
export function selectorMatches(selector: LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector?.matchExpressions ?? []) {
    const present = Object.hasOwn(labels, key);
    const value = labels[key] ?? '';
    const ok =
      operator === 'In' ? present && values.includes(value)
      : operator === 'NotIn' ? !present || !values.includes(value)
      : operator === 'Exists' ? present
      : operator === 'DoesNotExist' ? !present
      : false;
    if (!ok) return false;
  }
  return true;
}

/**
 * Whether the API server would have sent this pod to the webhook: a
 * namespace or pod that the webhook configuration leaves out (labelled
 * backup.wutong.io/inject=false, or outside the trial overlay's opted-in
 * namespaces) opted out of the webhook, and so out of its backfill too.
 */
export function webhookSees(webhooks: readonly WebhookScope[], namespaceLabels: Readonly<Record<string, string>>, podLabels: Readonly<Record<string, string>>): boolean {
  return webhooks.some((w) => selectorMatches(w.namespaceSelector, namespaceLabels) && selectorMatches(w.objectSelector, podLabels));
}
