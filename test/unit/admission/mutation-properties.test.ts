import fc from 'fast-check';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { metadataPatch } from '../../../src/admission/metadata-patch.js';
import { mutatePod, type PodMutation } from '../../../src/admission/mutate-pod.js';
import { MANAGED_ANNOTATION } from '../../../src/admission/ownership.js';
import type { Container, Pod, PodMetadata, Volume } from '../../../src/admission/pod.js';
import { handleReview } from '../../../src/admission/review-handler.js';
import type { CompiledPolicy } from '../../../src/policy/compiled-policy.js';
import { loadDefaultPolicy } from '../../../src/policy/default-policy.js';
import { loadPolicy } from '../../../src/policy/load-policy.js';
import { decodePatch, loadFixturePolicy } from '../../fixtures/pod-cases.js';

const { applyPatch, compare } = fastJsonPatch;
const RUNS = { numRuns: 300 };
// 300 runs per property: a limit for a busy machine, not a timing assertion.
const SLOW = 30_000;
const SID = '5f3c1b2a9d8e4f60a7b1c2d3e4f5a6b7';

const policies: CompiledPolicy[] = [
  loadDefaultPolicy(),
  loadFixturePolicy(),
  loadPolicy(
    [
      'apiVersion: backup.wutong.io/v1alpha1',
      'kind: HookPolicy',
      'fileSystemBackup: { mode: opt-out, includeEmptyDir: true }',
      'rules:',
      '  - name: targeted',
      '    match: { labels: { service_alias: gr3a9f1c }, containers: [mysql, gr3a9f1c] }',
      '    backup:',
      '      pre: { shell: "tar -C {{dataDir}} -cf {{dataDir}}/.snap.tar .", timeout: 5m }',
      '      post: { command: [/bin/rm, "{{dataDir}}/.snap.tar"], onError: Continue }',
      '    restore:',
      '      post: { command: [/bin/true], execTimeout: 1m }',
      '      init: { shell: "test -d {{dataDir}}", image: "busybox:1.36" }',
      '  - name: any-redis',
      '    match: { image: "^redis:" }',
      '    backup: { pre: { command: [redis-cli, BGSAVE] } }',
    ].join('\n'),
    'property-test policy',
    1,
  ),
  // An empty podSelector handles pods without labels, even without metadata.
  loadPolicy(
    [
      'apiVersion: backup.wutong.io/v1alpha1',
      'kind: HookPolicy',
      'podSelector: { matchLabels: {} }',
      'fileSystemBackup: { includeEmptyDir: true }',
      'rules:',
      '  - name: mysql',
      '    match: { image: "^mysql:" }',
      '    backup: { pre: { shell: "mysqldump > {{dataDir}}/d.sql" } }',
    ].join('\n'),
    'empty selector policy',
    1,
  ),
];

// Keys mix the ones the mutation reacts to with ones that need JSON Pointer
// escaping; "__proto__" is left out because no Kubernetes key can be it and
// fast-json-patch refuses to patch it by design.
const awkwardKey = fc
  .string({ unit: fc.constantFrom('a', 'b', '.', '-', '/', '~', '0', '1'), minLength: 1, maxLength: 8 })
  .filter((k) => k !== '__proto__');
const key = fc.oneof(
  fc.constantFrom(
    'creator',
    'service_id',
    'wutong.io/service_id',
    'service_alias',
    'backup.wutong.io/inject',
    'pre.hook.backup.velero.io/command',
    'pre.hook.backup.velero.io/container',
    'post.hook.backup.velero.io/command',
    'post.hook.restore.velero.io/container',
    'init.hook.restore.velero.io/command',
    'backup.velero.io/backup-volumes',
    'backup.velero.io/backup-volumes-excludes',
  ),
  awkwardKey,
);
const value = fc.oneof(fc.constantFrom('Wutong', 'false', 'true', 'gr3a9f1c', SID, SID.toUpperCase(), ''), fc.string({ maxLength: 6 }));
const stringMap = fc.dictionary(key, value, { maxKeys: 6, noNullPrototype: true });

