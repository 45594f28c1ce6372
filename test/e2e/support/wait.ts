import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';

export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 15_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * The API server picks up a new webhook configuration asynchronously; a
 * dry-run create shows when admission really goes through it.
 */
export async function waitUntilMutating(core: CoreV1Api, namespace: string, pod: V1Pod, check: (stored: V1Pod) => boolean): Promise<V1Pod> {
  return eventually(async () => {
    const stored = await core.createNamespacedPod({ namespace, body: pod, dryRun: 'All' });
    return check(stored) ? stored : undefined;
  }, 'the webhook to mutate a dry-run pod');
}
