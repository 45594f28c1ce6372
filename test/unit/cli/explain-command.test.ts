import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../../src/package-root.js';
import { cli } from './run-cli-in-process.js';

const FIXTURES = join(PACKAGE_ROOT, 'test', 'fixtures', 'cli');

/** A MySQL pod of a Wutong component with these annotations (a YAML flow map). */
const podWith = (annotations: string): string =>
  [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    '  name: p',
    '  labels: { creator: Wutong, service_id: 5f3c1b2a9d8e4f60a7b1c2d3e4f5a6b7 }',
    `  annotations: ${annotations}`,
    'spec:',
    '  containers: [{ name: db, image: mysql:8, volumeMounts: [{ name: d, mountPath: /var/lib/mysql }] }]',
    '  volumes: [{ name: d, persistentVolumeClaim: { claimName: d } }]',
  ].join('\n');

describe('wutong-backup explain', () => {
  test('says why each rule did or did not take the pod, and what autoProfiles picked', async () => {
    const run = await cli(['explain', '-f', join(FIXTURES, 'mixed.yaml'), '--policy', join(FIXTURES, 'team-policy.yaml')]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const lines = run.stdout.split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'pod/orders-db-0 in namespace shop',
        '    1. billing-db [profile postgresql]: no match: namespace "shop" is not one of billing',
        '    2. orders-cache [profile redis]: no match: label app is "orders", the rule wants "orders-cache"',
        '    3. orders-db [profile mysql]: no match: no container fits: wants container mysql; the pod has exporter (prom/postgres-exporter:v0.15.0), db (postgres:16.2)',
        '  autoProfiles (no rule took the pod; profiles by image):',
        '    profile postgresql: SELECTED: hooks run in container "db" (image postgres:16.2 matches /(^|\\/)(postgres|postgresql|postgis)(:|@|$)/)',
        '  hooks run in container: db; {{dataDir}} = /var/lib/postgresql/data',
        '  file-system backup: Velero copies volumes data (backup.velero.io/backup-volumes=data from the policy; Backups made by wutong-backup read only that list: defaultVolumesToFsBackup false)',
        '    post-backup, from the policy:',
        '      post.hook.backup.velero.io/command: ["rm","-f","--","/var/lib/postgresql/data/.wutong-backup-postgresql.sql"]',
        '    - rule "orders-db" selects this pod but it has no container mysql; its hooks were not added',
        `${join(FIXTURES, 'mixed.yaml')} (document 1): a Service has no pod: the webhook never sees it`,
      ]),
    );
    // Profiles after the picked one are not listed.
    const podSection = run.stdout.split('\n\n').find((section) => section.startsWith('pod/orders-db-0')) ?? '';
    expect(podSection).toContain('profile mariadb: no match');
    expect(podSection).not.toContain('profile etcd:');
    // Shell scripts are shown line by line.
    expect(lines).toContain('          | pg_dumpall --username="$user" --clean --if-exists > "$out.tmp"');
  });

  test('the built-in policy on a StatefulSet: first rule wins, the later ones are not evaluated', async () => {
    const run = await cli(['explain', '-f', join(FIXTURES, 'mysql-statefulset.yaml')]);
    expect(run.stdout).toContain('policy: built-in default');
    expect(run.stdout).toContain('    1. mysql [profile mysql]: SELECTED: hooks run in container "gr3a9f1c"');
    expect(run.stdout).toContain('    2. postgresql [profile postgresql]: not evaluated: an earlier rule took the pod (first match wins)');
    expect(run.stdout).toContain('  autoProfiles: off');
    expect(run.stdout).toContain('  labels added: service_id=5f3c1b2a9d8e4f60a7b1c2d3e4f5a6b7');
    expect(run.stdout).toContain('  warnings: none');
  });

  test('says which rule protects the component, with its schedule, ttl and keep', async () => {
    const protectedRun = await cli(['explain', '-f', join(FIXTURES, 'mysql-statefulset.yaml'), '--policy', join(FIXTURES, 'protection-policy.yaml')]);
    expect(protectedRun.stdout).toContain('  protection: protected by rule orders-db: schedule 0 3 * * *, ttl 30d, keep 7, deletion guard ≤ 5m\n');
    const unprotected = await cli(['explain', '-f', join(FIXTURES, 'mysql-statefulset.yaml')]);
    expect(unprotected.stdout).toContain('  protection: none: no rule with protection matches, so no Schedule is kept for this component\n');
  });

  test('a pod the webhook skips says why and nothing else', async () => {
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: { name: p, labels: { creator: Wutong, backup.wutong.io/inject: "false" } }\nspec: { containers: [{ name: c, image: mysql:8 }] }\n';
    const run = await cli(['explain', '-f', '-'], pod);
    expect(run.stdout).toBe(
      'policy: built-in default\n\npod/p in namespace default\n  not handled: label backup.wutong.io/inject=false; the webhook leaves this pod unchanged\n' +
        '  file-system backup: untouched; Velero copies no volume (the pod has no backup.velero.io/backup-volumes; Backups made by wutong-backup read only that list: defaultVolumesToFsBackup false)\n',
    );
  });

  test("a pod with its own hook annotations keeps them, and is told why the profile added nothing", async () => {
    const pod = [
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      '  name: p',
      '  labels: { creator: Wutong, service_id: 5f3c1b2a9d8e4f60a7b1c2d3e4f5a6b7 }',
      '  annotations: { pre.hook.backup.velero.io/command: \'["/bin/my-dump"]\' }',
      'spec:',
      '  containers: [{ name: db, image: mysql:8, volumeMounts: [{ name: d, mountPath: /var/lib/mysql }] }]',
      '  volumes: [{ name: d, persistentVolumeClaim: { claimName: d } }]',
    ].join('\n');
    const run = await cli(['explain', '-f', '-'], pod);
    expect(run.stdout).toContain("    pre-backup, the pod's own annotations, kept as they are:");
    expect(run.stdout).toContain(
      "  note: profile mysql added no hook: the pod has its own pre-backup annotations, and a profile's hooks only work together",
    );
    expect(run.stdout).not.toContain('post-restore');
  });

  // Velero v1.11.1 internal/hook/item_hook_handler.go L230, L312-315: only an explicit on-error Fail fails the item.
  test('a hook without on-error is said to go on after a failure (Continue), as Velero does, not Fail as its docs say', async () => {
    const run = await cli(['explain', '-f', '-'], podWith("{ pre.hook.backup.velero.io/command: '[\"/bin/my-dump\"]' }"));
    expect(run.stdout).toContain(
      '      note: no on-error: a failure of this hook is logged and Velero goes on (Continue), although its docs say Fail (Velero v1.11.1 internal/hook/item_hook_handler.go L230, L312-315)',
    );
  });

  test("the profiles' hooks carry on-error explicitly: no note", async () => {
    const run = await cli(['explain', '-f', '-'], podWith('{}'));
    expect(run.stdout).toContain('pre.hook.backup.velero.io/on-error: Fail');
    expect(run.stdout).not.toContain('note: no on-error');
  });

  // Velero v1.11.1 internal/hook/item_hook_handler.go L214-219: the legacy keys are the pre hook while pre.*command is absent.
  test("Velero's legacy hook keys are shown as the pod's pre-backup hook, and why the policy adds none", async () => {
    const run = await cli(['explain', '-f', '-'], podWith("{ hook.backup.velero.io/command: '[\"/bin/my-dump\"]', hook.backup.velero.io/on-error: Fail }"));
    expect(run.stdout).toContain("    pre-backup, the pod's own annotations, kept as they are:\n      hook.backup.velero.io/command: [\"/bin/my-dump\"]\n      hook.backup.velero.io/on-error: Fail\n");
    expect(run.stdout).toContain(
      "      note: Velero's legacy keys (hook.backup.velero.io/*, no phase): Velero v1.11.1 runs them as the pre-backup hook because pre.hook.backup.velero.io/command is absent (internal/hook/item_hook_handler.go L214-219), so the policy adds no pre.hook.backup.velero.io/* keys",
    );
    expect(run.stdout).not.toContain('pre.hook.backup.velero.io/command:');
    expect(run.stdout).toContain('rule "mysql" adds no pre.hook.backup.velero.io/* keys');
  });

  test('a rule that matches a container without a data volume is reported as not used, with the reason', async () => {
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: { name: p, labels: { creator: Wutong, service_id: 5f3c1b2a9d8e4f60a7b1c2d3e4f5a6b7 } }\nspec: { containers: [{ name: db, image: "redis:7" }] }\n';
    const run = await cli(['explain', '-f', '-'], pod);
    expect(run.stdout).toContain(
      '    3. redis [profile redis]: matched but not used: rule "redis" writes into {{dataDir}} but container "db" mounts no persistent volume; its hooks were not added',
    );
    expect(run.stdout).toContain('  file-system backup: Velero copies no volume (the policy selects no volume of this pod, so it has no backup.velero.io/backup-volumes; Backups made by wutong-backup read only that list: defaultVolumesToFsBackup false)');
  });
});