const volumeSource = fc.constantFrom(
  { persistentVolumeClaim: { claimName: 'data' } },
  { configMap: { name: 'cfg' } },
  { secret: { secretName: 's' } },
  { emptyDir: {} },
  { hostPath: { path: '/var/log' } },
  { projected: { sources: [] } },
  { downwardAPI: { items: [] } },
  { csi: { driver: 'x' } },
  { ephemeral: { volumeClaimTemplate: {} } },
  { nfs: { server: 'nfs', path: '/' } },
);
const volumeName = fc.constantFrom('data', 'cfg', 'tmp', 'logs', 'kube-api-access-7x2kq');
const volumes = fc.uniqueArray(
  fc.record({ name: volumeName, source: volumeSource }).map(({ name, source }): Volume => ({ name, ...source })),
  { selector: (v) => v.name, maxLength: 5 },
);
const mountPath = fc.constantFrom('/var/lib/mysql', '/data', "/srv/it's here", '/a b/c', '/tmp');
const container = fc.record(
  {
    name: fc.constantFrom('wt-mesh', 'mysql', 'gr3a9f1c', 'app'),
    image: fc.constantFrom('mysql:8.0.36', 'wutong/mesh-agent:v1.12.0', 'redis:7.2', 'postgres:16', 'mongo:7', 'nginx:1.25'),
    env: fc.array(fc.record({ name: fc.constantFrom('SERVICE_ID', 'OTHER'), value: fc.oneof(fc.constant(SID), value) }), { minLength: 1, maxLength: 2 }),
    volumeMounts: fc.array(fc.record({ name: volumeName, mountPath }), { maxLength: 3 }),
  },
  { requiredKeys: ['name'] },
) as fc.Arbitrary<Container>;

/** Pods with maps present, absent or null, and a good chance of being a Wutong pod. */
const pod: fc.Arbitrary<Pod> = fc
  .record(
    {
      wutong: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }),
      labels: fc.option(stringMap, { nil: undefined, freq: 3 }),
      annotations: fc.option(stringMap, { nil: undefined, freq: 2 }),
      hasMetadata: fc.boolean(),
      spec: fc.option(fc.record({ containers: fc.array(container, { maxLength: 3 }), volumes }, { requiredKeys: [] }), {
        nil: undefined,
      }),
    },
    { requiredKeys: ['wutong', 'hasMetadata'] },
  )
  .map(({ wutong, labels, annotations, hasMetadata, spec }) => {
    const result: Pod = { apiVersion: 'v1', kind: 'Pod' };
    const allLabels = wutong && labels !== undefined ? { ...labels, creator: 'Wutong' } : labels;
    if (hasMetadata || allLabels !== undefined || annotations !== undefined) {
      const metadata: PodMetadata = { name: 'p-0' };
      if (allLabels !== undefined) metadata.labels = allLabels;
      if (annotations !== undefined) metadata.annotations = annotations;
      result.metadata = metadata;
    }
    if (spec !== undefined) result.spec = spec;
    return result;
  });

function patchOf(subject: Pod, policy: CompiledPolicy): Operation[] {
  return decodePatch(handleReview({ uid: 'prop', namespace: 'ns', object: subject }, policy).response.patch) ?? [];
}

function applied(subject: Pod, ops: readonly Operation[]): Pod {
  return applyPatch(structuredClone(subject), ops, true, true).newDocument;
}

/**
 * Pods that carry the webhook's marker, as users meet them: admitted once
 * (maybe under another policy), then left as they are (valid), changed by
 * another webhook or a rollout (stale: a volume added, an image replaced),
 * their annotations copied onto another pod (kubectl get -o yaml, a Velero
 * restore, `wutong-backup mutate` output), or edited by the user (a value
 * changed, a key added under a hook prefix). `userOwned` holds what is the
 * user's by construction: their own annotations before admission and every
 * value they changed or added afterwards.
 */
