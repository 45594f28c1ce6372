import type { WebhookProcess } from './webhook-process.js';

/**
 * One replica of the installation as the scenarios see it: a pod of each
 * role's Deployment (a webhook, an api and a controller process, each under
 * its own ServiceAccount) behind one handle. Its url is the webhook's, its
 * apiUrl the api's; its logs are all of theirs; stopping or killing it does
 * that to every process, as a lost node would.
 */
export async function roleGroup(starts: ReadonlyArray<() => Promise<WebhookProcess>>): Promise<WebhookProcess> {
  const results = await Promise.allSettled(starts.map((start) => start()));
  const parts = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(parts.map((p) => p.kill('SIGKILL')));
    throw failed.reason;
  }
  const webhook = parts.find((p) => p.admission);
  const api = parts.find((p) => p.apiUrl !== '');
  const first = webhook ?? parts[0];
  if (!first) throw new Error('a role group needs at least one process');
  return {
    url: first.url,
    metricsUrls: parts.map((p) => p.url),
    port: first.port,
    apiUrl: api?.apiUrl ?? '',
    apiPort: api?.apiPort ?? 0,
    admission: webhook !== undefined,
    pid: first.pid,
    caPem: first.caPem,
    tlsDir: first.tlsDir,
    get logs() {
      return parts.flatMap((p) => p.logs);
    },
    alive: () => parts.every((p) => p.alive()),
    waitForLog: (predicate, timeoutMs) =>
      Promise.any(parts.map((p) => p.waitForLog(predicate, timeoutMs))).catch((err: unknown) => {
        throw err instanceof AggregateError ? (err.errors[0] as Error) : err;
      }),
    stop: async () => {
      await Promise.all(parts.map((p) => p.stop()));
    },
    kill: async (signal) => {
      await Promise.all(parts.map((p) => p.kill(signal)));
    },
  };
}
