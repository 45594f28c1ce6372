import { jest } from '@jest/globals';
import { namespaceTag, scheduleName } from '../../src/velero/object-names.js';
import { archiveTokenDigest, newArchiveToken } from '../../src/download/archive-token.js';
import { DOWNLOAD_HOLDER_NAME } from '../../src/download/download-holder-pod.js';
import { downloadRequestObject, SCRATCH_NAMESPACE_PREFIX } from '../../src/download/download-request.js';
import { readFileSync } from 'node:fs';
import { apiRequest } from './cluster/cluster.js';
import { startBackupApiTestbed, VELERO_NAMESPACE, type BackupApiTestbed } from './support/backup-api-testbed.js';
import { clients, clusterInfo } from './support/kube.js';
import { findObject } from './support/kustomize.js';
import { setShippedPolicy, SHIPPED, SHIPPED_ROLES, shippedUser, type ShippedInstall, type ShippedRole } from './support/shipped-install.js';
import { scrapeMetrics } from './support/metrics-reader.js';
import { eventually } from './support/wait.js';
import type { WebhookProcess } from './support/webhook-process.js';
import { claimNameOf, createWutongVolume, deleteWutongComponent, stopWutongComponent } from './support/wutong-component.js';

jest.setTimeout(420_000);

const GROUPS = ['system:serviceaccounts', `system:serviceaccounts:${SHIPPED.namespace}`, 'system:authenticated'];
const roleOfUser = new Map(SHIPPED_ROLES.map((role) => [shippedUser(role), role]));

/** One kind of request, as the authorizer sees it. */
interface Call {
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}
interface AuditEvent {
  auditID: string;
  stage: string;
  verb: string;
  requestURI: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string; apiGroup?: string };
  responseStatus?: { code?: number };
  /** authorization.k8s.io/decision: "allow" or "forbid", what RBAC said (a 403 can also come from admission, e.g. a namespace being deleted). */
  annotations?: Record<string, string>;
}
interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}

const key = (c: Call): string => `${c.verb} ${c.group || 'core'}/${c.resource}${c.subresource ? `/${c.subresource}` : ''} ${c.namespace || '(cluster)'}/${c.name || '*'}`;

/** Every request one of the roles' ServiceAccounts made, as the audit log has it. */
function auditedRequests(): AuditEvent[] {
  return readFileSync(clusterInfo().auditLogPath, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as AuditEvent)
    .filter((e) => roleOfUser.has(e.user.username) && (e.stage === 'ResponseComplete' || e.stage === 'ResponseStarted'));
}

function callOf(e: AuditEvent): Call {
  const o = e.objectRef ?? {};
  return { verb: e.verb, group: o.apiGroup ?? '', resource: o.resource ?? '', subresource: o.subresource ?? '', namespace: o.namespace ?? '', name: o.name ?? '' };
}

/** Asks the API server's authorizer whether the role's ServiceAccount may make `call`. */
async function allowed(role: ShippedRole, call: Call): Promise<boolean> {
  const res = await apiRequest(clusterInfo(), 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: shippedUser(role),
      groups: GROUPS,
      resourceAttributes: { verb: call.verb, group: call.group, resource: call.resource, subresource: call.subresource, namespace: call.namespace, name: call.name },
    },
  });
  if (res.status !== 201) throw new Error(`SubjectAccessReview: ${res.status} ${res.body}`);
  return (res.json as { status?: { allowed?: boolean } }).status?.allowed === true;
}

function grantedBy(rule: PolicyRule, namespace: string, call: Call): boolean {
  const resource = call.subresource ? `${call.resource}/${call.subresource}` : call.resource;
  return rule.apiGroups.includes(call.group) && rule.resources.includes(resource) && rule.verbs.includes(call.verb)
    && (rule.resourceNames === undefined || rule.resourceNames.includes(call.name))
    && (namespace === '' || call.namespace === namespace);
}

let bed: BackupApiTestbed;
let install: ShippedInstall;
/** Per role, each kind of request its ServiceAccount made, with the status codes it got. */
let calls: Record<ShippedRole, Map<string, { call: Call; codes: Set<number> }>>;

const policyText = (timeout: string): string => `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: app
    match: { image: '^busybox' }
    backup: { pre: { command: ["/bin/true"], timeout: ${timeout} } }
`;

/**
 * Everything the webhook does against the API server, as the ServiceAccount:
 * bootstrap (Secret, caBundle), the policy watch, an Event for a rejected
 * policy, and a certificate renewal (short validities, so it happens now).
 */
