import { loadPolicy } from '../../../src/policy/load-policy.js';
import { PolicyError, type PolicyIssue } from '../../../src/policy/policy-error.js';

const HEADER = 'apiVersion: backup.wutong.io/v1alpha1\nkind: HookPolicy\nrules:\n';
const FIRST = '  - name: cache\n    match: { image: redis }\n    backup: { pre: { command: [x] } }\n';

function policyWith(protection: string): string {
  return `${HEADER}${FIRST}  - name: orders-db\n    profile: mysql\n    match: { labels: { service_alias: gr3a9f } }\n    protection: ${protection}\n`;
}

function issuesOf(text: string): PolicyIssue[] {
  try {
    loadPolicy(text, 'policy.yaml', 1);
  } catch (err) {
    if (err instanceof PolicyError) return err.issues;
    throw err;
  }
  throw new Error('the policy was accepted');
}

describe('rule protection in the policy', () => {
  test('is compiled with its TTL parsed and keep kept', () => {
    const policy = loadPolicy(policyWith('{ schedule: "0 3 * * *", ttl: 7d, keep: 7 }'), 'p', 1);
    expect(policy.rules[1]?.protection).toEqual({ schedule: '0 3 * * *', ttl: { label: '7d', spec: '168h0m0s' }, keep: 7, backupBeforeUpgrade: false, upgradeHoldLimitMs: 900_000, backupOnStop: false, deletionHoldLimitMs: 300_000 });
    expect(policy.rules[0]?.protection).toBeUndefined();
  });

  test('the TTL defaults to 30 days and keep to none', () => {
    const policy = loadPolicy(policyWith('{ schedule: "@daily" }'), 'p', 1);
    expect(policy.rules[1]?.protection).toEqual({ schedule: '@daily', ttl: { label: '720h', spec: '720h0m0s' }, backupBeforeUpgrade: false, upgradeHoldLimitMs: 900_000, backupOnStop: false, deletionHoldLimitMs: 300_000 });
  });

  test.each([
    ['{ schedule: "0 3 * *" }', 'rules[1].protection.schedule'],
    ['{ schedule: "0 0 3 * * *" }', 'rules[1].protection.schedule'],
    ['{ schedule: "61 3 * * *" }', 'rules[1].protection.schedule'],
    ['{ schedule: "0 3 * * *", ttl: 30 }', 'rules[1].protection.ttl'],
    ['{ schedule: "0 3 * * *", ttl: 1w }', 'rules[1].protection.ttl'],
    ['{ schedule: "0 3 * * *", ttl: 30m }', 'rules[1].protection.ttl'],
    ['{ schedule: "0 3 * * *", keep: 0 }', 'rules[1].protection.keep'],
    ['{ schedule: "0 3 * * *", keep: 1001 }', 'rules[1].protection.keep'],
    ['{ schedule: "0 3 * * *", keep: 2.5 }', 'rules[1].protection.keep'],
    ['{ schedule: "0 3 * * *", keep: "7" }', 'rules[1].protection.keep'],
    ['{ schedule: "0 3 * * *", backupBeforeUpgrade: "yes" }', 'rules[1].protection.backupBeforeUpgrade'],
    ['{ schedule: "0 3 * * *", backupOnStop: 1 }', 'rules[1].protection.backupOnStop'],
    ['{ schedule: "0 3 * * *", upgradeHoldLimit: 5s }', 'rules[1].protection.upgradeHoldLimit'],
    ['{ schedule: "0 3 * * *", upgradeHoldLimit: 2d }', 'rules[1].protection.upgradeHoldLimit'],
    ['{ schedule: "0 3 * * *", upgradeHoldLimit: 15 }', 'rules[1].protection.upgradeHoldLimit'],
    ['{ schedule: "0 3 * * *", deletionHoldLimit: soon }', 'rules[1].protection.deletionHoldLimit'],
    ['{ schedule: "0 3 * * *", deletionHoldLimit: 25h }', 'rules[1].protection.deletionHoldLimit'],
  ])('%s is refused at %s', (protection, path) => {
    const issues = issuesOf(policyWith(protection));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe(path);
    expect(issues[0]?.message).toMatch(/^expected /);
  });

  test('schedule is required and unknown fields are refused, each at its path', () => {
    expect(issuesOf(policyWith('{ ttl: 30d }')).map((i) => i.path)).toEqual(['rules[1].protection.schedule']);
    const unknown = issuesOf(policyWith('{ schedule: "0 3 * * *", backupOnStart: true }'));
    expect(unknown.map((i) => i.path)).toEqual(['rules[1].protection']);
    expect(unknown[0]?.message).toContain('backupOnStart');
  });

  test('the life-cycle options are compiled with their limits in milliseconds', () => {
    const policy = loadPolicy(policyWith('{ schedule: "@daily", backupBeforeUpgrade: true, upgradeHoldLimit: 20s, backupOnStop: true, deletionHoldLimit: 1h30m }'), 'p', 1);
    expect(policy.rules[1]?.protection).toMatchObject({ backupBeforeUpgrade: true, upgradeHoldLimitMs: 20_000, backupOnStop: true, deletionHoldLimitMs: 5_400_000 });
  });

  test('a hold limit out of bounds says which bounds', () => {
    expect(issuesOf(policyWith('{ schedule: "0 3 * * *", deletionHoldLimit: 1s }'))).toEqual([
      { path: 'rules[1].protection.deletionHoldLimit', message: 'expected a duration from 10s to 1d, such as 15m' },
    ]);
  });

  test('the message says what a good value looks like', () => {
    expect(issuesOf(policyWith('{ schedule: "0 3 * * *", keep: 0 }'))).toEqual([
      { path: 'rules[1].protection.keep', message: 'expected a whole number from 1 to 1000' },
    ]);
    expect(issuesOf(policyWith('{ schedule: "daily" }'))[0]?.message).toContain('5-field cron');
  });
});
