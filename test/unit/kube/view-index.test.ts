import { ViewIndex } from '../../../src/kube/view-index.js';

const view = (name: string, serviceId: string | undefined, resourceVersion = '1'): { metadata: { name: string; resourceVersion: string; labels: Record<string, string> } } => ({
  metadata: { name, resourceVersion, labels: serviceId ? { 'wutong.io/service_id': serviceId } : {} },
});

test('objects are found by name and by label; a relabelled object moves; a removed one is gone from both', () => {
  const index = new ViewIndex<ReturnType<typeof view>>('wutong.io/service_id');
  index.upsert(view('b1', 's1'));
  index.upsert(view('b2', 's1'));
  index.upsert(view('b3', undefined));
  expect(index.withLabel('s1').map((v) => v.metadata.name).sort()).toEqual(['b1', 'b2']);
  index.upsert(view('b2', 's2', '2'));
  expect(index.withLabel('s1').map((v) => v.metadata.name)).toEqual(['b1']);
  expect(index.withLabel('s2').map((v) => v.metadata.name)).toEqual(['b2']);
  index.remove('b1');
  expect(index.withLabel('s1')).toEqual([]);
  expect(index.get('b1')).toBeUndefined();
  expect(index.size).toBe(2);
});

test('a write this process made is not replaced by an older watch event, and does not replace a newer one', () => {
  const index = new ViewIndex<ReturnType<typeof view>>('wutong.io/service_id');
  index.upsert(view('b1', 's1', '10'));
  index.upsertIfNewer(view('b1', 's1', '9'));
  expect(index.get('b1')?.metadata.resourceVersion).toBe('10');
  index.upsertIfNewer(view('b1', 's1', '11'));
  expect(index.get('b1')?.metadata.resourceVersion).toBe('11');
});