async function exerciseWebhook(installed: ShippedInstall): Promise<void> {
  const { core } = clients();
  const [replica] = (await installed.startReplicas(1, { CA_VALIDITY: '90s', CERT_VALIDITY: '15s', TLS_CHECK_INTERVAL: '1s', TLS_RELOAD_INTERVAL: '1s', TLS_CA_OVERLAP: '5s' })) as [WebhookProcess];
  const setPolicy = (text: string): Promise<unknown> =>
    core.replaceNamespacedConfigMap({
      name: SHIPPED.policyConfigMap,
      namespace: SHIPPED.namespace,
      body: { metadata: { name: SHIPPED.policyConfigMap, namespace: SHIPPED.namespace }, data: { 'policy.yaml': text } },
    });
  await setPolicy(policyText('1m'));
  await setPolicy(policyText('soon'));
  await replica.waitForLog((l) => String(l.msg).startsWith('renewed the serving certificate'), 60_000);
  await replica.waitForLog((l) => String(l.msg).includes('caBundle updated'), 30_000);
  // An Event is written asynchronously after the rejection.
  await eventually(() => Promise.resolve(auditedRequests().some((e) => e.objectRef?.resource === 'events') ? true : undefined), 'the Event about the rejected policy', 20_000, 250);
  await replica.stop();
  // Valid again; the component is protected later, once the API has made and removed its own Schedule (exerciseBackupApi).
  await setPolicy(policyText('1m'));
  // The API replica starts from a fresh CA (default validity), so the 90 s CA above cannot rotate under its clients.
  await apiRequest(clusterInfo(), 'DELETE', `/api/v1/namespaces/${SHIPPED.namespace}/secrets/${SHIPPED.tlsSecret}`);
}

type Bean<T> = { bean: T };

/**
 * A download's controller half (the route still answers with Velero's URL,
 * so the test writes the request record as the API does): the controller
 * creates the scratch namespace (create namespaces) and the Velero Restore
 * into it (create restores), deletes the restored pod, creates the holder's
 * Secret (create secrets) and pod; once the record is gone, its sweep
 * deletes the Restore and the namespace (delete restores, namespaces).
 */
async function exerciseDownloadController(backupId: string): Promise<void> {
  const { component } = bed;
  const scratch = `${SCRATCH_NAMESPACE_PREFIX}rbac${process.pid.toString(16)}`;
  const now = Date.now();
  const record = downloadRequestObject({
    component: { namespace: component.namespace, serviceId: component.serviceId, serviceAlias: component.alias },
    backupName: backupId,
    operator: 'rbac',
    scratchNamespace: scratch,
    tokenDigest: archiveTokenDigest(newArchiveToken()),
    requestedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + 10 * 60_000).toISOString(),
  });
  const recordName = (record.metadata as { name: string }).name;
  const created = await apiRequest(clusterInfo(), 'POST', `/api/v1/namespaces/${SHIPPED.namespace}/configmaps`, record);
  if (created.status !== 201) throw new Error(`creating the download request record: ${created.status} ${created.body.slice(0, 200)}`);
  await eventually(async () => {
    const progress = (await apiRequest(clusterInfo(), 'GET', `/api/v1/namespaces/${SHIPPED.namespace}/configmaps/${recordName}`)).json as { data?: { progress?: string } };
    if (progress.data?.progress?.includes('"Failed"')) throw new Error(`the download failed: ${progress.data.progress}`);
    const holder = await apiRequest(clusterInfo(), 'GET', `/api/v1/namespaces/${scratch}/pods/${DOWNLOAD_HOLDER_NAME}`);
    return holder.status === 200 ? true : undefined;
  }, 'the download holder pod created', 90_000, 250);
  const removed = await apiRequest(clusterInfo(), 'DELETE', `/api/v1/namespaces/${SHIPPED.namespace}/configmaps/${recordName}`);
  if (removed.status !== 200) throw new Error(`removing the download request record: ${removed.status}`);
  await eventually(async () => {
    const ns = await apiRequest(clusterInfo(), 'GET', `/api/v1/namespaces/${scratch}`);
    const deleting = ns.status === 404 || (ns.json as { metadata?: { deletionTimestamp?: string } }).metadata?.deletionTimestamp !== undefined;
    const restoreGone = !(await bed.veleroObjects('restores')).some((o) => o.metadata.name === scratch);
    return deleting && restoreGone ? true : undefined;
  }, 'the scratch namespace and the download Restore deleted by the sweep', 60_000, 250);
}

/** The component's rule with protection (a Schedule, the backup before upgrade) and `extra` protection fields. */
const protectedPolicy = (extra: string): string => `${policyText('1m')}  - name: db\n    profile: mysql\n    protection: { schedule: '@daily', backupBeforeUpgrade: true${extra} }\n`;