interface LivedPod {
  history: string;
  subject: Pod;
  userOwned: Record<string, string>;
}

const WEBHOOK_KEYS = [
  'backup.velero.io/backup-volumes',
  'backup.velero.io/backup-volumes-excludes',
  'pre.hook.backup.velero.io/timeout',
  'pre.hook.backup.velero.io/command',
  'post.hook.backup.velero.io/on-error',
  'post.hook.restore.velero.io/exec-timeout',
  'init.hook.restore.velero.io/container-image',
];

const lived: fc.Arbitrary<LivedPod> = fc
  .record({
    first: pod,
    other: pod,
    writer: fc.constantFrom(...policies),
    history: fc.constantFrom('valid', 'stale-volume', 'stale-image', 'copied', 'edited', 'added'),
    pick: fc.nat(),
    newValue: value,
    addedKey: fc.constantFrom(...WEBHOOK_KEYS),
  })
  .map(({ first, other, writer, history, pick, newValue, addedKey }): LivedPod => {
    const admitted = applied(first, patchOf(first, writer));
    const userOwned: Record<string, string> = { ...first.metadata?.annotations };
    let subject = structuredClone(admitted);
    const annotations = (): Record<string, string> => {
      subject.metadata ??= {};
      return (subject.metadata.annotations ??= {});
    };
    if (history === 'stale-volume') {
      subject.spec = { ...subject.spec, volumes: [...(subject.spec?.volumes ?? []), { name: 'extra', persistentVolumeClaim: { claimName: 'x' } }] };
    } else if (history === 'stale-image') {
      for (const c of subject.spec?.containers ?? []) c.image = 'nginx:1.25';
    } else if (history === 'copied') {
      subject = structuredClone(other);
      const own = other.metadata?.annotations ?? {};
      const copied = admitted.metadata?.annotations ?? {};
      for (const [k, v] of Object.entries(own)) if (!(k in copied)) userOwned[k] = v;
      for (const k of Object.keys(copied)) if (!(k in (first.metadata?.annotations ?? {}))) delete userOwned[k];
      subject.metadata = { ...subject.metadata, annotations: { ...own, ...copied } };
    } else if (history === 'edited') {
      const keys = Object.keys(annotations()).filter((k) => k !== MANAGED_ANNOTATION);
      const edited = keys[pick % Math.max(keys.length, 1)];
      if (edited !== undefined && annotations()[edited] !== newValue) {
        annotations()[edited] = newValue;
        userOwned[edited] = newValue;
      }
    } else if (history === 'added' && !(addedKey in annotations())) {
      annotations()[addedKey] = newValue;
      userOwned[addedKey] = newValue;
    }
    delete userOwned[MANAGED_ANNOTATION];
    return { history, subject, userOwned };
  });

/** Fresh pods and pods with a history, so every property also sees markers (valid, stale, copied, edited). */
const anyPod: fc.Arbitrary<Pod> = fc.oneof(pod, lived.map((l) => l.subject));

/**
 * The full-object oracle: the pod with the mutation's labels and annotations
 * swapped in. The patch deliberately never writes an empty map the pod did not
 * have (nor empty metadata), so those are left as they were; a map the pod had
 * and the mutation emptied stays, empty.
 */
function oracle(original: Pod, mutation: PodMutation): Pod {
  if (!mutation.handled) return original;
  const metadata: Record<string, unknown> = { ...original.metadata, labels: mutation.labels, annotations: mutation.annotations };
  for (const map of ['labels', 'annotations'] as const) {
    if (Object.keys(mutation[map]).length > 0) continue;
    // Emptied (the webhook took back all it wrote): the map stays, empty. Never had one: still none.
    const had = original.metadata?.[map];
    if (typeof had === 'object' && had !== null) continue;
    if (original.metadata && map in original.metadata) metadata[map] = had;
    else delete metadata[map];
  }
  if (original.metadata === undefined && Object.keys(metadata).length === 0) return original;
  return { ...original, metadata };
}

