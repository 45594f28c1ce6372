// Leader election against the real API server, as the shipped Role allows
// it: replicas in this one process, each with its own connection, one of
// them through a proxy that can cut it off silently or make it slow. A
// sampler checks every 100 ms, for the whole file, that no two replicas
// report leading at the same moment.
import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { parseAllDocuments } from 'yaml';
import type { LeaderElector } from '../../src/controller/leader-elector.js';
import { kubeHttp } from '../../src/kube/kube-http.js';
import { CONTROLLER_LEASE, leaseElector } from '../../src/kube/lease-elector.js';
import { apiRequest, kubeconfig, waitForServiceAccountToken } from './cluster/cluster.js';
import { clients, clusterInfo, createNamespace, deleteNamespace } from './support/kube.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { eventually } from './support/wait.js';
import { startWebhookProcess, type WebhookProcess } from './support/webhook-process.js';

jest.setTimeout(120_000);

// The shipped defaults: the point is that these numbers hold up.
const TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
// Timers and a loaded 2-core machine: what a deadline may overrun by here.
const SLACK_MS = 1_000;
const MINUTE = 60_000;

const info = clusterInfo();
const log = pino({ level: process.env.E2E_LOG_LEVEL ?? 'silent' });
let namespace: string;
let token: string;
let proxy: TcpProxy;

interface Replica {
  name: string;
  identity: string;
  elector: LeaderElector;
  /** [Date.now(), leading] for every change. */
  changes: Array<[number, boolean]>;
}
const replicas: Replica[] = [];
const overlaps: string[] = [];
let sampler: NodeJS.Timeout | undefined;

/**
 * The rules of every Role manifests/base/rbac.yaml grants the controller's
 * ServiceAccount in the project's namespace (Leases, the TLS Secret, the
 * policy, its records), to run the electors and the built controller with
 * exactly those permissions here.
 */
function shippedRoleRules(): unknown[] {
  const docs = parseAllDocuments(readFileSync(new URL('../../manifests/base/rbac.yaml', import.meta.url), 'utf8')).map(
    (doc) => doc.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string }; rules?: unknown[]; roleRef?: { kind: string; name: string }; subjects?: { name: string }[] },
  );
  const bound = new Set(
    docs.filter((d) => d.kind === 'RoleBinding' && d.metadata?.namespace === 'wutong-backup' && d.subjects?.some((s) => s.name === 'wutong-backup-controller')).map((d) => d.roleRef?.name),
  );
  const rules = docs.filter((d) => d.kind === 'Role' && bound.has(d.metadata?.name)).flatMap((d) => d.rules ?? []);
  if (!bound.has('wutong-backup-leases') || rules.length === 0) throw new Error('manifests/base/rbac.yaml grants the controller no Lease rules in its namespace');
  return rules;
}

async function create(path: string, body: object): Promise<void> {
  const res = await apiRequest(info, 'POST', path, body);
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.body.slice(0, 300)}`);
}

/** A replica of the controller, connecting straight to the API server or through the proxy. */
function startReplica(name: string, via: 'direct' | 'proxy', now?: () => number): Replica {
  const server = via === 'direct' ? info.server : `https://127.0.0.1:${proxy.port}`;
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig(server, info.caPem, token, `system:serviceaccount:${namespace}:controller`, namespace));
  const identity = `${name}_${process.pid}`;
  const elector = leaseElector(kubeHttp(kc), { namespace, identity, timing: TIMING, ...(now ? { now } : {}) }, log.child({ replica: name }));
  const replica: Replica = { name, identity, elector, changes: [] };
  elector.subscribe((leading) => replica.changes.push([Date.now(), leading]));
  replicas.push(replica);
  elector.start();
  return replica;
}

async function stopReplica(replica: Replica): Promise<void> {
  await replica.elector.stop();
  replicas.splice(replicas.indexOf(replica), 1);
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseTransitions?: number;
  renewTime?: string;
}
const leaseHolder = async (): Promise<LeaseSpec> => {
  const res = await apiRequest(info, 'GET', `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${CONTROLLER_LEASE}`);
  return (res.json as { spec?: LeaseSpec }).spec ?? {};
};