/**
 * Every backup API route once, as the console, in an order that makes each
 * permission of ClusterRole wutong-backup-api, Role wutong-backup-velero and
 * the leases rule of Role wutong-backup necessary: a cache miss (get backups,
 * get restores), a take-over of an expired Lease (update leases), a download
 * (downloadrequests), a schedule's life (schedules), a backup of the stopped
 * component through a holder pod (create and delete pods), a restore of it
 * and its deletion, a backup's deletion (deletebackuprequests), the
 * at-rest request record that backup went through (configmaps: create and
 * get by the API; patch and delete by the controller).
 */
async function exerciseBackupApi(): Promise<void> {
  const { component, call } = bed;
  const ok = async (method: string, path: string, body?: unknown, status = 200): Promise<unknown> => {
    const answer = await call(method, `${component.path}${path}`, body === undefined ? {} : { body });
    if (answer.status !== status) throw new Error(`${method} ${path}: ${answer.status} ${answer.text} (expected ${status})`);
    return answer.json;
  };
  // A Lease left by a replica that died mid-request: the next backup takes it over (get, then update).
  const lease = await apiRequest(clusterInfo(), 'POST', `/apis/coordination.k8s.io/v1/namespaces/${SHIPPED.namespace}/leases`, {
    metadata: { name: `wutong-backup-${component.serviceId}-${namespaceTag(component.namespace)}` },
    spec: { holderIdentity: 'a-replica-that-died/0000', leaseDurationSeconds: 30, acquireTime: '2020-01-01T00:00:00.000000Z', renewTime: '2020-01-01T00:00:00.000000Z' },
  });
  if (lease.status !== 201) throw new Error(`creating the stale Lease: ${lease.status} ${lease.body.slice(0, 200)}`);
  const backupId = ((await ok('POST', '/backup', { desc: 'rbac', operator: 'rbac' })) as Bean<{ backup_id: string }>).bean.backup_id;
  await bed.replicas.find((r) => r.apiUrl !== '')!.waitForLog((l) => String(l.msg).startsWith('took over an expired component lock') && l.previousHolder === 'a-replica-that-died/0000', 10_000);
  await eventually(async () => {
    const records = (await ok('GET', '/backup/records')) as { list: Array<{ backup_id: string; status: string }> };
    return records.list.some((r) => r.backup_id === backupId && r.status === 'Completed') ? true : undefined;
  }, `backup ${backupId} Completed`, 90_000);
  await ok('GET', `/backup/${backupId}/download`);
  await ok('GET', '/backup/no-such-backup/download', undefined, 404);
  await exerciseDownloadController(backupId);
  await ok('DELETE', '/restore/no-such-restore', undefined, 404);
  await ok('GET', '/restore/records');
  await ok('POST', '/backup/schedule', { cron: '@daily', desc: 'rbac' });
  await ok('GET', '/backup/schedule');
  await ok('PUT', '/backup/schedule', { cron: '@weekly' });
  await ok('DELETE', '/backup/schedule');
  // The controller's work: the component protected, so its Schedule is made (get the region API's first, create, Events in the component's
  // namespace), the upgrade below held and released, and the Schedule paused on the stop.
  await setShippedPolicy(protectedPolicy(''));
  await eventually(async () => ((await bed.veleroObjects('schedules')).some((o) => o.metadata.name === scheduleName(component)) ? true : undefined), 'the policy Schedule', 60_000, 250);
  // An upgrade of the protected StatefulSet: held by the webhook, backed up, and released by the controller (patch statefulsets).
  const statefulSet = `/apis/apps/v1/namespaces/${component.namespace}/statefulsets/${component.alias}`;
  const current = (await apiRequest(clusterInfo(), 'GET', statefulSet)).json as { spec: { template: { spec: { containers: { image: string }[] } } } };
  current.spec.template.spec.containers[0]!.image = 'mysql:8.0.37';
  const upgraded = await apiRequest(clusterInfo(), 'PUT', statefulSet, current);
  if (upgraded.status !== 200) throw new Error(`upgrading the StatefulSet: ${upgraded.status} ${upgraded.body.slice(0, 200)}`);
  await eventually(async () => {
    const hold = ((await apiRequest(clusterInfo(), 'GET', statefulSet)).json as { metadata: { annotations?: Record<string, string> } }).metadata.annotations?.['backup.wutong.io/upgrade-hold'];
    return hold !== undefined && (JSON.parse(hold) as { state: string }).state === 'released' ? true : undefined;
  }, 'the upgrade hold released', 90_000);
  await stopWutongComponent(bed.apps, bed.core, component);
  // A backup of the stopped component, at rest: its holder pod is created, and deleted by the sweep once the Backup has completed (create, delete pods).
  const atRestId = ((await ok('POST', '/backup', { desc: 'at rest', operator: 'rbac' })) as Bean<{ backup_id: string }>).bean.backup_id;
  await eventually(async () => {
    const records = (await ok('GET', '/backup/records')) as { list: Array<{ backup_id: string; status: string }> };
    return records.list.some((r) => r.backup_id === atRestId && r.status === 'Completed') ? true : undefined;
  }, `backup ${atRestId} Completed`, 90_000);
  await eventually(async () => ((await bed.core.listNamespacedPod({ namespace: component.namespace, labelSelector: 'backup.wutong.io/holder' })).items.length === 0 ? true : undefined), 'the holder pod removed', 60_000, 250);
  // The API handed that backup to the controller through a request record, which the controller deletes once it has been kept (delete configmaps).
  await eventually(async () => ((await bed.core.listNamespacedConfigMap({ namespace: SHIPPED.namespace, labelSelector: 'backup.wutong.io/at-rest-request' })).items.length === 0 ? true : undefined), 'the at-rest request record removed', 30_000, 250);
  const restoreId = ((await ok('POST', '/restore', { backup_id: backupId })) as Bean<{ restore_id: string }>).bean.restore_id;
  await eventually(async () => {
    const records = (await ok('GET', '/restore/records')) as { list: Array<{ restore_id: string; status: string }> };
    return records.list.some((r) => r.restore_id === restoreId && r.status === 'Completed') ? true : undefined;
  }, `restore ${restoreId} Completed`, 90_000);
  await ok('DELETE', `/restore/${restoreId}`);
  // Velero restored the backed-up pod to write the volume through it, and the kubelet stand-in runs it: Wutong stops the component again before deleting it.
  const running = await bed.core.listNamespacedPod({ namespace: component.namespace, labelSelector: `service_id=${component.serviceId}` });
  for (const pod of running.items) await bed.core.deleteNamespacedPod({ namespace: component.namespace, name: pod.metadata?.name ?? '', gracePeriodSeconds: 0 });
  await eventually(async () => ((await bed.core.listNamespacedPod({ namespace: component.namespace, labelSelector: `service_id=${component.serviceId}` })).items.length === 0 ? true : undefined), 'the restored pod gone', 60_000, 250);
  await ok('DELETE', `/backup/${backupId}`, undefined, 202);
  // Retention: keep 1 leaves the at-rest backup and prunes the upgrade's through a DeleteBackupRequest of the controller's own.
  await setShippedPolicy(protectedPolicy(', keep: 1'));
  await eventually(
    () => Promise.resolve(auditedRequests().some((e) => e.user.username === shippedUser('controller') && e.verb === 'create' && e.objectRef?.resource === 'deletebackuprequests') ? true : undefined),
    'retention\'s DeleteBackupRequest',
    60_000,
    250,
  );
  // The download's DownloadRequest is deleted after the answer, without waiting.
  await eventually(() => Promise.resolve(auditedRequests().some((e) => e.verb === 'delete' && e.objectRef?.resource === 'downloadrequests') ? true : undefined), 'the DownloadRequest deleted', 20_000, 250);
  // Last (the component is gone afterwards), the data guard: the stopped component's PVC bound to a Wutong-style PV, then Wutong's delete with no
  // backup started since the stop: the PV is read and set to Retain, the record created, the finalizer removed.
  await createWutongVolume(component, `pv-rbac-${process.pid}`);
  const claimPath = `/api/v1/namespaces/${component.namespace}/persistentvolumeclaims/${claimNameOf(component)}`;
  await eventually(async () => ((await apiRequest(clusterInfo(), 'GET', claimPath)).json as { status?: { phase?: string } }).status?.phase === 'Bound' ? true : undefined, 'the PVC bound', 60_000, 250);
  await deleteWutongComponent(component);
  await eventually(async () => ((await apiRequest(clusterInfo(), 'GET', claimPath)).status === 404 ? true : undefined), 'the PVC released and gone', 60_000, 250);
  const record = await apiRequest(clusterInfo(), 'GET', `/api/v1/namespaces/${SHIPPED.namespace}/configmaps/retained-pv-rbac-${process.pid}`);
  if (record.status !== 200) throw new Error(`the retained-volume record: ${record.status}`);
}

