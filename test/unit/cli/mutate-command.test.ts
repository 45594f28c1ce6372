import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { handleReview } from '../../../src/admission/review-handler.js';
import type { Pod } from '../../../src/admission/pod.js';
import { loadDefaultPolicy } from '../../../src/policy/default-policy.js';
import { PACKAGE_ROOT } from '../../../src/package-root.js';
import { cli } from './run-cli-in-process.js';

const FIXTURES = join(PACKAGE_ROOT, 'test', 'fixtures', 'cli');
const MIXED = join(FIXTURES, 'mixed.yaml');
const STATEFULSET = join(FIXTURES, 'mysql-statefulset.yaml');

type K8sObject = Record<string, unknown> & { kind: string; metadata: { name: string; annotations?: Record<string, string> } };

function documents(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as K8sObject);
}

describe('wutong-backup mutate', () => {
  test('prints every object of a multi-document file: pods as admitted, pod templates as their pods would be, others untouched', async () => {
    const run = await cli(['mutate', '-f', MIXED, '-o', 'json']);
    expect(run.code).toBe(0);
    const list = JSON.parse(run.stdout) as { kind: string; items: K8sObject[] };
    expect(list.kind).toBe('List');
    const [service, pod, cronJob] = list.items;
    const [serviceIn] = documents(MIXED);
    expect(service).toEqual(serviceIn);
    expect(pod?.metadata.annotations?.['pre.hook.backup.velero.io/container']).toBe('db');
    expect(pod?.metadata.annotations?.['pre.hook.backup.velero.io/command']).toContain('pg_dumpall');
    expect(JSON.stringify(pod?.metadata)).not.toContain('pg-secret-value');
    const template = (cronJob as unknown as { spec: { jobTemplate: { spec: { template: { metadata: { annotations: Record<string, string> } } } } } }).spec
      .jobTemplate.spec.template;
    expect(template.metadata.annotations).toEqual({
      'backup.velero.io/backup-volumes': 'out',
      'backup.wutong.io/managed': expect.stringMatching(/^backup\.velero\.io\/backup-volumes=[\w-]+$/) as unknown,
    });
    // The webhook's warning, named by object, on stderr; stdout stays parseable.
    expect(run.stderr).toBe('Warning: cronjob/report: pod has persistent volumes but no hook rule matched: its backup will be crash-consistent only\n');
  });

  test('the pod comes out exactly as the webhook answers the same pod in an AdmissionReview', async () => {
    const [, podIn] = documents(MIXED);
    const run = await cli(['mutate', '-f', MIXED, '-o', 'yaml']);
    const podOut = parseAllDocuments(run.stdout).map((d) => d.toJS() as K8sObject)[1];
    const review = handleReview({ uid: 'u', namespace: 'shop', object: podIn }, loadDefaultPolicy());
    const ops = JSON.parse(Buffer.from(review.response.patch ?? '', 'base64').toString()) as Operation[];
    expect(podOut).toEqual(fastJsonPatch.applyPatch(structuredClone(podIn) as Pod, ops, true, false).newDocument);
  });

  test('-o patch: one JSON Patch per object and line, with paths into that object; applied, it gives the -o json output', async () => {
    const run = await cli(['mutate', '-f', MIXED, '-o', 'patch']);
    const patches = run.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Operation[]);
    expect(patches).toHaveLength(3);
    expect(patches[0]).toEqual([]);
    expect(patches[1]?.map((op) => op.path)).toEqual(['/metadata/annotations']);
    expect(patches[2]?.map((op) => op.path)).toEqual(['/spec/jobTemplate/spec/template/metadata/annotations']);
    const mutated = (JSON.parse((await cli(['mutate', '-f', MIXED, '-o', 'json'])).stdout) as { items: K8sObject[] }).items;
    documents(MIXED).forEach((object, i) => {
      expect(fastJsonPatch.applyPatch(structuredClone(object), patches[i] ?? [], true, false).newDocument).toEqual(mutated[i]);
    });
  });

  test('a StatefulSet: its template gets what each pod gets, including the volumeClaimTemplates volume the controller adds', async () => {
    const run = await cli(['mutate', '-f', STATEFULSET, '-o', 'json']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const template = (JSON.parse(run.stdout) as { spec: { template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> } } } }).spec
      .template;
    expect(template.metadata.annotations['backup.velero.io/backup-volumes']).toBe('data');
    expect(template.metadata.annotations['pre.hook.backup.velero.io/container']).toBe('gr3a9f1c');
    expect(template.metadata.annotations['post.hook.restore.velero.io/command']).toContain('/var/lib/mysql/.wutong-backup-mysql.sql');
    expect(template.metadata.labels.service_id).toBe('5f3c1b2a9d8e4f60a7b1c2d3e4f5a6b7');
    // The password stays in the container env only; no annotation carries it.
    expect(JSON.stringify(template.metadata)).not.toContain('Wt-8f2c7a9d');
  });

  test('reads stdin with -f -, and mutating its own output again changes nothing', async () => {
    const first = await cli(['mutate', '-f', '-'], readFileSync(MIXED, 'utf8'));
    expect(first.code).toBe(0);
    const again = await cli(['mutate', '-f', '-', '-o', 'patch'], first.stdout);
    expect(again.stdout).toBe('[]\n[]\n[]\n');
  });

  test('--namespace applies to objects that name none; a contradiction is an error', async () => {
    const policy = join(FIXTURES, 'team-policy.yaml');
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: { name: pg, labels: { creator: Wutong } }\nspec:\n  containers: [{ name: db, image: postgres:16, volumeMounts: [{ name: d, mountPath: /d }] }]\n  volumes: [{ name: d, persistentVolumeClaim: { claimName: d } }]\n';
    const billing = await cli(['mutate', '-f', '-', '--policy', policy, '-n', 'billing', '-o', 'json'], pod);
    expect(billing.stdout).toContain('"post.hook.backup.velero.io/command"');
    const contradiction = await cli(['mutate', '-f', MIXED, '-n', 'prod']);
    expect(contradiction).toEqual({ code: 1, stdout: '', stderr: 'wutong-backup: pod/orders-db-0: its namespace "shop" does not match --namespace "prod"\n' });
  });

  test('a pod the policy does not select is printed unchanged, with the reason on stderr', async () => {
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: { name: p, labels: { app: x } }\nspec: { containers: [{ name: c, image: nginx }] }\n';
    const run = await cli(['mutate', '-f', '-', '-o', 'patch'], pod);
    expect(run).toEqual({ code: 0, stdout: '[]\n', stderr: 'pod/p: left unchanged (not selected: creator!=Wutong)\n' });
  });
});
