import { RequestRecordIndex, stageBehind } from '../../src/request-record-index.js';

interface Rec {
  name: string;
  uid: string;
  stage: 'New' | 'Working' | 'Done';
}
const STAGES = ['New', 'Working', 'Done'] as const;
const rec = (stage: Rec['stage'], uid = 'u1'): Rec => ({ name: 'r', uid, stage });

test("a watch event older than the loop's own write does not move a record back a stage; a newer one, or another object of the name, does", () => {
  const index = new RequestRecordIndex<Rec>(stageBehind(STAGES, (r: Rec) => r.stage));
  const seen: string[] = [];
  index.subscribe((name) => seen.push(name));
  index.upsert(rec('Working'));
  index.upsert(rec('New'));
  expect(index.get('r')?.stage).toBe('Working');
  index.upsert(rec('Done'));
  expect(index.get('r')?.stage).toBe('Done');
  // Deleted and made again under the same name: a new object, so its first stage counts.
  index.upsert(rec('New', 'u2'));
  expect(index.get('r')).toEqual(rec('New', 'u2'));
  expect(seen).toEqual(['r', 'r', 'r']);
  index.remove('r');
  expect(index.names()).toEqual([]);
  expect(seen).toEqual(['r', 'r', 'r', 'r']);
});
