import { spawnSync } from 'node:child_process';
import { HOOK_KINDS } from '../../../src/policy/hook-kinds.js';
import type { HookProfile } from '../../../src/policy/profiles/hook-profile.js';
import { PROFILE_NAMES, PROFILES } from '../../../src/policy/profiles/profile-registry.js';
import { shellQuote } from '../../../src/policy/shell-quote.js';
import { annotationsFor, podWith } from './profile-fixtures.js';

// Properties every profile's hooks must have, checked on the annotations the
// webhook actually writes for a pod under a rule naming the profile.

/** A mount path a shell would split, expand or end early on if it were not quoted. */
const AWKWARD_DIR = `/var/lib/it's a "dir" $HOME;$(touch /tmp/pwned)`;

const HOOK_PREFIXES = HOOK_KINDS.map((k) => k.prefix);
/** Exec hooks name their container; an init-restore hook adds one instead. */
const EXEC_HOOK_PREFIXES = HOOK_KINDS.filter((k) => k.kind !== 'init-restore').map((k) => k.prefix);

function policyFor(profile: HookProfile): string {
  const match = profile.image === undefined ? '\n    match: { containers: [db] }' : '';
  return `dumps: { removeAfterBackup: true }\nrules:\n  - name: r\n    profile: ${profile.name}${match}\n`;
}

function imageFor(profile: HookProfile): string {
  const images: Record<string, string> = {
    mysql: 'mysql:8.0',
    mariadb: 'mariadb:11.4',
    postgresql: 'postgres:16',
    redis: 'redis:7.2',
    mongodb: 'mongo:7.0',
    etcd: 'bitnami/etcd:3.5',
    elasticsearch: 'docker.elastic.co/elasticsearch/elasticsearch:8.13.0',
    fsfreeze: 'wutong/fsfreeze-sidecar:1',
  };
  return images[profile.name] ?? 'x';
}

/** Every env var a container of this profile could have, each with a value no annotation may contain. */
function secretEnv(profile: HookProfile): Record<string, string> {
  return Object.fromEntries(profile.env.map((name) => [name, `SECRET-${name}-VALUE`]));
}

function annotations(profile: HookProfile): Record<string, string> {
  return annotationsFor(policyFor(profile), podWith(imageFor(profile), AWKWARD_DIR, secretEnv(profile)));
}

function commands(profile: HookProfile): Array<[string, unknown]> {
  const all = annotations(profile);
  return HOOK_PREFIXES.filter((p) => all[`${p}command`] !== undefined).map((p) => [p, JSON.parse(all[`${p}command`] ?? '') as unknown]);
}

function shellScripts(profile: HookProfile): string[] {
  return commands(profile)
    .map(([, argv]) => argv as string[])
    .filter((argv) => argv[0] === '/bin/sh' && argv[1] === '-c')
    .map((argv) => argv[2] ?? '');
}