// Run the webhook's and the backup API's work against the API server, then
// read what the ServiceAccount did from the API server's audit log.
beforeAll(async () => {
  // Answered at-rest backup requests kept 2 s, so the controller's delete of one happens during the run.
  bed = await startBackupApiTestbed({
    suite: 'rbac',
    serviceId: 'c3d4e5f60718293a4b5c6d7e8f90a1b2',
    alias: 'gr0rbac',
    replicaEnvs: SHIPPED_ROLES.map((role) => ({ ROLE: role, ...(role === 'controller' ? { AT_REST_REQUEST_KEEP: '2s' } : {}) })),
    target: 'base',
    beforeReplicas: exerciseWebhook,
  });
  install = bed.install;
  await exerciseBackupApi();
  // Prometheus's scrape of each role: TokenReview and SubjectAccessReview by that role's ServiceAccount.
  for (const replica of bed.replicas) await scrapeMetrics(replica.url, bed.caPem);
  for (const replica of bed.replicas) await replica.stop();
  calls = { webhook: new Map(), api: new Map(), controller: new Map() };
  for (const e of auditedRequests()) {
    const role = roleOfUser.get(e.user.username);
    if (!role) continue;
    const call = callOf(e);
    const entry = calls[role].get(key(call)) ?? { call, codes: new Set<number>() };
    // Only RBAC's refusals count: an Event created in a namespace that is being deleted is refused (403) by admission, not by the authorizer.
    const decision = e.annotations?.['authorization.k8s.io/decision'];
    entry.codes.add(decision === 'forbid' || (decision === undefined && e.responseStatus?.code === 403) ? 403 : e.responseStatus?.code ?? 0);
    calls[role].set(key(call), entry);
  }
});
afterAll(async () => {
  await bed?.stop();
  await apiRequest(clusterInfo(), 'DELETE', `/api/v1/persistentvolumes/pv-rbac-${process.pid}`);
});