describe('explain on a pod that already carries the webhook output (mutate output, a restored pod)', () => {
  test("the marker's vouched keys are the policy's, not the pod's own; an edited hook is the pod's", async () => {
    const mutated = await cli(['mutate', '-f', join(FIXTURES, 'mysql-statefulset.yaml')]);
    expect(mutated.code).toBe(0);
    const again = await cli(['explain', '-f', '-'], mutated.stdout);
    expect(again.stdout).toContain('    pre-backup, from the policy:');
    expect(again.stdout).toContain('  file-system backup: Velero copies volumes data (backup.velero.io/backup-volumes=data from the policy; Backups made by wutong-backup read only that list: defaultVolumesToFsBackup false)');
    expect(again.stdout).not.toContain("the pod's own");

    const edited = await cli(['explain', '-f', '-'], mutated.stdout.replace('pre.hook.backup.velero.io/timeout: 30m', 'pre.hook.backup.velero.io/timeout: 2h'));
    expect(edited.stdout).toContain("    pre-backup, the pod's own annotations, kept as they are:");
    expect(edited.stdout).toContain('      pre.hook.backup.velero.io/timeout: 2h');
  });
});

describe('explain names the volumes a Backup made by wutong-backup copies (defaultVolumesToFsBackup false: Velero reads only backup.velero.io/backup-volumes)', () => {
  const WHY = 'Backups made by wutong-backup read only that list: defaultVolumesToFsBackup false';
  // A database with its data PVC, a scratch emptyDir, a config file, and a second PVC no container mounts.
  const pod = (labels = '', annotations = ''): string =>
    [
      'apiVersion: v1',
      'kind: Pod',
      `metadata: { name: p, labels: { creator: Wutong, service_id: 5f3c1b2a9d8e4f60a7b1c2d3e4f5a6b7${labels} }${annotations} }`,
      'spec:',
      '  containers: [{ name: db, image: "mysql:8", volumeMounts: [{ name: data, mountPath: /var/lib/mysql }, { name: tmp, mountPath: /tmp }, { name: cfg, mountPath: /etc/mysql/conf.d }] }]',
      '  volumes: [{ name: data, persistentVolumeClaim: { claimName: c } }, { name: tmp, emptyDir: {} }, { name: cfg, configMap: { name: x } }, { name: spare, persistentVolumeClaim: { claimName: s } }]',
      '',
    ].join('\n');
  const optOut = join(FIXTURES, 'opt-out-policy.yaml');

  test('opt-in: the PVCs only, never the scratch emptyDir; a listed volume no container mounts is named as not copied', async () => {
    const run = await cli(['explain', '-f', '-'], pod());
    expect(run.stdout).toContain(
      `  file-system backup: Velero copies volumes data (backup.velero.io/backup-volumes=data,spare from the policy; ${WHY}); listed but not copied (the pod has no such volume, or no container mounts it): spare\n`,
    );
  });

  test('opt-out: the include list is what Velero would copy with the excludes left out; the excludes are written for Backups others make', async () => {
    const run = await cli(['explain', '-f', '-', '--policy', optOut], pod());
    expect(run.stdout).toContain(
      `  file-system backup: Velero copies volumes data (backup.velero.io/backup-volumes=data,spare from the policy; backup.velero.io/backup-volumes-excludes=tmp,cfg for Backups others make with --default-volumes-to-fs-backup; ${WHY}); listed but not copied (the pod has no such volume, or no container mounts it): spare\n`,
    );
  });

  test("a pod's own exclude list is honoured by the include list the webhook writes", async () => {
    const run = await cli(['explain', '-f', '-', '--policy', optOut], pod('', ', annotations: { backup.velero.io/backup-volumes-excludes: "data,tmp" }'));
    expect(run.stdout).toContain(
      `  file-system backup: Velero copies no volume (backup.velero.io/backup-volumes=spare from the policy; the pod's own backup.velero.io/backup-volumes-excludes=data,tmp is kept and honoured; ${WHY}); listed but not copied (the pod has no such volume, or no container mounts it): spare\n`,
    );
  });

  test('a pod the webhook skips is copied by what it carries itself: nothing without its own list', async () => {
    const skipped = await cli(['explain', '-f', '-'], pod(', backup.wutong.io/inject: "false"'));
    expect(skipped.stdout).toContain(`  file-system backup: untouched; Velero copies no volume (the pod has no backup.velero.io/backup-volumes; ${WHY})\n`);
    const own = await cli(['explain', '-f', '-'], pod(', backup.wutong.io/inject: "false"', ', annotations: { backup.velero.io/backup-volumes: "data,tmp" }'));
    expect(own.stdout).toContain(`  file-system backup: untouched; Velero copies volumes data, tmp (the pod's own backup.velero.io/backup-volumes=data,tmp; ${WHY})\n`);
  });
});
