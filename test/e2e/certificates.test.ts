import { jest } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import type { AdmissionregistrationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { clients, createNamespace, deleteNamespace } from './support/kube.js';
import { installShipped, SHIPPED, type ShippedInstall } from './support/shipped-install.js';
import type { WebhookProcess } from './support/webhook-process.js';
import { hooksInjected, mysqlPod } from './support/pods.js';
import { eventually, waitUntilMutating } from './support/wait.js';

jest.setTimeout(180_000);

let core: CoreV1Api;
let admission: AdmissionregistrationV1Api;


/** The certificate a webhook presents to a fresh TLS handshake. */
function servedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      resolve(new X509Certificate(raw));
    });
    socket.on('error', reject);
  });
}

beforeAll(() => {
  ({ core, admission } = clients());
});

describe('TLS_SOURCE=self (the shipped Deployment) with two replicas, as the ServiceAccount', () => {
  let namespace: string;
  let install: ShippedInstall;
  let replicas: WebhookProcess[] = [];

  beforeAll(async () => {
    install = await installShipped('base');
    replicas = await install.startReplicas(2, { TLS_RELOAD_INTERVAL: '1s' });
    namespace = await createNamespace(core, 'tls');
  });
  afterAll(async () => {
    await install?.uninstall();
    await deleteNamespace(core, namespace);
  });

  test('two replicas started together create one Secret and converge on one CA', async () => {
    const ca = await install.storedCa();
    expect(ca.ca).toBe(true);
    for (const replica of replicas) {
      const served = await eventually(async () => {
        const cert = await servedCertificate(replica.port);
        return cert.verify(ca.publicKey) ? cert : undefined;
      }, 'the replica to serve a certificate signed by the stored CA');
      expect(served.subjectAltName).toContain(`DNS:wutong-backup.${SHIPPED.namespace}.svc`);
    }
  });

  test('the shipped webhook configuration gets the CA as caBundle, and the API server admits pods through it', async () => {
    const ca = await install.storedCa();
    await eventually(async () => {
      const config = await admission.readMutatingWebhookConfiguration({ name: SHIPPED.webhookConfiguration });
      const bundles = (config.webhooks ?? []).map((w) => Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString());
      // Both entries (pods, and the upgrade hold's workloads) are served by the same certificate.
      return bundles.length === 2 && bundles.every((b) => b.includes(ca.toString().trim().split('\n')[1] ?? '?')) ? true : undefined;
    }, 'caBundle on both webhook entries');
    const stored = await waitUntilMutating(core, namespace, mysqlPod('through-self-tls'), hooksInjected);
    expect(hooksInjected(stored)).toBe(true);
  });
});

describe('forced rotation with short lifetimes under the fail-closed overlay, as the ServiceAccount', () => {
  let namespace: string;
  let install: ShippedInstall;
  let replica: WebhookProcess;

  beforeAll(async () => {
    install = await installShipped('overlays/fail-closed');
    [replica] = (await install.startReplicas(1, {
      CA_VALIDITY: '60s',
      CERT_VALIDITY: '30s',
      TLS_CHECK_INTERVAL: '2s',
      // The webhook role re-reads the Secret: at the 10 s default it could miss a 30 s certificate's renewal (config refuses that).
      TLS_RELOAD_INTERVAL: '1s',
      TLS_CA_OVERLAP: '5s',
    })) as [WebhookProcess];
    namespace = await createNamespace(core, 'rotation');
    await waitUntilMutating(core, namespace, mysqlPod('before-rotation'), hooksInjected);
  });
  afterAll(async () => {
    await install?.uninstall();
    await deleteNamespace(core, namespace);
  });

  test('pods keep being admitted (failurePolicy Fail) while the serving certificate and the CA rotate', async () => {
    const firstCa = await install.storedCa();
    const firstServed = await servedCertificate(replica.port);
    const deadline = Date.now() + 90_000;
    let created = 0;
    while (Date.now() < deadline) {
      const stored = await core.createNamespacedPod({ namespace, body: mysqlPod(`during-rotation-${created}`) }).catch((err: unknown) => {
        // What the keeper did and when: the only way to tell a late renewal from a caBundle that lagged.
        const tls = replica.logs.filter((l) => l.component === 'tls').map((l) => `${String(l.time)} ${String(l.msg)}`);
        throw new Error(`admission failed after ${created} pods: ${String(err)}\nkeeper log:\n${tls.join('\n')}`);
      });
      expect(hooksInjected(stored)).toBe(true);
      created++;
      const rotated = replica.logs.some((l) => l.msg === 'CA rotation finished: old CA removed from caBundle');
      if (rotated && created > 10) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    // Renewal and rotation write the Secret with a patch: the ServiceAccount's RBAC must allow it.
    expect(replica.logs.filter((l) => Number(l.level) >= 50).map((l) => l.msg)).toEqual([]);
    expect(replica.logs.some((l) => String(l.msg).startsWith('renewed the serving certificate'))).toBe(true);
    expect(replica.logs.some((l) => l.msg === 'CA rotation finished: old CA removed from caBundle')).toBe(true);
    const lastCa = await install.storedCa();
    expect(lastCa.fingerprint256).not.toBe(firstCa.fingerprint256);
    const lastServed = await servedCertificate(replica.port);
    expect(lastServed.fingerprint256).not.toBe(firstServed.fingerprint256);
    expect(lastServed.verify(lastCa.publicKey)).toBe(true);
  });
});