test.each(SHIPPED_ROLES)('no request the %s ServiceAccount made during the e2e run was refused by the authorizer, and the authorizer allows each kind of them', async (role) => {
  expect(calls[role].size).toBeGreaterThan(0);
  const refused = [...calls[role].values()].filter((c) => c.codes.has(403)).map((c) => key(c.call));
  expect(refused).toEqual([]);
  const denied: string[] = [];
  for (const { call } of calls[role].values()) if (!(await allowed(role, call))) denied.push(key(call));
  expect(denied).toEqual([]);
});

test.each(['webhook', 'controller'] as const)('the %s role\'s policy watch is authorized by name: list and watch carry the ConfigMap name from fieldSelector metadata.name', (role) => {
  const policyCalls = [...calls[role].values()].map((c) => c.call).filter((c) => c.resource === 'configmaps' && c.name === SHIPPED.policyConfigMap);
  expect(policyCalls.every((c) => c.namespace === SHIPPED.namespace)).toBe(true);
  expect(new Set(policyCalls.map((c) => c.verb))).toEqual(new Set(['list', 'watch']));
});

test('the project\'s records: the api role creates at-rest backup and restore requests, reads them by name, watches and lists them by label, deletes a finished restore\'s; the controller lists and watches records by label, answers (patch) and deletes only requests (at-rest, restore and download)', () => {
  const records = (role: ShippedRole): Call[] => [...calls[role].values()].map((c) => c.call).filter((c) => c.resource === 'configmaps' && c.name !== SHIPPED.policyConfigMap);
  const request = (name: string): boolean => name.startsWith('at-rest-') || name.startsWith('restore-') || name.startsWith('download-');
  expect(records('api').every((c) => c.namespace === SHIPPED.namespace)).toBe(true);
  expect(new Set(records('api').map((c) => c.verb))).toEqual(new Set(['create', 'get', 'list', 'watch', 'delete']));
  expect(records('api').filter((c) => c.verb === 'get' || c.verb === 'delete').every((c) => request(c.name))).toBe(true);
  expect(records('api').filter((c) => c.verb === 'list' || c.verb === 'watch').every((c) => c.name === '')).toBe(true);
  const controller = records('controller');
  expect(controller.every((c) => c.namespace === SHIPPED.namespace)).toBe(true);
  expect(new Set(controller.map((c) => c.verb))).toEqual(new Set(['list', 'watch', 'create', 'patch', 'delete']));
  expect(controller.filter((c) => c.verb === 'list' || c.verb === 'watch').every((c) => c.name === '')).toBe(true);
  expect(controller.filter((c) => c.verb === 'patch' || c.verb === 'delete').every((c) => request(c.name))).toBe(true);
});

test('the webhook role reads its policy and its TLS Secret, writes PolicyRejected Events, checks /metrics callers, and makes no other call', () => {
  const made = new Set([...calls.webhook.values()].map(({ call }) => `${call.verb} ${call.resource} ${call.name}`.trim()));
  const expected = [`list configmaps ${SHIPPED.policyConfigMap}`, `watch configmaps ${SHIPPED.policyConfigMap}`, `get secrets ${SHIPPED.tlsSecret}`, 'create events'];
  const mayAlso = ['create tokenreviews', 'create subjectaccessreviews'];
  expect([...made].filter((m) => !expected.includes(m) && !mayAlso.includes(m))).toEqual([]);
  expect(expected.filter((e) => !made.has(e))).toEqual([]);
});

