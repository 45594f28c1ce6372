import { loadPolicy } from '../../../src/policy/load-policy.js';
import { PolicyError, type PolicyIssue } from '../../../src/policy/policy-error.js';

const HEADER = 'apiVersion: backup.wutong.io/v1alpha1\nkind: HookPolicy\n';

/** Two valid rules, so a third (the one under test) sits at rules[2]. */
const TWO_RULES = `
rules:
  - name: mysql
    match: { image: '(^|/)mysql:' }
    backup: { pre: { command: [/bin/true] } }
  - name: redis
    match: { image: '(^|/)redis:' }
    backup: { pre: { shell: redis-cli BGSAVE, timeout: 10m } }
`;

function issuesOf(text: string): PolicyIssue[] {
  try {
    loadPolicy(text, 'policy.yaml', 1);
  } catch (err) {
    if (err instanceof PolicyError) return err.issues;
    throw err;
  }
  throw new Error('the policy was accepted');
}

function thirdRule(rule: string): string {
  return HEADER + TWO_RULES + rule;
}

describe('policy validation names the exact field', () => {
  test('a bad timeout', () => {
    const text = thirdRule(`  - name: pg
    match: { image: postgres }
    backup:
      pre: { command: [pg_dumpall], timeout: 30 seconds }
`);
    expect(issuesOf(text)).toEqual([{ path: 'rules[2].backup.pre.timeout', message: 'expected a duration like 30s' }]);
    expect(() => loadPolicy(text, 'policy.yaml', 1)).toThrow('policy.yaml: rules[2].backup.pre.timeout: expected a duration like 30s');
  });

  test.each(['30', '1d', '-5s', '5 s', '', 'm'])('timeout %j is not a Go duration', (timeout) => {
    const text = thirdRule(`  - name: pg
    match: { image: postgres }
    restore:
      post: { command: [x], execTimeout: '${timeout}' }
`);
    expect(issuesOf(text)).toEqual([{ path: 'rules[2].restore.post.execTimeout', message: 'expected a duration like 30s' }]);
  });

  test.each(['30s', '5m', '1h30m', '500ms', '1.5h', '2h45m30.5s', '100us', '10µs'])('timeout %j is accepted', (timeout) => {
    const policy = loadPolicy(thirdRule(`  - name: pg\n    match: { image: postgres }\n    backup: { pre: { command: [x], timeout: '${timeout}' } }\n`), 'p', 1);
    expect(policy.rules[2]?.hooks[0]?.fixed).toEqual([['timeout', timeout]]);
  });

  test('both command and shell', () => {
    const text = thirdRule(`  - name: pg
    match: { image: postgres }
    backup:
      post: { command: [/bin/true], shell: 'true' }
`);
    expect(issuesOf(text)).toEqual([{ path: 'rules[2].backup.post.command', message: 'set exactly one of command or shell' }]);
  });

  test('neither command nor shell', () => {
    const text = thirdRule(`  - name: pg
    match: { image: postgres }
    restore:
      init: { image: busybox }
`);
    expect(issuesOf(text)).toEqual([{ path: 'rules[2].restore.init.command', message: 'set exactly one of command or shell' }]);
  });

  test('an empty argv', () => {
    const text = thirdRule(`  - name: pg\n    match: { image: postgres }\n    backup: { pre: { command: [] } }\n`);
    expect(issuesOf(text)).toEqual([{ path: 'rules[2].backup.pre.command', message: 'expected at least one argument' }]);
  });

  test('a bad regular expression', () => {
    const issues = issuesOf(thirdRule(`  - name: pg\n    match: { image: '(postgres' }\n`));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('rules[2].match.image');
    expect(issues[0]?.message).toMatch(/^invalid regular expression: Invalid regular expression: \/\(postgres\/.*: Unterminated group$/);
  });

  test('duplicate rule names', () => {
    const text = thirdRule(`  - name: mysql\n    match: { containers: [db] }\n`);
    expect(issuesOf(text)).toEqual([{ path: 'rules[2].name', message: 'duplicate rule name "mysql" (first used by rules[0])' }]);
  });

  test('an unknown placeholder in a shell script', () => {
    const text = thirdRule(`  - name: pg
    match: { image: postgres }
    backup:
      pre: { shell: 'pg_dumpall > {{datadir}}/dump.sql' }
`);
    expect(issuesOf(text)).toEqual([
      { path: 'rules[2].backup.pre.shell', message: 'unknown placeholder {{datadir}} (only {{dataDir}} is defined)' },
    ]);
  });

  test('an unknown placeholder in an argv element', () => {
    const text = thirdRule(`  - name: pg
    match: { image: postgres }
    restore:
      post: { command: [psql, '-f', '{{ dumpFile }}'] }
`);
    expect(issuesOf(text)).toEqual([
      { path: 'rules[2].restore.post.command[2]', message: 'unknown placeholder {{dumpFile}} (only {{dataDir}} is defined)' },
    ]);
  });

  test('a match that names no container', () => {
    const text = thirdRule(`  - name: pg\n    match: { labels: { service_alias: grc41d0a } }\n`);
    expect(issuesOf(text)).toEqual([{ path: 'rules[2].match', message: 'name the container the hooks run in with containers or image' }]);
  });

  test('a rule name that is not a DNS label', () => {
    expect(issuesOf(thirdRule(`  - name: Orders_DB\n    match: { image: x }\n`))).toEqual([
      { path: 'rules[2].name', message: 'expected a lowercase DNS label (a-z, 0-9, -)' },
    ]);
  });

  test('an onError that Velero does not know', () => {
    const issues = issuesOf(thirdRule(`  - name: pg\n    match: { image: x }\n    backup: { pre: { command: [x], onError: Ignore } }\n`));
    expect(issues).toEqual([{ path: 'rules[2].backup.pre.onError', message: expect.stringContaining('"Continue"|"Fail"') as unknown }]);
  });

  test('wrong apiVersion and kind', () => {
    expect(issuesOf('apiVersion: backup.wutong.io/v1\nkind: Policy\n')).toEqual([
      { path: 'apiVersion', message: 'Invalid input: expected "backup.wutong.io/v1alpha1"' },
      { path: 'kind', message: 'Invalid input: expected "HookPolicy"' },
    ]);
  });

  test('an unknown field at the top is rejected (strict), naming the key', () => {
    expect(issuesOf(`${HEADER}spec:\n  rules: []\n`)).toEqual([{ path: '', message: 'Unrecognized key: "spec"' }]);
  });

  test('a misspelt field deep inside a rule is rejected, naming where and which', () => {
    const text = thirdRule(`  - name: pg\n    match: { image: x }\n    backup: { pre: { command: [x], timout: 5m } }\n`);
    expect(issuesOf(text)).toEqual([{ path: 'rules[2].backup.pre', message: 'Unrecognized key: "timout"' }]);
  });

  test('every problem is reported at once, not just the first', () => {
    const text = thirdRule(`  - name: redis
    match: { image: '[' }
    backup: { pre: { command: [x], timeout: soon } }
`);
    expect(issuesOf(text).map((i) => i.path)).toEqual(['rules[2].match.image', 'rules[2].backup.pre.timeout', 'rules[2].name']);
  });

  test('a YAML syntax error says invalid YAML with the line', () => {
    const issues = issuesOf(`${HEADER}rules:\n  - name: [mysql\n    match: {}\n`);
    expect(issues.length).toBeGreaterThanOrEqual(1);
    expect(issues[0]?.path).toBe('');
    expect(issues[0]?.message).toMatch(/^invalid YAML: .* at line \d+, column \d+/);
    expect(issues.every((i) => !i.message.includes('\n'))).toBe(true);
  });

  test('a key given twice is a YAML error, not a silent override', () => {
    expect(issuesOf(`${HEADER}kind: HookPolicy\n`)).toEqual([
      { path: '', message: expect.stringMatching(/^invalid YAML: Map keys must be unique at line 3/) as unknown },
    ]);
  });

  test.each(['', '# only a comment\n', '~\n'])('an empty document (%j) is rejected', (text) => {
    expect(issuesOf(text)).toEqual([{ path: '', message: 'empty policy document' }]);
  });

  test('a document that is not a mapping is rejected', () => {
    expect(issuesOf('- a\n- b\n')).toEqual([{ path: '', message: expect.stringContaining('expected object') as unknown }]);
  });
});

describe('defaults', () => {
  test('a bare policy handles Wutong pods, opt-in file-system backup without emptyDir, no rules', () => {
    const policy = loadPolicy(HEADER, 'bare', 7);
    expect(policy).toEqual({
      generation: 7,
      source: 'bare',
      podSelector: [['creator', 'Wutong']],
      fsbMode: 'opt-in',
      includeEmptyDir: false,
      rules: [],
    });
  });

  test('fileSystemBackup.mode alone leaves includeEmptyDir false', () => {
    const policy = loadPolicy(`${HEADER}fileSystemBackup: { mode: opt-out }\n`, 'p', 1);
    expect([policy.fsbMode, policy.includeEmptyDir]).toEqual(['opt-out', false]);
  });

  test('a hook without onError or timeout adds no such annotation (Velero applies its own defaults)', () => {
    const policy = loadPolicy(`${HEADER}rules:\n  - name: a\n    match: { image: x }\n    backup: { pre: { command: [x] } }\n`, 'p', 1);
    expect(policy.rules[0]?.hooks[0]?.fixed).toEqual([]);
  });

  test('the init container is named after the rule unless given, cut to a valid 63-character name', () => {
    // "restore-" + this 62-character name, cut at 63, would end in "-".
    const long = `${'a'.repeat(54)}-bcdefgh`;
    const policy = loadPolicy(
      `${HEADER}rules:\n  - name: ${long}\n    match: { image: x }\n    restore: { init: { command: [x] } }\n` +
        `  - name: b\n    match: { image: x }\n    restore: { init: { command: [x], containerName: wait-for-dump } }\n`,
      'p',
      1,
    );
    const name = policy.rules[0]?.hooks[0]?.initContainerName ?? '';
    expect(name).toBe(`restore-${'a'.repeat(54)}`);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(policy.rules[1]?.hooks[0]?.initContainerName).toBe('wait-for-dump');
  });
});

test('a script handed to a shell through command: may not use {{dataDir}} unquoted; shell: is the way', () => {
  const doc = `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: app
    match: { image: app }
    backup:
      pre:
        command: ["/bin/sh", "-c", "tar cf {{dataDir}}/x.tar /etc"]
`;
  expect(() => loadPolicy(doc, 'p.yaml', 1)).toThrow(
    'p.yaml: rules[0].backup.pre.command[2]: a script given to a shell must use shell: (which quotes {{dataDir}}), not command:',
  );
  expect(() => loadPolicy(doc.replace('["/bin/sh", "-c", "tar cf {{dataDir}}/x.tar /etc"]', '["tar", "cf", "{{dataDir}}/x.tar", "/etc"]'), 'p.yaml', 1)).not.toThrow();
});