const waitUntilLeading = (replica: Replica, timeoutMs: number): Promise<number> =>
  eventually(() => Promise.resolve(replica.elector.isLeader() ? Date.now() : undefined), `${replica.name} to lead`, timeoutMs, 50);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  namespace = await createNamespace(clients().core, 'leader-election');
  await create(`/api/v1/namespaces/${namespace}/serviceaccounts`, { metadata: { name: 'controller' } });
  await create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, { metadata: { name: 'wutong-backup' }, rules: shippedRoleRules() });
  await create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
    metadata: { name: 'wutong-backup' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'wutong-backup' },
    subjects: [{ kind: 'ServiceAccount', name: 'controller', namespace }],
  });
  token = await waitForServiceAccountToken(info, namespace, 'controller');
  proxy = await startTcpProxy(() => [Number(new URL(info.server).port)]);
  sampler = setInterval(() => {
    const leading = replicas.filter((r) => r.elector.isLeader()).map((r) => r.name);
    if (leading.length > 1) overlaps.push(`${new Date().toISOString()}: ${leading.join(' and ')} both lead`);
  }, 100);
});

afterAll(async () => {
  clearInterval(sampler);
  await Promise.all(replicas.map((r) => r.elector.stop()));
  await proxy?.close();
  await deleteNamespace(clients().core, namespace);
});

let a: Replica;
let b: Replica;

test('two replicas: one leads; neither the other nor replicas whose clocks are 10 min ahead or behind take the Lease while it is renewed', async () => {
  b = startReplica('b', 'proxy');
  await waitUntilLeading(b, 10_000);
  a = startReplica('a', 'direct');
  const ahead = startReplica('ahead', 'direct', () => Date.now() + 10 * MINUTE);
  const behind = startReplica('behind', 'direct', () => Date.now() - 10 * MINUTE);
  try {
    const before = await leaseHolder();
    // Longer than the lease duration: a replica judging expiry by the Lease's
    // renewTime against its own clock would have taken it by now (ahead), or
    // would take it whenever the holder's clock lags (behind).
    await sleep(TIMING.leaseDurationMs + 5_000);
    expect(b.elector.isLeader()).toBe(true);
    for (const r of [a, ahead, behind]) expect(r.changes).toEqual([]);
    expect(await leaseHolder()).toMatchObject({ holderIdentity: b.identity, leaseTransitions: before.leaseTransitions });
    expect(overlaps).toEqual([]);
  } finally {
    // The later tests hand the Lease between a, b and c only.
    await Promise.all([stopReplica(ahead), stopReplica(behind)]);
  }
});

test('a leader cut off from the API server (black hole) stops within the renew deadline; the other leads within lease duration + retry', async () => {
  const cut = Date.now();
  proxy.blackhole();
  const stopped = await eventually(() => Promise.resolve(b.elector.isLeader() ? undefined : Date.now()), 'b to stop leading', 20_000, 50);
  // b's last renew that landed (b's clock is this machine's): nothing of b's reaches the API server after the cut.
  const lastRenew = Date.parse((await leaseHolder()).renewTime ?? '');
  const took = await waitUntilLeading(a, 25_000);
  // b's last successful renew started before the cut, so its deadline is at most 10 s after it.
  expect(stopped - cut).toBeLessThanOrEqual(TIMING.renewDeadlineMs + SLACK_MS);
  expect(took).toBeGreaterThan(stopped);
  // a saw b's last renew no earlier than it was written and at most one (jittered) retry after, and takes over the moment 15 s have passed since.
  expect(took - lastRenew).toBeGreaterThanOrEqual(TIMING.leaseDurationMs);
  expect(took - lastRenew).toBeLessThanOrEqual(TIMING.leaseDurationMs + 1.2 * TIMING.retryPeriodMs + SLACK_MS);
  expect((await leaseHolder()).holderIdentity).toBe(a.identity);
  expect(overlaps).toEqual([]);

  // Reconnected, b is a candidate again: it does not take the Lease back.
  proxy.heal();
  await sleep(2 * TIMING.retryPeriodMs + 1_000);
  expect(b.elector.isLeader()).toBe(false);
  expect(a.elector.isLeader()).toBe(true);
});