interface Binding {
  kind: string;
  metadata: { name: string; namespace?: string };
  roleRef: { kind: string; name: string };
  subjects: { kind: string; name: string; namespace?: string }[];
}

test('every permission rbac.yaml grants a role is used by a request that role made (nothing granted in vain, to any role)', () => {
  const unused: string[] = [];
  const bindings = install.objects.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') as unknown as Binding[];
  expect(bindings.length).toBeGreaterThan(0);
  for (const binding of bindings) {
    const granted = findObject(install.objects, binding.roleRef.kind, binding.roleRef.name) as unknown as { metadata: { namespace?: string }; rules: PolicyRule[] };
    for (const subject of binding.subjects) {
      const role = SHIPPED_ROLES.find((r) => SHIPPED.serviceAccount(r) === subject.name);
      if (!role) throw new Error(`${binding.kind} ${binding.metadata.name} binds ${subject.name}, which is no role's ServiceAccount`);
      for (const rule of granted.rules) {
        for (const verb of rule.verbs) {
          const single = { ...rule, verbs: [verb] };
          if (![...calls[role].values()].some(({ call }) => grantedBy(single, binding.metadata.namespace ?? '', call))) {
            unused.push(`${role}: ${binding.roleRef.kind} ${binding.roleRef.name}: ${verb} ${rule.resources.join(',')} ${rule.resourceNames?.join(',') ?? '*'}`);
          }
        }
      }
    }
  }
  expect(unused).toEqual([]);
});

