import { pino, type Logger } from 'pino';
import { registry } from '../../../src/observability/metrics.js';
import { applyPolicyText } from '../../../src/policy/apply-policy-text.js';
import { loadDefaultPolicy } from '../../../src/policy/default-policy.js';
import { PolicyStore } from '../../../src/policy/policy-store.js';

const GOOD = `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
fileSystemBackup: { mode: opt-out }
rules:
  - name: mysql
    match: { image: mysql }
    backup: { pre: { command: [/bin/true], timeout: 1m } }
`;
const BAD = GOOD.replace('timeout: 1m', 'timeout: a minute');

function capturingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

async function gauge(name: string): Promise<number | undefined> {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values[0]?.value;
}

test('a valid document replaces the policy in force with the next generation', async () => {
  const store = new PolicyStore(loadDefaultPolicy(1));
  const { log, lines } = capturingLogger();

  expect(applyPolicyText(store, GOOD, '/etc/wutong-backup/policy.yaml', log)).toBeUndefined();

  expect(store.current()).toMatchObject({ generation: 2, source: '/etc/wutong-backup/policy.yaml', fsbMode: 'opt-out' });
  expect(lines).toEqual([expect.objectContaining({ msg: 'policy loaded', generation: 2, rules: 1 })]);
  expect(await gauge('wutong_backup_policy_valid')).toBe(1);
  expect(await gauge('wutong_backup_policy_generation')).toBe(2);
});

test('an invalid document keeps the last good policy and logs the field path', async () => {
  const store = new PolicyStore(loadDefaultPolicy(1));
  const { log, lines } = capturingLogger();
  applyPolicyText(store, GOOD, 'configmap wutong-backup/policy', log);
  lines.length = 0;

  const error = applyPolicyText(store, BAD, 'configmap wutong-backup/policy', log);

  expect(error?.issues).toEqual([{ path: 'rules[0].backup.pre.timeout', message: 'expected a duration like 30s' }]);
  expect(store.current()).toMatchObject({ generation: 2, fsbMode: 'opt-out' });
  expect(lines).toEqual([
    expect.objectContaining({
      level: 50,
      msg: 'policy rejected; keeping the last good policy',
      issues: [{ path: 'rules[0].backup.pre.timeout', message: 'expected a duration like 30s' }],
      generation: 2,
    }),
  ]);
  expect(await gauge('wutong_backup_policy_valid')).toBe(0);

  // Fixing the document recovers, and generations keep counting up.
  applyPolicyText(store, GOOD, 'configmap wutong-backup/policy', log);
  expect(store.current().generation).toBe(3);
  expect(await gauge('wutong_backup_policy_valid')).toBe(1);
});