describe('mutation properties over generated pods', () => {
  test('(a) the targeted metadata patch has the effect of the full-object diff', () => {
    fc.assert(
      fc.property(anyPod, fc.constantFrom(...policies), (subject, policy) => {
        const expected = oracle(subject, mutatePod(subject, policy, 'ns'));
        const viaPatch = applied(subject, patchOf(subject, policy));
        expect(viaPatch).toEqual(expected);
        expect(viaPatch).toEqual(applied(subject, compare(subject, expected)));
      }),
      RUNS,
    );
  }, SLOW);

  test('(b) a second pass over the patched pod yields no patch', () => {
    fc.assert(
      fc.property(anyPod, fc.constantFrom(...policies), (subject, policy) => {
        const once = applied(subject, patchOf(subject, policy));
        expect(patchOf(once, policy)).toEqual([]);
      }),
      RUNS,
    );
  }, SLOW);

  test('(c) a pod without a marker: no original label or annotation is changed or removed', () => {
    fc.assert(
      fc.property(pod, fc.constantFrom(...policies), (subject, policy) => {
        const ops = patchOf(subject, policy);
        const result = applied(subject, ops);
        for (const map of ['labels', 'annotations'] as const) {
          for (const [k, v] of Object.entries(subject.metadata?.[map] ?? {})) expect(result.metadata?.[map]?.[k]).toBe(v);
        }
        expect(ops.every((op) => op.op === 'add')).toBe(true);
      }),
      RUNS,
    );
  }, SLOW);

  test("(c') a pod with a marker: no label, and no annotation the user wrote, added or edited, is changed or removed", () => {
    fc.assert(
      fc.property(lived, fc.constantFrom(...policies), ({ subject, userOwned }, policy) => {
        const result = applied(subject, patchOf(subject, policy));
        for (const [k, v] of Object.entries(userOwned)) expect(result.metadata?.annotations?.[k]).toBe(v);
        for (const [k, v] of Object.entries(subject.metadata?.labels ?? {})) expect(result.metadata?.labels?.[k]).toBe(v);
      }),
      RUNS,
    );
  }, SLOW);

  test('metadataPatch: any added keys, "/" and "~" included, arrive literally', () => {
    fc.assert(
      fc.property(fc.option(stringMap, { nil: undefined }), stringMap, (original, extra) => {
        const desired = { ...extra, ...original };
        const subject: Pod = { metadata: original === undefined ? {} : { annotations: original } };
        const result = applied(subject, metadataPatch(subject.metadata, {}, desired));
        expect(result.metadata?.annotations ?? {}).toEqual(desired);
      }),
      RUNS,
    );
  }, SLOW);
});

