import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { downloadHolderPod, downloadSecretObject, issueDownloadCertificate, DOWNLOAD_SECRET_NAME } from '../../../src/download/download-holder-pod.js';
import { downloadProgressPatch, downloadRequestName, downloadRequestObject, readDownloadRequest, scratchNamespaceObject, type DownloadRequest } from '../../../src/download/download-request.js';
import { archiveTokenDigest } from '../../../src/download/archive-token.js';
import { buildDownloadRestore, restoredPodProblem, DOWNLOAD_HOLD_CONTAINER } from '../../../src/velero/download-restore.js';
import { TenantDirectory } from '../../../src/tenancy/tenant-directory.js';
import { DEFAULT_TENANT_LABELS } from '../../../src/tenancy/tenant-labels.js';
import { HOUR_MS } from '../../../src/certificates/issue-certificates.js';

interface Container {
  name: string;
  image: string;
  command: string[];
  env: unknown[];
  securityContext: unknown;
  volumeMounts: Array<{ mountPath: string }>;
}
interface RestoreSpec {
  includedNamespaces: string[];
  namespaceMapping: Record<string, string>;
  includedResources: string[];
  labelSelector: unknown;
  hooks: { resources: Array<{ includedNamespaces: string[]; includedResources: string[]; postHooks: Array<{ init: { initContainers: Container[] } }> }> };
}
interface PodSpec {
  containers: Container[];
  volumes: unknown[];
  automountServiceAccountToken: boolean;
  activeDeadlineSeconds: number;
}

const IMAGE = 'registry.example/wutong-backup:0.1.0';
const request: DownloadRequest = {
  component: { namespace: 'acme-prod', serviceId: 'abc123', serviceAlias: 'gr3f2a-mysql' },
  backupName: 'abc123-20261207-1730-x1',
  operator: 'alice',
  scratchNamespace: 'wutong-backup-dl-0f3a9c',
  tokenDigest: archiveTokenDigest('t'),
  requestedAt: '2026-12-07T17:30:00Z',
  expiresAt: '2026-12-07T18:30:00Z',
};

describe('the Velero Restore behind a download (vmware-tanzu/velero v1.11.1)', () => {
  const restore = buildDownloadRestore({ name: 'dl-abc123-x', veleroNamespace: 'velero', component: { namespace: 'acme-prod', serviceId: 'abc123' }, backupName: request.backupName, scratchNamespace: request.scratchNamespace, recordName: 'download-abc123', image: IMAGE });
  const spec = restore.spec as unknown as RestoreSpec;

  it('restores the component’s claims, PVs and pods into the scratch namespace (namespaceMapping), never into the tenant’s', () => {
    expect(spec.includedNamespaces).toEqual(['acme-prod']);
    expect(spec.namespaceMapping).toEqual({ 'acme-prod': 'wutong-backup-dl-0f3a9c' });
    expect(spec.includedResources).toEqual(expect.arrayContaining(['persistentvolumeclaims', 'persistentvolumes', 'pods']));
    expect(spec.labelSelector).toEqual({ matchLabels: { service_id: 'abc123' } });
  });

  it('adds the hold init container through a hook whose namespace filter is the MAPPED namespace (item_hook_handler.go L147-154), with what Velero validates (L559-569)', () => {
    const hook = spec.hooks.resources[0]!;
    expect(hook.includedNamespaces).toEqual(['wutong-backup-dl-0f3a9c']);
    expect(hook.includedResources).toEqual(['pods']);
    const container = hook.postHooks[0]!.init.initContainers[0]!;
    expect(container).toMatchObject({ name: DOWNLOAD_HOLD_CONTAINER, image: IMAGE });
    expect(container.command.at(-1)).toBe('hold');
  });

  it('accepts a restored pod only when our hold comes first after restore-wait (L124-131, L169); a pod whose annotations replaced the hook (L134-138) is refused', () => {
    const hold = { name: DOWNLOAD_HOLD_CONTAINER, image: IMAGE };
    expect(restoredPodProblem({ name: 'p', initContainers: [{ name: 'restore-wait', image: 'velero/velero' }, hold, { name: 'tenant-init', image: 'x' }] }, IMAGE)).toBeUndefined();
    expect(restoredPodProblem({ name: 'p', initContainers: [hold] }, IMAGE)).toBeUndefined();
    expect(restoredPodProblem({ name: 'p', initContainers: [{ name: 'restore-wait' }, { name: 'restore-hook-from-annotation', image: 'tenant/image' }] }, IMAGE)).toMatch(/L134-138/);
    expect(restoredPodProblem({ name: 'p', initContainers: [{ name: 'restore-wait' }, { ...hold, image: 'other' }] }, IMAGE)).toContain('restore-wait, wutong-backup-download-hold');
  });
});

