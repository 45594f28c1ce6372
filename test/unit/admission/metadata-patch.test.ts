import fastJsonPatch from 'fast-json-patch';
import { metadataPatch } from '../../../src/admission/metadata-patch.js';
import type { Pod } from '../../../src/admission/pod.js';

const { applyPatch } = fastJsonPatch;

function apply(pod: Pod, ops: ReturnType<typeof metadataPatch>): Pod {
  return applyPatch(structuredClone(pod), ops, true, true).newDocument;
}

describe('metadataPatch', () => {
  test('escapes "/" as ~1 and "~" as ~0 in added keys (RFC 6901), and applying it yields the literal keys', () => {
    const pod: Pod = { metadata: { labels: { app: 'a' }, annotations: { 'keep/me': 'x' } } };
    const annotations = { 'keep/me': 'x', 'example.com/a~b': '1', '~/~1': '2' };
    const ops = metadataPatch(pod.metadata, { app: 'a' }, annotations);
    expect(ops).toEqual([
      { op: 'add', path: '/metadata/annotations/example.com~1a~0b', value: '1' },
      { op: 'add', path: '/metadata/annotations/~0~1~01', value: '2' },
    ]);
    expect(apply(pod, ops).metadata?.annotations).toEqual(annotations);
  });

  test('adds a missing annotations map whole, since adding a key under a missing map fails', () => {
    const pod: Pod = { metadata: { name: 'p', labels: { app: 'a' } } };
    const ops = metadataPatch(pod.metadata, { app: 'a' }, { 'a/b': 'c' });
    expect(ops).toEqual([{ op: 'add', path: '/metadata/annotations', value: { 'a/b': 'c' } }]);
    expect(apply(pod, ops).metadata).toEqual({ name: 'p', labels: { app: 'a' }, annotations: { 'a/b': 'c' } });
  });

  test('adds a missing labels map whole', () => {
    const pod: Pod = { metadata: {} };
    const ops = metadataPatch(pod.metadata, { service_id: 'x' }, {});
    expect(ops).toEqual([{ op: 'add', path: '/metadata/labels', value: { service_id: 'x' } }]);
  });

  test('adds missing metadata whole, with only the non-empty maps', () => {
    const pod: Pod = { spec: {} };
    const ops = metadataPatch(pod.metadata, {}, { k: 'v' });
    expect(ops).toEqual([{ op: 'add', path: '/metadata', value: { annotations: { k: 'v' } } }]);
    expect(apply(pod, ops)).toEqual({ spec: {}, metadata: { annotations: { k: 'v' } } });
  });

  test('nothing to add gives no ops, not an empty map', () => {
    expect(metadataPatch(undefined, {}, {})).toEqual([]);
    expect(metadataPatch({}, {}, {})).toEqual([]);
    expect(metadataPatch({ labels: { a: 'b' } }, { a: 'b' }, {})).toEqual([]);
  });

  test('a null map (as JSON may carry) is replaced, not patched into', () => {
    const pod = { metadata: { annotations: null } } as unknown as Pod;
    const ops = metadataPatch(pod.metadata, {}, { k: 'v' });
    expect(ops).toEqual([{ op: 'add', path: '/metadata/annotations', value: { k: 'v' } }]);
    expect(apply(pod, ops).metadata?.annotations).toEqual({ k: 'v' });
  });
});