describe('(d) handleReview never throws', () => {
  const anyPolicy = fc.constantFrom(...policies);

  test('for arbitrary JSON values as request.object', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 4 }), anyPolicy, (object, policy) => {
        expect(handleReview({ uid: 'u', object }, policy).response).toMatchObject({ uid: 'u', allowed: true });
      }),
      RUNS,
    );
  }, SLOW);

  test('for arbitrary JSON objects as request.object', () => {
    fc.assert(
      fc.property(fc.object({ maxDepth: 4 }), anyPolicy, (object, policy) => {
        expect(handleReview({ uid: 'u', object }, policy).response.allowed).toBe(true);
      }),
      RUNS,
    );
  }, SLOW);

  test('for pod-shaped objects whose fields have arbitrary types', () => {
    const junk = fc.anything({ maxDepth: 2 });
    const orJunk = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof(arb, junk);
    const podish = fc.record(
      {
        metadata: orJunk(
          fc.record(
            {
              labels: orJunk(fc.dictionary(key, orJunk(value)).map((l) => ({ ...l, creator: 'Wutong' }))),
              annotations: orJunk(fc.dictionary(key, orJunk(value))),
            },
            { requiredKeys: [] },
          ),
        ),
        spec: orJunk(
          fc.record(
            {
              containers: orJunk(
                fc.array(
                  orJunk(
                    fc.record(
                      {
                        name: orJunk(fc.constantFrom('mysql', 'gr3a9f1c')),
                        image: orJunk(fc.constantFrom('mysql:8.0.36', 'redis:7')),
                        env: orJunk(fc.array(orJunk(fc.record({ name: orJunk(fc.constant('SERVICE_ID')), value: orJunk(value) })))),
                        volumeMounts: orJunk(fc.array(orJunk(fc.record({ name: orJunk(volumeName), mountPath: orJunk(mountPath) })))),
                      },
                      { requiredKeys: [] },
                    ),
                  ),
                  { maxLength: 3 },
                ),
              ),
              volumes: orJunk(fc.array(orJunk(fc.record({ name: orJunk(volumeName), persistentVolumeClaim: junk }, { requiredKeys: [] })))),
            },
            { requiredKeys: [] },
          ),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(podish, anyPolicy, (object, policy) => {
        const { response } = handleReview({ uid: 'u', object }, policy);
        expect(response.allowed).toBe(true);
        // Whatever is answered must be a patch the API server can apply to that object.
        const ops = decodePatch(response.patch);
        if (ops) expect(() => applyPatch(structuredClone(object), ops, true, false)).not.toThrow();
      }),
      RUNS,
    );
  }, SLOW);
});

// Properties that only ever see skipped pods prove nothing: pin that the
// generator (with one fixed seed) reaches every kind of patch op and warning.
test('the pod generator reaches every branch the properties are about', () => {
  const seen = new Map<string, number>();
  const count = (what: string): void => void seen.set(what, (seen.get(what) ?? 0) + 1);
  for (const [subject, policy] of fc.sample(fc.tuple(anyPod, fc.constantFrom(...policies)), { numRuns: 600, seed: 42 })) {
    if (subject.metadata?.annotations?.[MANAGED_ANNOTATION] !== undefined) count('has marker');
    const result = handleReview({ uid: 'u', namespace: 'ns', object: subject }, policy);
    count(result.outcome);
    for (const op of decodePatch(result.response.patch) ?? []) {
      count(op.path.split('/').length > 3 ? `${op.op} ${op.path.split('/').slice(0, 3).join('/')}/<key>` : `${op.op} ${op.path}`);
    }
    for (const w of result.warnings) count(w.reason);
  }
  expect([...seen.keys()]).toEqual(
    expect.arrayContaining([
      'patched',
      'unchanged',
      'skipped',
      'add /metadata',
      'add /metadata/labels',
      'add /metadata/annotations',
      'add /metadata/labels/<key>',
      'add /metadata/annotations/<key>',
      'replace /metadata/annotations/<key>',
      'remove /metadata/annotations/<key>',
      'has marker',
      'missing-service-id',
      'invalid-service-id',
      'no-data-volume',
      'host-path-volume',
      'crash-consistent-only',
      'container-not-found',
    ]),
  );
  expect(seen.get('patched')).toBeGreaterThanOrEqual(50);
  expect(seen.get('has marker')).toBeGreaterThanOrEqual(30);
});

test('the lived-pod generator reaches every history with a marker and a user edit', () => {
  const seen = new Set<string>();
  for (const l of fc.sample(lived, { numRuns: 400, seed: 7 })) {
    const marker = l.subject.metadata?.annotations?.[MANAGED_ANNOTATION];
    if (marker !== undefined && marker !== '') seen.add(l.history);
  }
  expect([...seen].sort()).toEqual(['added', 'copied', 'edited', 'stale-image', 'stale-volume', 'valid']);
});