// What the network-facing roles must never be able to do (issue I): a compromised webhook or API pod reads no tenant's volume, changes no
// tenant object, no trust, and (the webhook) no Velero object, whose hooks Velero runs as cluster-admin in any namespace.
const tenantWrites: Array<[string, Call]> = [
  ['create pods', { verb: 'create', group: '', resource: 'pods', subresource: '', namespace: 'default', name: '' }],
  ['delete pods', { verb: 'delete', group: '', resource: 'pods', subresource: '', namespace: 'default', name: 'any' }],
  ['patch pods', { verb: 'patch', group: '', resource: 'pods', subresource: '', namespace: 'default', name: 'any' }],
  ['exec into pods', { verb: 'create', group: '', resource: 'pods', subresource: 'exec', namespace: 'default', name: 'any' }],
  ['patch PersistentVolumes', { verb: 'patch', group: '', resource: 'persistentvolumes', subresource: '', namespace: '', name: 'any' }],
  ['patch PVCs', { verb: 'patch', group: '', resource: 'persistentvolumeclaims', subresource: '', namespace: 'default', name: 'any' }],
  ['delete PVCs', { verb: 'delete', group: '', resource: 'persistentvolumeclaims', subresource: '', namespace: 'default', name: 'any' }],
  ['patch StatefulSets', { verb: 'patch', group: 'apps', resource: 'statefulsets', subresource: '', namespace: 'default', name: 'any' }],
  ['patch Deployments', { verb: 'patch', group: 'apps', resource: 'deployments', subresource: '', namespace: 'default', name: 'any' }],
  ['patch the MutatingWebhookConfiguration (caBundle)', { verb: 'patch', group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', subresource: '', namespace: '', name: SHIPPED.webhookConfiguration }],
  ['patch its TLS Secret', { verb: 'patch', group: '', resource: 'secrets', subresource: '', namespace: SHIPPED.namespace, name: SHIPPED.tlsSecret }],
  ['create Secrets in its namespace', { verb: 'create', group: '', resource: 'secrets', subresource: '', namespace: SHIPPED.namespace, name: '' }],
  ['get another Secret in its namespace', { verb: 'get', group: '', resource: 'secrets', subresource: '', namespace: SHIPPED.namespace, name: 'wutong-backup-webhook-token-x' }],
  ['create Events in a tenant namespace', { verb: 'create', group: '', resource: 'events', subresource: '', namespace: 'default', name: '' }],
];
const veleroWrites: Array<[string, Call]> = ['backups', 'restores', 'schedules', 'deletebackuprequests', 'downloadrequests'].map((resource) => [
  `create ${resource}`,
  { verb: 'create', group: 'velero.io', resource, subresource: '', namespace: VELERO_NAMESPACE, name: '' },
]);
const componentReads: Array<[string, Call]> = [
  ['list pods', { verb: 'list', group: '', resource: 'pods', subresource: '', namespace: '', name: '' }],
  ['list PVCs', { verb: 'list', group: '', resource: 'persistentvolumeclaims', subresource: '', namespace: '', name: '' }],
  ['list Backups', { verb: 'list', group: 'velero.io', resource: 'backups', subresource: '', namespace: VELERO_NAMESPACE, name: '' }],
  ['create Leases', { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', subresource: '', namespace: SHIPPED.namespace, name: '' }],
  ['read the project\'s records (ConfigMaps by name)', { verb: 'get', group: '', resource: 'configmaps', subresource: '', namespace: SHIPPED.namespace, name: 'at-rest-x' }],
  ['create ConfigMaps in its namespace', { verb: 'create', group: '', resource: 'configmaps', subresource: '', namespace: SHIPPED.namespace, name: '' }],
];

test.each([...tenantWrites, ...veleroWrites, ...componentReads])('the webhook role may not %s', async (_what, call) => {
  expect(await allowed('webhook', call)).toBe(false);
});

test.each(tenantWrites)('the api role may not %s', async (_what, call) => {
  expect(await allowed('api', call)).toBe(false);
});

// Neighbours no role may reach, although each works next to them.
const neighbours: Array<[string, Call]> = [
  ['list Secrets cluster-wide', { verb: 'list', group: '', resource: 'secrets', subresource: '', namespace: '', name: '' }],
  ['list Secrets in its namespace', { verb: 'list', group: '', resource: 'secrets', subresource: '', namespace: SHIPPED.namespace, name: '' }],
  ['get another Secret in its namespace', { verb: 'get', group: '', resource: 'secrets', subresource: '', namespace: SHIPPED.namespace, name: 'wutong-backup-token-x' }],
  ['watch its own Secret', { verb: 'watch', group: '', resource: 'secrets', subresource: '', namespace: SHIPPED.namespace, name: SHIPPED.tlsSecret }],
  ['delete its own Secret', { verb: 'delete', group: '', resource: 'secrets', subresource: '', namespace: SHIPPED.namespace, name: SHIPPED.tlsSecret }],
  ['patch another MutatingWebhookConfiguration', { verb: 'patch', group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', subresource: '', namespace: '', name: 'someone-else' }],
  ['list MutatingWebhookConfigurations', { verb: 'list', group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', subresource: '', namespace: '', name: '' }],
  // The project's records are created, read by name (at-rest requests), merge-patched with a resourceVersion and deleted (at-rest requests): never updated.
  ['update a ConfigMap in its namespace', { verb: 'update', group: '', resource: 'configmaps', subresource: '', namespace: SHIPPED.namespace, name: 'retained-pv-1' }],
  ['create ConfigMaps elsewhere', { verb: 'create', group: '', resource: 'configmaps', subresource: '', namespace: 'default', name: '' }],
  // The data guard keeps PVs (get, patch); it never deletes or lists them, nor deletes or updates PVCs.
  ['delete a PersistentVolume', { verb: 'delete', group: '', resource: 'persistentvolumes', subresource: '', namespace: '', name: 'any' }],
  ['list PersistentVolumes', { verb: 'list', group: '', resource: 'persistentvolumes', subresource: '', namespace: '', name: '' }],
  ['update a PVC', { verb: 'update', group: '', resource: 'persistentvolumeclaims', subresource: '', namespace: 'default', name: 'any' }],
  ['update its policy ConfigMap', { verb: 'update', group: '', resource: 'configmaps', subresource: '', namespace: SHIPPED.namespace, name: SHIPPED.policyConfigMap }],
  ['read ConfigMaps elsewhere', { verb: 'list', group: '', resource: 'configmaps', subresource: '', namespace: 'kube-system', name: '' }],
  // Creating Events anywhere is granted (the controller's Events on tenant workloads); changing anyone's is not.
  ['delete Events elsewhere', { verb: 'delete', group: '', resource: 'events', subresource: '', namespace: 'default', name: 'any' }],
  ['update Events elsewhere', { verb: 'update', group: '', resource: 'events', subresource: '', namespace: 'default', name: 'any' }],
  // The backup API's neighbours: what it must never do, although it works next to it.
  ['list Secrets in Velero\'s namespace (object-storage credentials)', { verb: 'list', group: '', resource: 'secrets', subresource: '', namespace: VELERO_NAMESPACE, name: '' }],
  ['get Velero\'s credentials Secret', { verb: 'get', group: '', resource: 'secrets', subresource: '', namespace: VELERO_NAMESPACE, name: 'cloud-credentials' }],
  ['get a Secret in a tenant namespace', { verb: 'get', group: '', resource: 'secrets', subresource: '', namespace: 'default', name: 'db-password' }],
  ['delete a Backup directly (orphaning its data)', { verb: 'delete', group: 'velero.io', resource: 'backups', subresource: '', namespace: VELERO_NAMESPACE, name: 'any' }],
  ['update a Backup', { verb: 'update', group: 'velero.io', resource: 'backups', subresource: '', namespace: VELERO_NAMESPACE, name: 'any' }],
  ['patch a Backup\'s status', { verb: 'patch', group: 'velero.io', resource: 'backups', subresource: 'status', namespace: VELERO_NAMESPACE, name: 'any' }],
  ['delete a DeleteBackupRequest', { verb: 'delete', group: 'velero.io', resource: 'deletebackuprequests', subresource: '', namespace: VELERO_NAMESPACE, name: 'any' }],
  ['create PodVolumeBackups', { verb: 'create', group: 'velero.io', resource: 'podvolumebackups', subresource: '', namespace: VELERO_NAMESPACE, name: '' }],
  ['read Velero\'s repository passwords (BackupRepositories)', { verb: 'list', group: 'velero.io', resource: 'backuprepositories', subresource: '', namespace: VELERO_NAMESPACE, name: '' }],
  ['change a BackupStorageLocation', { verb: 'patch', group: 'velero.io', resource: 'backupstoragelocations', subresource: '', namespace: VELERO_NAMESPACE, name: 'default' }],
  ['create Backups outside Velero\'s namespace', { verb: 'create', group: 'velero.io', resource: 'backups', subresource: '', namespace: 'default', name: '' }],
  ['list Backups cluster-wide', { verb: 'list', group: 'velero.io', resource: 'backups', subresource: '', namespace: '', name: '' }],
  // The backfill patches pods' metadata: never their status, never a pod's volumes or containers through another subresource.
  ['patch a pod\'s status', { verb: 'patch', group: '', resource: 'pods', subresource: 'status', namespace: 'default', name: 'any' }],
  ['update a pod', { verb: 'update', group: '', resource: 'pods', subresource: '', namespace: 'default', name: 'any' }],
  ['patch a namespace', { verb: 'patch', group: '', resource: 'namespaces', subresource: '', namespace: '', name: 'default' }],
  ['watch Secrets cluster-wide', { verb: 'watch', group: '', resource: 'secrets', subresource: '', namespace: '', name: '' }],
  // Holder pods are created and deleted; nothing else of a pod's is ever changed, and nothing is evicted.
  ['evict pods', { verb: 'create', group: '', resource: 'pods', subresource: 'eviction', namespace: 'default', name: 'any' }],
  ['exec into pods', { verb: 'create', group: '', resource: 'pods', subresource: 'exec', namespace: 'default', name: 'any' }],
  // A restore deletes the PVCs it replaces one by one, with a uid precondition (controller); nobody deletes them wholesale.
  ['delete every PVC of a namespace', { verb: 'deletecollection', group: '', resource: 'persistentvolumeclaims', subresource: '', namespace: 'default', name: '' }],
  ['scale StatefulSets', { verb: 'patch', group: 'apps', resource: 'statefulsets', subresource: 'scale', namespace: 'default', name: 'any' }],
  ['update Deployments', { verb: 'update', group: 'apps', resource: 'deployments', subresource: '', namespace: 'default', name: 'any' }],
  // The upgrade hold's release patches workloads; it never updates, deletes or creates them.
  ['update StatefulSets', { verb: 'update', group: 'apps', resource: 'statefulsets', subresource: '', namespace: 'default', name: 'any' }],
  ['delete StatefulSets', { verb: 'delete', group: 'apps', resource: 'statefulsets', subresource: '', namespace: 'default', name: 'any' }],
  ['patch a StatefulSet\'s status', { verb: 'patch', group: 'apps', resource: 'statefulsets', subresource: 'status', namespace: 'default', name: 'any' }],
  ['create Deployments', { verb: 'create', group: 'apps', resource: 'deployments', subresource: '', namespace: 'default', name: '' }],
  ['list Leases in other namespaces', { verb: 'list', group: 'coordination.k8s.io', resource: 'leases', subresource: '', namespace: 'kube-system', name: '' }],
  ['update Leases in other namespaces', { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', subresource: '', namespace: 'kube-system', name: 'kube-controller-manager' }],
  ['create its own access to components (componentbackups)', { verb: 'create', group: 'backup.wutong.io', resource: 'componentbackups', subresource: '', namespace: 'default', name: '' }],
  ['impersonate users', { verb: 'impersonate', group: '', resource: 'users', subresource: '', namespace: '', name: 'admin' }],
];

test.each(neighbours.flatMap(([what, call]) => SHIPPED_ROLES.map((role): [ShippedRole, string, Call] => [role, what, call])))('the %s ServiceAccount may not %s', async (role, _what, call) => {
  expect(await allowed(role, call)).toBe(false);
});
