import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { kubectl120Binary } from '../cluster/cluster.js';

export const MANIFESTS_DIR = fileURLToPath(new URL('../../../manifests', import.meta.url));

/** The two renderers users have: kubectl 1.20's bundled kustomize (v2.0.3) and a current kubectl (kustomize v5). */
export const KUSTOMIZERS = {
  'kubectl 1.20 (kustomize v2.0.3)': kubectl120Binary(),
  'kubectl 1.32 (kustomize v5.5)': '/usr/bin/kubectl',
} as const;
export type Kustomizer = keyof typeof KUSTOMIZERS;

/** `base` or `overlays/<name>`. overlays/monitoring is left out of MANIFEST_TARGETS: its kinds need the Prometheus operator's CRDs (monitoring-overlay.test.ts). */
export type ManifestTarget = 'base' | 'overlays/fail-closed' | 'overlays/trial' | 'overlays/cert-manager' | 'overlays/kubernetes-1.20' | 'overlays/monitoring';
export const MANIFEST_TARGETS: readonly ManifestTarget[] = ['base', 'overlays/fail-closed', 'overlays/trial', 'overlays/cert-manager', 'overlays/kubernetes-1.20'];
/** The overlay a cluster older than 1.21 (this testbed's 1.20) needs on top of any target: PodDisruptionBudget as policy/v1beta1. */
export const KUBERNETES_120: ManifestTarget = 'overlays/kubernetes-1.20';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface Rendered {
  yaml: string;
  objects: KubeObject[];
  /** What kustomize wrote to stderr (v5 prints deprecation notes there). */
  stderr: string;
}

export function run(cmd: string, args: string[], input?: string, timeoutMs = 120_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Renders manifests/<target> with `kubectl kustomize`; rejects on any kustomize error. */
export async function render(target: ManifestTarget, kustomizer: Kustomizer = 'kubectl 1.20 (kustomize v2.0.3)'): Promise<Rendered> {
  return renderDir(`${MANIFESTS_DIR}/${target}`, target, kustomizer);
}

/**
 * What a platform team on Kubernetes 1.20 (this testbed) applies for
 * `target`: the target with overlays/kubernetes-1.20's patches added, as that
 * overlay's comment tells them to. The patches are read from the shipped
 * overlay, so the testbed cannot apply something users are not told to.
 */
export async function renderForTestbed(target: ManifestTarget): Promise<Rendered> {
  if (target === KUBERNETES_120 || target === 'base') return render(KUBERNETES_120);
  const shipped = join(MANIFESTS_DIR, KUBERNETES_120);
  const overlay = parse(readFileSync(join(shipped, 'kustomization.yaml'), 'utf8')) as { patchesJson6902: Array<{ path: string }> };
  const dir = mkdtempSync(join(tmpdir(), 'wb-kustomize-'));
  try {
    for (const patch of overlay.patchesJson6902) copyFileSync(join(shipped, patch.path), join(dir, patch.path));
    // kustomize v2.0.3 refuses absolute bases: point at the target relatively.
    writeFileSync(join(dir, 'kustomization.yaml'), stringify({ bases: [relative(dir, join(MANIFESTS_DIR, target))], patchesJson6902: overlay.patchesJson6902 }));
    return await renderDir(dir, `${target} + ${KUBERNETES_120}`, 'kubectl 1.20 (kustomize v2.0.3)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function renderDir(dir: string, target: string, kustomizer: Kustomizer): Promise<Rendered> {
  const { stdout, stderr } = await run(KUSTOMIZERS[kustomizer], ['kustomize', dir]);
  const objects = parseAllDocuments(stdout).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${target} (${kustomizer}): ${doc.errors[0]?.message ?? 'YAML error'}`);
    return doc.toJS() as KubeObject;
  });
  for (const o of objects) {
    if (!o || typeof o !== 'object' || !o.kind || !o.apiVersion || !o.metadata?.name) {
      throw new Error(`${target} (${kustomizer}) rendered a document that is not a Kubernetes object: ${JSON.stringify(o)}`);
    }
  }
  return { yaml: stdout, objects, stderr };
}

export function objectKey(o: KubeObject): string {
  return `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

export function findObject(objects: readonly KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the rendered manifests`);
  return found;
}