describe('the download request record', () => {
  it('is one per component (its name is the service_id), and reads back what the API wrote', () => {
    const object = downloadRequestObject(request);
    expect((object.metadata as { name: string }).name).toBe(downloadRequestName('abc123'));
    const read = readDownloadRequest({ ...object, metadata: { ...(object.metadata as object), uid: 'u', resourceVersion: '1' } });
    expect(read?.request).toEqual(request);
    expect(read?.progress).toBeUndefined();
  });

  it('carries the holder’s endpoint, the volumes and the missing ones from Ready on', () => {
    const progress = { stage: 'Ready' as const, message: 'serving', since: '2026-12-07T17:31:00Z', holder: { ip: '10.0.0.7', port: 8443, fingerprint: 'AB:CD' }, volumes: ['data'], missing: [{ claim: 'cache', why: 'skipped' }] };
    const patch = downloadProgressPatch('1', progress);
    const read = readDownloadRequest({ metadata: { name: 'download-abc123' }, data: { ...downloadRequestObject(request).data as object, ...(patch.data as object) } });
    expect(read?.progress).toEqual(progress);
  });

  it.each([
    ['a scratch namespace that is not ours', { scratchNamespace: 'acme-prod' }, /scratch namespace/],
    ['a token in clear instead of its digest', { tokenDigest: 'the-token' }, /sha256/],
    ['no expiry', { expiresAt: undefined }, /expiresAt/],
  ])('is unreadable with %s (the controller fails it, saying why)', (_what, change, why) => {
    const read = readDownloadRequest({ metadata: { name: 'download-abc123' }, data: { request: JSON.stringify({ ...request, ...change }) } });
    expect(read?.request).toBeUndefined();
    expect(read?.unreadable).toMatch(why);
  });
});

describe('the scratch namespace is no tenant env and is outside the webhook', () => {
  const ns = scratchNamespaceObject('wutong-backup-dl-0f3a9c', 'download-abc123') as { metadata: { name: string; labels: Record<string, string> } };

  it('lacks the tenant labels: the registry (the data guard, schedule, stop-backup and at-rest loops all go through it) holds no component there', () => {
    const tenants = new TenantDirectory(DEFAULT_TENANT_LABELS);
    tenants.upsert({ name: ns.metadata.name, labels: ns.metadata.labels });
    expect(tenants.isTenantNamespace(ns.metadata.name)).toBe(false);
  });

  it('is excluded by both webhooks’ namespaceSelector in the shipped manifests (backup.wutong.io/inject NotIn [false])', () => {
    const docs = parseAllDocuments(readFileSync('manifests/base/mutatingwebhookconfiguration.yaml', 'utf8')).map((d) => d.toJS() as { kind?: string; webhooks?: Array<{ namespaceSelector: { matchExpressions: Array<{ key: string; operator: string; values: string[] }> } }> });
    const config = docs.find((d) => d.kind === 'MutatingWebhookConfiguration');
    expect(config?.webhooks?.length).toBeGreaterThan(0);
    for (const webhook of config?.webhooks ?? []) {
      const selected = webhook.namespaceSelector.matchExpressions.every((e) => {
        const value = ns.metadata.labels[e.key];
        if (e.operator === 'NotIn') return value === undefined || !e.values.includes(value);
        if (e.operator === 'In') return value !== undefined && e.values.includes(value);
        throw new Error(`operator ${e.operator} not evaluated here`);
      });
      expect(selected).toBe(false);
    }
  });
});

describe('the download holder pod', () => {
  const certificate = issueDownloadCertificate(HOUR_MS);
  const pod = downloadHolderPod({ namespace: 'wutong-backup-dl-0f3a9c', image: IMAGE, claims: ['data', 'logs'], activeDeadlineSeconds: 3600, wait: '10m' }) as { spec: PodSpec };
  const container = pod.spec.containers[0]!;

  it('mounts only the restored claims, read-only, under /data/<claim>, and binds to its pod IP', () => {
    expect(container.volumeMounts.filter((m) => m.mountPath.startsWith('/data/'))).toEqual([
      { name: 'claim-0', mountPath: '/data/data', readOnly: true },
      { name: 'claim-1', mountPath: '/data/logs', readOnly: true },
    ]);
    expect(pod.spec.volumes[0]).toEqual({ name: 'claim-0', persistentVolumeClaim: { claimName: 'data', readOnly: true } });
    expect(container.command).toEqual(expect.arrayContaining(['serve-archive', '--volume', 'data=/data/data', 'logs=/data/logs']));
    expect(container.env).toEqual([{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }]);
  });

  it('can read files of any owner and nothing more: read-only root fs, every capability dropped but DAC_READ_SEARCH, no escalation, a deadline', () => {
    expect(container.securityContext).toEqual({ runAsUser: 0, runAsNonRoot: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'], add: ['DAC_READ_SEARCH'] } });
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(pod.spec.activeDeadlineSeconds).toBe(3600);
  });

  it('gets its own certificate, whose fingerprint is what the API pins, and the token’s digest only', () => {
    const secret = downloadSecretObject('wutong-backup-dl-0f3a9c', certificate, archiveTokenDigest('t')) as { metadata: { name: string }; stringData: Record<string, string> };
    expect(secret.metadata.name).toBe(DOWNLOAD_SECRET_NAME);
    expect(new X509Certificate(secret.stringData['tls.crt'] ?? '').fingerprint256).toBe(certificate.fingerprint);
    expect(secret.stringData['token-sha256']).toBe(archiveTokenDigest('t'));
    expect(JSON.stringify(secret)).not.toContain('"t"');
  });
});