/** Variables a script reads but never assigns: what it takes from the container's environment. */
function envReads(script: string): string[] {
  const read = new Set([...script.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] ?? ''));
  const assigned = new Set([
    ...[...script.matchAll(/(?:^|[\s;({]|export\s)([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1] ?? ''),
    ...[...script.matchAll(/\b(?:for|read -r)\s+([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] ?? ''),
  ]);
  return [...read].filter((name) => !assigned.has(name)).sort();
}

test('the library has the profiles the issue names, each documented by a summary', () => {
  expect(PROFILE_NAMES).toEqual(['mysql', 'mariadb', 'postgresql', 'redis', 'mongodb', 'etcd', 'elasticsearch', 'fsfreeze']);
  for (const profile of PROFILES) expect(profile.summary.length).toBeGreaterThan(20);
});

describe.each(PROFILES.map((p) => [p.name, p] as const))('profile %s', (_name, profile) => {
  test('every command annotation is a JSON array of strings (the argv Velero execs)', () => {
    const found = commands(profile);
    expect(found.length).toBeGreaterThan(0);
    for (const [, argv] of found) {
      expect(Array.isArray(argv)).toBe(true);
      expect((argv as unknown[]).every((a) => typeof a === 'string')).toBe(true);
      expect((argv as unknown[]).length).toBeGreaterThan(0);
    }
  });

  test('no secret value from the container env reaches an annotation', () => {
    const text = JSON.stringify(annotations(profile));
    expect(text).not.toContain('SECRET-');
  });

  test('every shell script parses with sh -n, with an awkward mount path substituted', () => {
    for (const script of shellScripts(profile)) {
      const check = spawnSync('/bin/sh', ['-n', '-c', script], { encoding: 'utf8' });
      expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
    }
  });

  test('scripts read only the env vars the profile declares (and documents)', () => {
    for (const script of shellScripts(profile)) {
      // The quoted mount path holds "$HOME" as literal text, not a read.
      for (const name of envReads(script.split(shellQuote(AWKWARD_DIR)).join('DIR'))) expect(profile.env).toContain(name);
    }
  });

  test('every env var the profile declares is used by one of its scripts', () => {
    const text = shellScripts(profile).join('\n');
    for (const name of profile.env) expect(text).toMatch(new RegExp(`\\$\\{?${name}\\b`));
    if (profile.env.length > 0) expect(envReads(text.split(shellQuote(AWKWARD_DIR)).join('DIR')).length).toBeGreaterThan(0);
  });

  test('the mount path reaches the hook as exactly one literal word', () => {
    for (const [, argv] of commands(profile)) {
      const args = argv as string[];
      if (args[0] === '/bin/sh') {
        const script = args[2] ?? '';
        const line = script.split('\n').find((l) => /^(data|out|dump)=/.test(l));
        if (line === undefined) throw new Error(`no data line in ${script}`);
        expect(line).toContain(shellQuote(AWKWARD_DIR));
        const name = line.slice(0, line.indexOf('='));
        const evaluated = spawnSync('/bin/sh', ['-c', `${line}\nprintf %s "$${name}"`], { encoding: 'utf8' });
        expect(evaluated.stdout.startsWith(AWKWARD_DIR)).toBe(true);
        expect(evaluated.stdout.slice(AWKWARD_DIR.length)).toMatch(/^(\/\.wutong-backup-[a-z]+\.[a-z]+)?$/);
      } else {
        const withDir = args.filter((a) => a.includes('/var/lib/it'));
        expect(withDir).toHaveLength(1);
        expect(withDir[0]?.startsWith(AWKWARD_DIR)).toBe(true);
      }
    }
  });

  test('backup hooks carry a timeout and an on-error; restore exec hooks an exec and a wait timeout', () => {
    const all = annotations(profile);
    for (const prefix of ['pre.hook.backup.velero.io/', 'post.hook.backup.velero.io/']) {
      if (all[`${prefix}command`] === undefined) continue;
      expect(all[`${prefix}timeout`]).toMatch(/^\d+[smh]$/);
      expect(all[`${prefix}on-error`]).toMatch(/^(Fail|Continue)$/);
    }
    if (all['post.hook.restore.velero.io/command'] !== undefined) {
      expect(all['post.hook.restore.velero.io/exec-timeout']).toMatch(/^\d+[smh]$/);
      expect(all['post.hook.restore.velero.io/wait-timeout']).toMatch(/^\d+[smh]$/);
    }
  });

  test('hooks run in the matched container, never Velero\'s default (the first one)', () => {
    const all = annotations(profile);
    for (const prefix of EXEC_HOOK_PREFIXES) {
      if (all[`${prefix}command`] !== undefined) expect(all[`${prefix}container`]).toBe('db');
    }
  });
});

test('each profile has the restore behaviour its database needs', () => {
  const kinds = Object.fromEntries(
    PROFILES.map((p) => [p.name, commands(p).map(([prefix]) => prefix.replace('.velero.io/', '')).join(' ')]),
  );
  expect(kinds).toEqual({
    mysql: 'pre.hook.backup post.hook.backup post.hook.restore',
    mariadb: 'pre.hook.backup post.hook.backup post.hook.restore',
    postgresql: 'pre.hook.backup post.hook.backup post.hook.restore',
    // Redis loads its RDB when it starts; the RDB is its own, never deleted.
    redis: 'pre.hook.backup',
    mongodb: 'pre.hook.backup post.hook.backup post.hook.restore',
    // etcd must have its snapshot restored before it starts.
    etcd: 'pre.hook.backup post.hook.backup init.hook.restore',
    elasticsearch: 'pre.hook.backup post.hook.backup post.hook.restore',
    fsfreeze: 'pre.hook.backup post.hook.backup',
  });
});

test('fsfreeze freezes and unfreezes the mount path itself, without a shell', () => {
  const profile = PROFILES.find((p) => p.name === 'fsfreeze');
  if (!profile) throw new Error('no fsfreeze');
  const all = annotations(profile);
  expect(JSON.parse(all['pre.hook.backup.velero.io/command'] ?? '')).toEqual(['fsfreeze', '--freeze', AWKWARD_DIR]);
  expect(JSON.parse(all['post.hook.backup.velero.io/command'] ?? '')).toEqual(['fsfreeze', '--unfreeze', AWKWARD_DIR]);
  expect(all['pre.hook.backup.velero.io/on-error']).toBe('Fail');
  expect(all['post.hook.backup.velero.io/on-error']).toBe('Fail');
});
