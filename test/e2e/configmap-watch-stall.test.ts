import { jest } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import type { CoreV1Api } from '@kubernetes/client-node';
import { clients, clusterInfo, createNamespace, deleteNamespace } from './support/kube.js';
import { busyboxPod, echoPolicy, preBackupCommand } from './support/pods.js';
import { installShipped, setShippedPolicy, type ShippedInstall } from './support/shipped-install.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import type { WebhookProcess } from './support/webhook-process.js';
import { waitUntilMutating } from './support/wait.js';

// The shipped install, one replica as the ServiceAccount, whose connection to
// the API server goes through a loopback proxy that, mid-watch,
// silently stops forwarding (half-open: no FIN, no RST, no error). A policy
// edit made after that must still come into force within the bound the README
// promises: the watch's idle deadline (server timeout 30 s + 5 s) notices, the
// relist delivers the edit: 40 s.
jest.setTimeout(120_000);

const PROMISED_BOUND_MS = 40_000;
let core: CoreV1Api;
let install: ShippedInstall;
let namespace: string;
let webhook: WebhookProcess;
let proxy: TcpProxy;



beforeAll(async () => {
  ({ core } = clients());
  install = await installShipped('base');
  namespace = await createNamespace(core, 'stall');
  await setShippedPolicy(echoPolicy(['/bin/echo', 'before']));
  const info = clusterInfo();
  proxy = await startTcpProxy(() => [Number(new URL(info.server).port)]);
  // The controller keeps the TLS Secret the webhook serves from; only the webhook's own connection goes through the proxy.
  await install.startReplicas(1, { ROLE: 'controller' });
  const throughProxy = `${install.kubeconfigs.webhook}.proxied`;
  writeFileSync(throughProxy, readFileSync(install.kubeconfigs.webhook, 'utf8').replace(info.server, `https://127.0.0.1:${proxy.port}`), { mode: 0o600 });
  [webhook] = (await install.startReplicas(1, { ROLE: 'webhook' }, { kubeconfigs: { webhook: throughProxy } })) as [WebhookProcess];
  await waitUntilMutating(core, namespace, busyboxPod('probe'), (p) => preBackupCommand(p) === '["/bin/echo","before"]');
});

afterAll(async () => {
  await install?.uninstall();
  await proxy?.close();
  await deleteNamespace(core, namespace);
});

test(`an edit made after the API server connection silently stalls is in force within ${PROMISED_BOUND_MS / 1000} s`, async () => {
  // The probe saw the listed policy; give the watch that follows the list time to reach the API server.
  await new Promise((r) => setTimeout(r, 2_000));
  proxy.stall();
  await setShippedPolicy(echoPolicy(['/bin/echo', 'after']));
  const editedAt = Date.now();
  let inForceMs: number | undefined;
  while (Date.now() - editedAt < PROMISED_BOUND_MS + 10_000) {
    const pod = await core.createNamespacedPod({ namespace, body: busyboxPod('after-stall'), dryRun: 'All' });
    if (preBackupCommand(pod) === '["/bin/echo","after"]') {
      inForceMs = Date.now() - editedAt;
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  console.log(`policy edit in force ${inForceMs ?? 'never'} ms after it was made on a stalled connection`);
  expect(inForceMs).toBeDefined();
  expect(inForceMs).toBeLessThanOrEqual(PROMISED_BOUND_MS);
  // It was the idle deadline that noticed, not luck.
  expect(webhook.logs.some((l) => l.msg === 'list/watch failed; relisting' && /no data on the watch/.test(String(l.err)))).toBe(true);
});
