import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../../src/package-root.js';
import { parseBackupCron } from '../../../src/velero/backup-cron.js';

// Real robfig/cron v1.1.0 (Velero 1.11's cron): its error, or three runs after each of four starts.
interface GoNext {
  specs: { spec: string; error?: string; next?: string[][] }[];
}
const robfig = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'test', 'fixtures', 'go-robfig-next', 'expected.json'), 'utf8')) as GoNext;

const accepted = robfig.specs.filter((s) => s.error === undefined);

test('the fixture holds specs of every shape (fields, descriptors, @every) so the comparison below means something', () => {
  expect(accepted.length).toBeGreaterThan(20);
  expect(accepted.map((s) => s.spec)).toEqual(expect.arrayContaining(['0 0 1 * mon', '@weekly', '@every 500ms', '0 0 30 2 *']));
});

test.each(accepted.map((s) => [s.spec, s.next ?? []] as const))('"%s": the same runs as robfig/cron v1.1.0', (spec, runs) => {
  const cron = parseBackupCron(spec);
  expect(cron).toBeDefined();
  for (const [from = '', ...expected] of runs) {
    const got: string[] = [];
    let t: Date | undefined = new Date(from);
    for (let i = 0; i < expected.length; i++) {
      t = t === undefined ? undefined : cron?.next(t);
      got.push(t === undefined ? '' : t.toISOString().replace('.000Z', 'Z'));
    }
    expect(got).toEqual(expected.map((e) => e.replace(/\.000Z$/, 'Z')));
  }
});

test.each(robfig.specs.filter((s) => s.error !== undefined).map((s) => [s.spec, s.error] as const))('"%s": refused, as robfig refuses it (%s)', (spec) => {
  expect(parseBackupCron(spec)).toBeUndefined();
});