test('stop() releases the Lease: the other replica leads within a retry, not a lease duration; a leader whose API server answers after 12 s steps down at its renew deadline', async () => {
  const stopping = Date.now();
  await stopReplica(a);
  expect(a.changes.at(-1)?.[1]).toBe(false);
  const took = await waitUntilLeading(b, 10_000);
  expect(took - stopping).toBeLessThanOrEqual(1.2 * TIMING.retryPeriodMs + SLACK_MS);

  const c = startReplica('c', 'direct');
  await sleep(3_000);
  const slow = Date.now();
  proxy.delay(12_000);
  const stopped = await eventually(() => Promise.resolve(b.elector.isLeader() ? undefined : Date.now()), 'b to stop leading', 20_000, 50);
  expect(stopped - slow).toBeLessThanOrEqual(TIMING.renewDeadlineMs + SLACK_MS);
  const cTook = await waitUntilLeading(c, 25_000);
  expect(cTook).toBeGreaterThan(stopped);
  expect((await leaseHolder()).holderIdentity).toBe(c.identity);
  expect(overlaps).toEqual([]);
  proxy.heal();
});

describe('the built process, two and three replicas', () => {
  const LEADING = 'leading: the controller loops run on this replica';
  const processes: WebhookProcess[] = [];
  let dir: string;

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A controller replica as its Deployment runs it, under the shipped Roles of its namespace (its cluster-wide watches are refused here, which the election does not need). */
  const startProcess = async (podName: string): Promise<WebhookProcess> => {
    const replica = await startWebhookProcess({ ROLE: 'controller', KUBECONFIG: join(dir, 'kubeconfig'), POD_NAMESPACE: namespace, POD_NAME: podName, SHUTDOWN_DRAIN: '10s' });
    processes.push(replica);
    return replica;
  };
  const leadsAt = async (replica: WebhookProcess, after: number, timeoutMs: number): Promise<number> =>
    Number((await replica.waitForLog((l) => l.msg === LEADING && Number(l.time) >= after, timeoutMs)).time);
  const leading = (replica: WebhookProcess): boolean => {
    const changes = replica.logs.filter((l) => l.component === 'leader-election' && typeof l.reason === 'string');
    return changes.at(-1)?.msg === LEADING;
  };

  test('SIGTERM on the leader hands over within a retry (the Lease goes at the signal, not after the 10 s drain); SIGKILL within 20 s', async () => {
    // The in-process replicas above give the Lease up first.
    await Promise.all([...replicas].map((r) => stopReplica(r)));
    dir = mkdtempSync(join(tmpdir(), 'wb-e2e-election-'));
    writeFileSync(join(dir, 'kubeconfig'), kubeconfig(info.server, info.caPem, token, `system:serviceaccount:${namespace}:controller`, namespace), { mode: 0o600 });

    const first = await startProcess('wutong-backup-0');
    await leadsAt(first, 0, 20_000);
    const second = await startProcess('wutong-backup-1');
    await sleep(3_000);
    expect(leading(second)).toBe(false);

    const terminated = Date.now();
    const exited = first.kill('SIGTERM');
    const secondLeads = await leadsAt(second, terminated, 20_000);
    expect(secondLeads - terminated).toBeLessThanOrEqual(1.2 * TIMING.retryPeriodMs + SLACK_MS);
    // The old leader is still draining (serving, not ready) when the new one leads.
    expect(first.alive()).toBe(true);
    await exited;

    const third = await startProcess('wutong-backup-2');
    await sleep(3_000);
    expect(leading(third)).toBe(false);
    const killed = Date.now();
    await second.kill('SIGKILL');
    const thirdLeads = await leadsAt(third, killed, 30_000);
    // 15 s after third saw second's last renew, which was at most one (jittered) retry before it looked.
    expect(thirdLeads - killed).toBeLessThanOrEqual(TIMING.leaseDurationMs + 1.2 * TIMING.retryPeriodMs + SLACK_MS);
    expect(thirdLeads - killed).toBeGreaterThanOrEqual(TIMING.leaseDurationMs - 1.2 * TIMING.retryPeriodMs - SLACK_MS);
    const holder = (await leaseHolder()).holderIdentity ?? '';
    expect(holder.startsWith('wutong-backup-2_')).toBe(true);
    process.stderr.write(`[leader-election] SIGTERM hand-over ${secondLeads - terminated} ms, SIGKILL hand-over ${thirdLeads - killed} ms\n`);
  });
});
