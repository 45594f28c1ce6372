import { jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import type { CoreV1Api } from '@kubernetes/client-node';
import { apiRequest } from './cluster/cluster.js';
import { clients, clusterInfo } from './support/kube.js';
import { findObject } from './support/kustomize.js';
import { installShipped, SHIPPED, type ShippedInstall } from './support/shipped-install.js';
import type { WebhookProcess } from './support/webhook-process.js';

jest.setTimeout(180_000);

const USER = `system:serviceaccount:${SHIPPED.namespace}:${SHIPPED.serviceAccount}`;
const GROUPS = ['system:serviceaccounts', `system:serviceaccounts:${SHIPPED.namespace}`, 'system:authenticated'];

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
}
interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}

const key = (c: Call): string => `${c.verb} ${c.group || 'core'}/${c.resource}${c.subresource ? `/${c.subresource}` : ''} ${c.namespace || '(cluster)'}/${c.name || '*'}`;

function auditedRequests(): AuditEvent[] {
  return readFileSync(clusterInfo().auditLogPath, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as AuditEvent)
    .filter((e) => e.user.username === USER && (e.stage === 'ResponseComplete' || e.stage === 'ResponseStarted'));
}

function callOf(e: AuditEvent): Call {
  const o = e.objectRef ?? {};
  return { verb: e.verb, group: o.apiGroup ?? '', resource: o.resource ?? '', subresource: o.subresource ?? '', namespace: o.namespace ?? '', name: o.name ?? '' };
}

/** Asks the API server's authorizer whether the ServiceAccount may make `call`. */
async function allowed(call: Call): Promise<boolean> {
  const res = await apiRequest(clusterInfo(), 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: USER,
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

let core: CoreV1Api;
let install: ShippedInstall;
let replica: WebhookProcess;
let calls: Map<string, { call: Call; codes: Set<number> }>;

const policyText = (timeout: string): string => `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: app
    match: { image: '^busybox' }
    backup: { pre: { command: ["/bin/true"], timeout: ${timeout} } }
`;

// Exercise everything the webhook does against the API server, as the
// ServiceAccount: bootstrap (Secret, caBundle), the policy watch, an Event
// for a rejected policy, and a certificate renewal; then read what it did
// from the API server's audit log.
beforeAll(async () => {
  ({ core } = clients());
  install = await installShipped('base');
  [replica] = (await install.startReplicas(1, { CA_VALIDITY: '90s', CERT_VALIDITY: '15s', TLS_CHECK_INTERVAL: '1s', TLS_CA_OVERLAP: '5s' })) as [WebhookProcess];
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
  const deadline = Date.now() + 20_000;
  while (!auditedRequests().some((e) => e.objectRef?.resource === 'events') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  await replica.stop();
  calls = new Map();
  for (const e of auditedRequests()) {
    const call = callOf(e);
    const entry = calls.get(key(call)) ?? { call, codes: new Set<number>() };
    entry.codes.add(e.responseStatus?.code ?? 0);
    calls.set(key(call), entry);
  }
});
afterAll(() => install?.uninstall());

test('no request the ServiceAccount made during the e2e run was refused, and the authorizer allows each kind of them', async () => {
  expect(calls.size).toBeGreaterThan(0);
  const refused = [...calls.values()].filter((c) => c.codes.has(403)).map((c) => key(c.call));
  expect(refused).toEqual([]);
  const denied: string[] = [];
  for (const { call } of calls.values()) if (!(await allowed(call))) denied.push(key(call));
  expect(denied).toEqual([]);
});

test('the policy watch is authorized by name: list and watch carry the ConfigMap name from fieldSelector metadata.name', () => {
  const configMapCalls = [...calls.values()].map((c) => c.call).filter((c) => c.resource === 'configmaps');
  expect(new Set(configMapCalls.map((c) => c.verb))).toEqual(new Set(['list', 'watch']));
  expect(configMapCalls.every((c) => c.name === SHIPPED.policyConfigMap && c.namespace === SHIPPED.namespace)).toBe(true);
});

test('every permission rbac.yaml grants is used by a request the webhook made (nothing granted in vain)', () => {
  const unused: string[] = [];
  for (const [kind, name] of [['Role', 'wutong-backup'], ['ClusterRole', 'wutong-backup-webhook']] as const) {
    const role = findObject(install.objects, kind, name) as unknown as { metadata: { namespace?: string }; rules: PolicyRule[] };
    for (const rule of role.rules) {
      for (const verb of rule.verbs) {
        const single = { ...rule, verbs: [verb] };
        if (![...calls.values()].some(({ call }) => grantedBy(single, role.metadata.namespace ?? '', call))) {
          unused.push(`${kind} ${name}: ${verb} ${rule.resources.join(',')} ${rule.resourceNames?.join(',') ?? '*'}`);
        }
      }
    }
  }
  expect(unused).toEqual([]);
});

test.each<[string, Call]>([
  ['list Secrets cluster-wide', { verb: 'list', group: '', resource: 'secrets', subresource: '', namespace: '', name: '' }],
  ['list Secrets in its namespace', { verb: 'list', group: '', resource: 'secrets', subresource: '', namespace: SHIPPED.namespace, name: '' }],
  ['get another Secret in its namespace', { verb: 'get', group: '', resource: 'secrets', subresource: '', namespace: SHIPPED.namespace, name: 'wutong-backup-token-x' }],
  ['watch its own Secret', { verb: 'watch', group: '', resource: 'secrets', subresource: '', namespace: SHIPPED.namespace, name: SHIPPED.tlsSecret }],
  ['delete its own Secret', { verb: 'delete', group: '', resource: 'secrets', subresource: '', namespace: SHIPPED.namespace, name: SHIPPED.tlsSecret }],
  ['patch another MutatingWebhookConfiguration', { verb: 'patch', group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', subresource: '', namespace: '', name: 'someone-else' }],
  ['list MutatingWebhookConfigurations', { verb: 'list', group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', subresource: '', namespace: '', name: '' }],
  ['get another ConfigMap in its namespace', { verb: 'get', group: '', resource: 'configmaps', subresource: '', namespace: SHIPPED.namespace, name: 'kube-root-ca.crt' }],
  ['list every ConfigMap in its namespace', { verb: 'list', group: '', resource: 'configmaps', subresource: '', namespace: SHIPPED.namespace, name: '' }],
  ['update its policy ConfigMap', { verb: 'update', group: '', resource: 'configmaps', subresource: '', namespace: SHIPPED.namespace, name: SHIPPED.policyConfigMap }],
  ['read ConfigMaps elsewhere', { verb: 'list', group: '', resource: 'configmaps', subresource: '', namespace: 'kube-system', name: '' }],
  ['delete pods', { verb: 'delete', group: '', resource: 'pods', subresource: '', namespace: 'default', name: 'any' }],
  ['create Events elsewhere', { verb: 'create', group: '', resource: 'events', subresource: '', namespace: 'default', name: '' }],
])('the ServiceAccount may not %s', async (_what, call) => {
  expect(await allowed(call)).toBe(false);
});
