import { mutatePod } from '../../../src/admission/mutate-pod.js';
import { matchRule } from '../../../src/admission/match-rule.js';
import { loadPolicy } from '../../../src/policy/load-policy.js';
import { PolicyError, type PolicyIssue } from '../../../src/policy/policy-error.js';
import { mysqlProfile } from '../../../src/policy/profiles/mysql-family-profiles.js';
import { redisProfile } from '../../../src/policy/profiles/redis-profile.js';
import { annotationsFor, argvOf, HEADER, podWith } from './profile-fixtures.js';

const PRE = 'pre.hook.backup.velero.io/';
const POST = 'post.hook.backup.velero.io/';
const RESTORE = 'post.hook.restore.velero.io/';

function issuesOf(body: string): PolicyIssue[] {
  try {
    loadPolicy(HEADER + body, 'policy.yaml', 1);
  } catch (err) {
    if (err instanceof PolicyError) return err.issues;
    throw err;
  }
  throw new Error('the policy was accepted');
}

const mysqlPod = podWith('mysql:8.0.36', '/var/lib/mysql', { MYSQL_ROOT_PASSWORD: 'pw' });

describe('a rule naming a profile', () => {
  test('gets the profile hooks, and matches by the profile image when it names no container', () => {
    const annotations = annotationsFor('rules:\n  - name: db\n    profile: mysql\n', mysqlPod);
    expect(argvOf(annotations, PRE)).toEqual(['/bin/sh', '-c', expect.stringContaining('mariadb-dump mysqldump') as unknown]);
    expect(annotations[`${PRE}timeout`]).toBe('30m');
    expect(annotations[`${PRE}on-error`]).toBe('Fail');
    expect(annotations[`${RESTORE}command`]).toContain('imported');
    const policy = loadPolicy(`${HEADER}rules:\n  - name: db\n    profile: mysql\n`, 'p', 1);
    expect(policy.rules[0]?.image?.source).toBe(mysqlProfile.image?.replace(/\//g, '\\/'));
    expect(policy.rules[0]?.profile).toBe('mysql');
    expect(matchRule(policy.rules[0]!, 'ns', {}, [{ name: 'c', image: 'redis:7' }]).kind).toBe('no-container');
  });

  test('overriding one field keeps the rest: a longer timeout keeps the command', () => {
    const plain = annotationsFor('rules:\n  - name: db\n    profile: mysql\n', mysqlPod);
    const tuned = annotationsFor('rules:\n  - name: db\n    profile: mysql\n    backup: { pre: { timeout: 2h } }\n    restore: { post: { execTimeout: 3h } }\n', mysqlPod);
    expect(tuned[`${PRE}timeout`]).toBe('2h');
    expect(tuned[`${PRE}command`]).toBe(plain[`${PRE}command`]);
    expect(tuned[`${PRE}on-error`]).toBe('Fail');
    expect(tuned[`${RESTORE}exec-timeout`]).toBe('3h');
    expect(tuned[`${RESTORE}wait-timeout`]).toBe('10m');
    expect(tuned[`${RESTORE}command`]).toBe(plain[`${RESTORE}command`]);
  });

  test('command or shell replaces the profile script, whichever form the profile used', () => {
    const byCommand = annotationsFor('rules:\n  - name: db\n    profile: mysql\n    backup: { pre: { command: [/usr/local/bin/dump, "{{dataDir}}"] } }\n', mysqlPod);
    expect(argvOf(byCommand, PRE)).toEqual(['/usr/local/bin/dump', '/var/lib/mysql']);
    expect(byCommand[`${PRE}timeout`]).toBe('30m');
    const byShell = annotationsFor('rules:\n  - name: db\n    profile: fsfreeze\n    match: { containers: [db] }\n    backup: { pre: { shell: sync } }\n', mysqlPod);
    expect(argvOf(byShell, PRE)).toEqual(['/bin/sh', '-c', 'sync']);
  });

  test('false drops one of the profile hooks', () => {
    const annotations = annotationsFor('rules:\n  - name: db\n    profile: mysql\n    restore: { post: false }\n', mysqlPod);
    expect(annotations[`${PRE}command`]).toBeDefined();
    expect(Object.keys(annotations).filter((k) => k.startsWith(RESTORE))).toEqual([]);
  });

  test('a container named in the rule is not also required to match the profile image', () => {
    const pod = podWith('registry.example.com/team/orders-db:4', '/data');
    const annotations = annotationsFor('rules:\n  - name: db\n    profile: postgresql\n    match: { containers: [db] }\n', pod);
    expect(annotations[`${PRE}container`]).toBe('db');
  });

  test('hooks the profile lacks can be added, complete, by the rule', () => {
    const annotations = annotationsFor(
      'rules:\n  - name: cache\n    profile: redis\n    restore: { post: { command: [redis-cli, PING], execTimeout: 1m } }\n',
      podWith('redis:7', '/data'),
    );
    expect(argvOf(annotations, RESTORE)).toEqual(['redis-cli', 'PING']);
    expect(argvOf(annotations, PRE)[2]).toBe(redisProfile.backup.pre?.shell?.replace('{{dataDir}}', '/data'));
  });
});

describe('validation of profile references names the field', () => {
  test('an unknown profile lists the known ones', () => {
    const body = 'rules:\n  - name: a\n    profile: redis\n  - name: b\n    profile: mysq\n';
    expect(issuesOf(body)).toEqual([
      {
        path: 'rules[1].profile',
        message: 'unknown profile "mysq"; known: mysql, mariadb, postgresql, redis, mongodb, etcd, elasticsearch, fsfreeze',
      },
    ]);
    expect(() => loadPolicy(HEADER + body, 'policy.yaml', 1)).toThrow(
      'policy.yaml: rules[1].profile: unknown profile "mysq"; known: mysql, mariadb,',
    );
  });

  test('fsfreeze has no image: the rule must name the sidecar', () => {
    expect(issuesOf('rules:\n  - name: freeze\n    profile: fsfreeze\n')).toEqual([
      {
        path: 'rules[0].match',
        message: 'name the container the hooks run in with containers or image (profile fsfreeze matches no image by itself)',
      },
    ]);
  });

  test('a partial hook for a slot the profile does not fill', () => {
    expect(issuesOf('rules:\n  - name: cache\n    profile: redis\n    restore: { post: { execTimeout: 1m } }\n')).toEqual([
      { path: 'rules[0].restore.post.command', message: 'set exactly one of command or shell' },
    ]);
  });

  test('changing the cleanup hook needs dumps.removeAfterBackup, which is what adds it', () => {
    expect(issuesOf('rules:\n  - name: db\n    profile: mysql\n    backup: { post: { timeout: 5m } }\n')).toEqual([
      {
        path: 'rules[0].backup.post.command',
        message: 'set exactly one of command or shell (profile mysql deletes its dump after backup only with dumps.removeAfterBackup: true)',
      },
    ]);
    const annotations = annotationsFor('dumps: { removeAfterBackup: true }\nrules:\n  - name: db\n    profile: mysql\n    backup: { post: { timeout: 5m } }\n', mysqlPod);
    expect(annotations[`${POST}timeout`]).toBe('5m');
    expect(argvOf(annotations, POST)).toEqual(['rm', '-f', '--', '/var/lib/mysql/.wutong-backup-mysql.sql']);
  });

  test('false needs a profile hook to remove', () => {
    expect(issuesOf('rules:\n  - name: a\n    match: { image: x }\n    backup: { pre: false }\n')).toEqual([
      { path: 'rules[0].backup.pre', message: "false removes a profile's hook, but the rule names no profile" },
    ]);
    expect(issuesOf('rules:\n  - name: a\n    profile: redis\n    restore: { init: false }\n')).toEqual([
      { path: 'rules[0].restore.init', message: "false removes a profile's hook, but profile redis has no restore.init hook" },
    ]);
  });

  test('both command and shell in an override', () => {
    expect(issuesOf("rules:\n  - name: a\n    profile: redis\n    backup: { pre: { command: [x], shell: 'y' } }\n")).toEqual([
      { path: 'rules[0].backup.pre.command', message: 'set exactly one of command or shell' },
    ]);
  });

  test('without a profile a rule still needs a match', () => {
    expect(issuesOf('rules:\n  - name: a\n    backup: { pre: { command: [x] } }\n')).toEqual([
      { path: 'rules[0].match', message: 'Invalid input: expected object, received undefined' },
    ]);
  });

  test('autoProfiles names known profiles that have an image', () => {
    expect(issuesOf('autoProfiles: [mysql, nosql, fsfreeze]\n')).toEqual([
      { path: 'autoProfiles[1]', message: expect.stringMatching(/^unknown profile "nosql"; known: mysql,/) as unknown },
      { path: 'autoProfiles[2]', message: 'profile fsfreeze has no image to be picked by' },
    ]);
  });

  test('dumps is strict about its keys', () => {
    expect(issuesOf('dumps: { removeAfterBackups: true }\n')).toEqual([{ path: 'dumps', message: 'Unrecognized key: "removeAfterBackups"' }]);
  });
});

describe('rules without a profile behave exactly as before profiles existed', () => {
  test('explicit hooks render as written, with no profile fields', () => {
    const policy = loadPolicy(
      `${HEADER}rules:\n  - name: a\n    match: { image: '^mysql:' }\n    backup: { pre: { shell: 'dump > {{dataDir}}/d', timeout: 1m } }\n`,
      'p',
      1,
    );
    expect(policy.rules[0]).not.toHaveProperty('profile');
    expect(policy).not.toHaveProperty('autoRules');
    const annotations = mutatePod(mysqlPod, policy, 'default');
    expect(annotations.handled && Object.entries(annotations.annotations).filter(([k]) => k.includes('.hook.'))).toEqual([
      [`${PRE}container`, 'db'],
      [`${PRE}command`, '["/bin/sh","-c","dump > /var/lib/mysql/d"]'],
      [`${PRE}timeout`, '1m'],
    ]);
  });

  test('the user still owns each hook kind separately', () => {
    const pod = podWith('mysql:8', '/var/lib/mysql');
    pod.metadata = { ...pod.metadata, annotations: { [`${PRE}command`]: '["true"]' } };
    const annotations = annotationsFor(
      "rules:\n  - name: a\n    match: { image: '^mysql:' }\n    backup: { pre: { command: [x] } }\n    restore: { post: { command: [y] } }\n",
      pod,
    );
    expect(annotations[`${PRE}command`]).toBe('["true"]');
    expect(annotations[`${RESTORE}command`]).toBe('["y"]');
  });
});

test("a profile's hooks work as a set: a pod with its own pre-backup hook gets none of them", () => {
  const pod = podWith('mysql:8', '/var/lib/mysql');
  pod.metadata = { ...pod.metadata, annotations: { [`${PRE}command`]: '["/bin/my-dump"]' } };
  const mutation = mutatePod(pod, loadPolicy(`${HEADER}rules:\n  - name: db\n    profile: mysql\n`, 'p', 1), 'default');
  if (!mutation.handled) throw new Error('not handled');
  expect(Object.keys(mutation.annotations).filter((k) => k.includes('.hook.'))).toEqual([`${PRE}command`]);
  expect(mutation.added.hooks).toBe(0);
});

describe('autoProfiles', () => {
  const pgPod = podWith('bitnami/postgresql:16', '/bitnami/postgresql', { POSTGRES_PASSWORD: 'pw' });

  test('off by default: a pod no rule matches gets no hooks and the crash-consistent warning', () => {
    const mutation = mutatePod(pgPod, loadPolicy(HEADER, 'p', 1), 'default');
    expect(mutation.handled && mutation.warnings.map((w) => w.reason)).toEqual(['crash-consistent-only']);
  });

  test('true: the profile whose image fits, when no rule matched', () => {
    const mutation = mutatePod(pgPod, loadPolicy(`${HEADER}autoProfiles: true\nrules:\n  - name: cache\n    profile: redis\n`, 'p', 1), 'default');
    if (!mutation.handled) throw new Error('not handled');
    expect(mutation.audit.rule).toBe('auto/postgresql');
    expect(mutation.annotations[`${PRE}command`]).toContain('pg_dumpall');
    expect(mutation.warnings).toEqual([]);
  });

  test('a rule that matches wins over autoProfiles', () => {
    const mutation = mutatePod(
      pgPod,
      loadPolicy(`${HEADER}autoProfiles: true\nrules:\n  - name: custom\n    match: { containers: [db] }\n    backup: { pre: { command: [custom] } }\n`, 'p', 1),
      'default',
    );
    expect(mutation.handled && mutation.audit.rule).toBe('custom');
  });

  test('a list limits autoProfiles to those profiles', () => {
    const policy = loadPolicy(`${HEADER}autoProfiles: [redis, etcd]\n`, 'p', 1);
    expect(policy.autoRules?.map((r) => r.name)).toEqual(['auto/redis', 'auto/etcd']);
    const mutation = mutatePod(pgPod, policy, 'default');
    expect(mutation.handled && mutation.audit.rule).toBeUndefined();
  });
});

test('match-rule builds the "wanted" text only when it is read', () => {
  const policy = loadPolicy(`${HEADER}rules:\n  - name: a\n    match: { containers: [mysql], image: '^mysql:' }\n    backup: { pre: { command: [x] } }\n`, 'p', 1);
  const result = matchRule(policy.rules[0]!, 'ns', {}, [{ name: 'web', image: 'nginx' }]);
  expect(Object.keys(Object.getOwnPropertyDescriptor(result, 'wanted') ?? {})).toContain('get');
  expect(result).toEqual({ kind: 'no-container', wanted: 'container mysql with image matching /^mysql:/' });
});
